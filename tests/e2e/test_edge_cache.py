"""nginx's edge micro-cache for anonymous property reads, through the real nginx → gateway → booking path.

The bound under test: an anonymous reader sees a property change, a booking or a cancellation at most
2 s late (1 s fresh + 1 s stale-while-revalidate), plus one response time; anything sent with a token
or `Cache-Control: no-cache` is neither served from nor stored in the cache.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable

import pytest
import requests

pytestmark = pytest.mark.timeout(120)
STALENESS_BOUND_S = 2.0
RESPONSE_ALLOWANCE_S = 0.5


def new_id() -> int:
    return 910_000 + uuid.uuid4().int % 10_000_000


def cache_status(response: requests.Response) -> str:
    return response.headers.get("X-Cache-Status", "")


def seconds_until(condition: Callable[[], bool], limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    return float("inf")


@pytest.fixture
def listed_property(stack) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": f"Bearer {stack.token(new_id(), 'host')}"}
    town = f"Edgetown-{uuid.uuid4().hex[:10]}"
    body = {"name": "Edge Cottage", "location": town, "pricePerNight": 100}
    response = requests.post(
        f"{stack.nginx_url}/api/bookings/properties", json=body, headers=headers, timeout=5
    )
    assert response.status_code == 201
    return response.json()["propertyId"], headers, town


def test_anonymous_reads_are_served_from_the_edge_and_say_so(stack, listed_property):
    property_id, _, town = listed_property
    for url in (
        f"{stack.nginx_url}/api/bookings/properties?location={town}",
        f"{stack.nginx_url}/api/bookings/properties/{property_id}",
        f"{stack.nginx_url}/api/bookings/properties/{property_id}/calendar",
    ):
        first, second = (requests.get(url, timeout=5) for _ in range(2))
        assert first.status_code == second.status_code == 200
        assert cache_status(first) == "MISS" and cache_status(second) == "HIT", url
        assert first.json() == second.json()


def test_responses_to_a_token_or_no_cache_are_never_stored_nor_served_from_the_cache(stack):
    url = f"{stack.nginx_url}/api/bookings/properties?location=Nowhere-{uuid.uuid4().hex[:10]}"
    token = {"Authorization": f"Bearer {stack.token(new_id())}"}
    with_token = [requests.get(url, headers=token, timeout=5) for _ in range(2)]
    assert [cache_status(r) for r in with_token] == ["BYPASS", "BYPASS"]
    asked = requests.get(url, headers={"Cache-Control": "no-cache"}, timeout=5)
    assert cache_status(asked) == "BYPASS"
    anonymous = requests.get(url, timeout=5)
    assert cache_status(anonymous) == "MISS", "a bypassed response must not have been stored"
    after_fill = requests.get(url, headers=token, timeout=5)
    assert cache_status(after_fill) == "BYPASS", "a request with a token must never get the cached copy"


def test_responses_that_need_a_token_never_carry_a_cache_status(stack):
    token = {"Authorization": f"Bearer {stack.token(new_id())}"}
    for path in ("/api/bookings/mine", "/api/users/profile"):
        response = requests.get(stack.nginx_url + path, headers=token, timeout=5)
        assert "X-Cache-Status" not in response.headers, path


def test_a_property_change_reaches_anonymous_readers_within_the_bound(stack, listed_property):
    property_id, headers, town = listed_property
    detail = f"{stack.nginx_url}/api/bookings/properties/{property_id}"
    listing = f"{stack.nginx_url}/api/bookings/properties?location={town}"
    assert requests.get(detail, timeout=5).json()["pricePerNight"] == 100
    assert requests.get(listing, timeout=5).json()[0]["pricePerNight"] == 100
    changed = requests.patch(detail, json={"pricePerNight": 175}, headers=headers, timeout=5)
    assert changed.status_code == 200
    limit = STALENESS_BOUND_S + RESPONSE_ALLOWANCE_S
    assert seconds_until(lambda: requests.get(detail, timeout=5).json()["pricePerNight"] == 175, 10) <= limit
    assert (
        seconds_until(lambda: requests.get(listing, timeout=5).json()[0]["pricePerNight"] == 175, 10) <= limit
    )


def test_a_booking_and_its_cancellation_reach_the_anonymous_calendar_within_the_bound(stack, listed_property):
    property_id = listed_property[0]
    calendar = f"{stack.nginx_url}/api/bookings/properties/{property_id}/calendar"
    start = dt.date.today() + dt.timedelta(days=30)
    booked = {"startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=2)).isoformat()}
    assert requests.get(calendar, timeout=5).json()["booked"] == []
    guest = new_id()
    auth = {"Authorization": f"Bearer {stack.token(guest)}"}
    made = requests.post(
        f"{stack.nginx_url}/api/bookings/book",
        json={"userId": guest, "propertyId": property_id, **booked},
        headers=auth,
        timeout=5,
    )
    assert made.status_code == 201, made.text
    limit = STALENESS_BOUND_S + RESPONSE_ALLOWANCE_S
    assert seconds_until(lambda: booked in requests.get(calendar, timeout=5).json()["booked"], 10) <= limit
    booking_id = made.json()["bookingId"]
    cancelled = requests.delete(f"{stack.nginx_url}/api/cancel-booking/{booking_id}", headers=auth, timeout=5)
    assert cancelled.status_code == 200
    assert seconds_until(lambda: requests.get(calendar, timeout=5).json()["booked"] == [], 10) <= limit
