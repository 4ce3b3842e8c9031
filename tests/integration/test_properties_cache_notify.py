"""A property change through one booking instance is visible at once through the other (the shared Redis
Cluster cache is invalidated after commit) and reaches watchers of the property's Socket.IO room as an
`updated` notification within a second. Real MariaDB, Redis Cluster, Redis queue, booking REST and
realtime processes from the `stack` fixture; nothing is mocked."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)


def new_id() -> int:
    return 900_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture
def owned_property(stack) -> tuple[int, dict[str, str], str]:
    """(property id, owner's auth header, its unique location)."""
    headers = {"Authorization": f"Bearer {stack.token(new_id(), 'host')}"}
    town = f"Cachetown-{uuid.uuid4().hex[:10]}"
    body = {"name": "Cache Cottage", "location": town, "pricePerNight": 100}
    url = stack.url("booking_service", 0) + "/api/bookings/properties"
    response = requests.post(url, json=body, headers=headers, timeout=5)
    assert response.status_code == 201
    return response.json()["propertyId"], headers, town


@pytest.fixture
def watcher(stack, owned_property) -> Iterator[NotificationClient]:
    property_id = owned_property[0]
    client = NotificationClient.connect(stack.url("booking_realtime", 1), stack.token(new_id()))
    client.request("get-notification", {"property_id": property_id}, "notification_response")
    joined = client.message("join-room", {"property_id": property_id}, "join_response")
    assert joined == f"Connected to room {property_id} for notifications"
    yield client
    client.close()


def test_patch_on_one_instance_is_seen_at_once_on_the_other(stack, owned_property):
    property_id, headers, town = owned_property
    other = stack.url("booking_service", 1)
    list_url, detail_url = (
        f"{other}/api/bookings/properties",
        f"{other}/api/bookings/properties/{property_id}",
    )
    for _ in range(2):  # fill the cache through instance 2
        assert requests.get(list_url, params={"location": town}, timeout=5).json()[0]["pricePerNight"] == 100
        assert requests.get(detail_url, timeout=5).json()["pricePerNight"] == 100
    patch_url = stack.url("booking_service", 0) + f"/api/bookings/properties/{property_id}"
    assert (
        requests.patch(patch_url, json={"pricePerNight": 130}, headers=headers, timeout=5).status_code == 200
    )
    assert requests.get(list_url, params={"location": town}, timeout=5).json()[0]["pricePerNight"] == 130
    assert requests.get(detail_url, timeout=5).json()["pricePerNight"] == 130
    assert requests.delete(patch_url, headers=headers, timeout=5).status_code == 200
    assert requests.get(list_url, params={"location": town}, timeout=5).json() == []
    assert requests.get(detail_url, timeout=5).status_code == 404


def test_watcher_gets_updated_event_within_a_second(stack, owned_property, watcher):
    property_id, headers, _ = owned_property
    url = stack.url("booking_service", 0) + f"/api/bookings/properties/{property_id}"
    mark = watcher.mark()
    sent = time.perf_counter()
    response = requests.patch(
        url, json={"pricePerNight": 120.5, "availability": False}, headers=headers, timeout=5
    )
    assert response.status_code == 200
    update = watcher.wait_for("notification_update", timeout=1.0, after=mark)["update"]
    assert time.perf_counter() - sent < 1.0
    assert update == {
        "propertyId": property_id,
        "event": "updated",
        "changes": {"pricePerNight": 120.5, "availability": False},
    }
    mark = watcher.mark()
    assert requests.delete(url, headers=headers, timeout=5).status_code == 200
    retired = watcher.wait_for("notification_update", timeout=1.0, after=mark)["update"]
    assert retired == {"propertyId": property_id, "event": "updated", "changes": {"retired": True}}


def test_unchanged_patch_sends_nothing(stack, owned_property, watcher):
    property_id, headers, _ = owned_property
    url = stack.url("booking_service", 0) + f"/api/bookings/properties/{property_id}"
    mark = watcher.mark()
    assert requests.patch(url, json={"pricePerNight": 100}, headers=headers, timeout=5).status_code == 200
    with pytest.raises(TimeoutError):
        watcher.wait_for("notification_update", timeout=1.0, after=mark)
