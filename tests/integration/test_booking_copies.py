"""booking_service keeps a booking, and a guest's list of bookings, in process (common.near_cache): a
booking made or cancelled through one instance is seen at once through the other, whose copies the
change retired over Redis pub/sub. Real MariaDB, Redis and both booking REST processes of the `stack`
fixture; nothing is mocked."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.data import day

pytestmark = pytest.mark.timeout(120)


def new_id() -> int:
    return 1_900_000 + uuid.uuid4().int % 10_000_000


def test_a_booking_made_and_cancelled_on_one_instance_is_seen_at_once_on_the_other(stack) -> None:
    host = {"Authorization": f"Bearer {stack.token(new_id(), 'host')}"}
    one, other = stack.url("booking_service", 0), stack.url("booking_service", 1)
    listing = {"name": "Copy Cottage", "location": f"Copytown-{uuid.uuid4().hex[:8]}", "pricePerNight": 90}
    created = requests.post(f"{one}/api/bookings/properties", json=listing, headers=host, timeout=5)
    assert created.status_code == 201, created.text
    property_id = created.json()["propertyId"]
    guest_id = new_id()
    guest = {"Authorization": f"Bearer {stack.token(guest_id)}"}

    def mine() -> list[dict]:
        answer = requests.get(f"{other}/api/bookings/mine", headers=guest, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert mine() == [] and mine() == []  # the second answer is the other instance's copy
    body = {"userId": guest_id, "propertyId": property_id, "startDate": day(40), "endDate": day(42)}
    booked = requests.post(f"{one}/api/bookings/book", json=body, headers=guest, timeout=5)
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["bookingId"]
    assert [b["bookingId"] for b in mine()] == [booking_id], "a new booking must retire the guest's list"

    by_id = f"{other}/api/bookings/booking/{booking_id}"
    for _ in range(2):  # fill the other instance's copy
        assert requests.get(by_id, headers=guest, timeout=5).json()["status"] == "confirmed"
    cancelled = requests.delete(f"{one}/api/cancel-booking/{booking_id}", headers=guest, timeout=5)
    assert cancelled.status_code == 200, cancelled.text
    assert requests.get(by_id, headers=guest, timeout=5).json()["status"] == "cancelled"
    assert [b["status"] for b in mine()] == ["cancelled"]

    stranger = {"Authorization": f"Bearer {stack.token(new_id())}"}
    assert requests.get(by_id, headers=stranger, timeout=5).status_code == 404, (
        "a copy is still only the guest's"
    )
