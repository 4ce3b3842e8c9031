"""The gateway answers public property reads from its own copies (gateway/copies.py) until a property
change retires them: through the gateway that relayed the write at once, through the other one when
booking_service's pub/sub message arrives. Real gateways, booking REST processes, MariaDB and Redis of
the `stack` fixture; nothing is mocked."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from gateway.copies import COPY_STATUS_HEADER, PUBLIC_MAX_AGE_SECONDS
from tests.support.data import day
from tests.support.faults import wait_until

pytestmark = pytest.mark.timeout(120)


def new_id() -> int:
    return 2_700_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture
def listed(stack) -> tuple[int, dict[str, str], str]:
    """(property id, its owner's auth header, its unique location), created through gateway 0."""
    host = {"Authorization": f"Bearer {stack.token(new_id(), 'host')}"}
    town = f"Copyville-{uuid.uuid4().hex[:10]}"
    body = {"name": "Gateway Cottage", "location": town, "pricePerNight": 120}
    created = requests.post(
        stack.url("gateway", 0) + "/api/bookings/properties", json=body, headers=host, timeout=5
    )
    assert created.status_code == 201, created.text
    return created.json()["propertyId"], host, town


def read(gateway: str, path: str, **headers: str) -> tuple[str | None, object]:
    answer = requests.get(gateway + path, headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    assert "X-Near-Copy" not in answer.headers, "the service's mark is never relayed"
    return answer.headers.get(COPY_STATUS_HEADER), answer.json()


def filled(gateway: str, path: str) -> object:
    """The gateway's copy of `path` once it holds one (its subscription starts on first use)."""
    assert wait_until(lambda: read(gateway, path)[0] == "HIT", 5, interval=0.05), "never copied"
    return read(gateway, path)[1]


def test_a_change_through_one_gateway_is_seen_at_once_there_and_promptly_through_the_other(
    stack, listed
) -> None:
    property_id, host, town = listed
    one, other = stack.url("gateway", 0), stack.url("gateway", 1)
    search, item = f"/api/bookings/properties?location={town}", f"/api/bookings/properties/{property_id}"
    for gateway in (one, other):
        assert [p["pricePerNight"] for p in filled(gateway, search)] == [120]  # type: ignore[union-attr]
        assert filled(gateway, item)["pricePerNight"] == 120  # type: ignore[index]
    signed_in = {"Authorization": f"Bearer {stack.token(new_id())}"}
    assert read(one, search, **signed_in) == ("HIT", read(one, search)[1]), (
        "a public answer is the same for all"
    )

    patched = requests.patch(one + item, json={"pricePerNight": 135}, headers=host, timeout=5)
    assert patched.status_code == 200, patched.text
    status, found = read(one, search)
    assert status == "MISS" and [p["pricePerNight"] for p in found] == [135]  # type: ignore[union-attr]
    assert read(one, item)[1]["pricePerNight"] == 135  # type: ignore[index]
    assert wait_until(lambda: read(other, item)[1]["pricePerNight"] == 135, 2, interval=0.01)  # type: ignore[index]
    assert [p["pricePerNight"] for p in read(other, search)[1]] == [135]  # type: ignore[union-attr]


def test_a_change_made_behind_the_gateways_retires_their_copies_too(stack, listed) -> None:
    property_id, host, _ = listed
    item = f"/api/bookings/properties/{property_id}"
    gateways = [stack.url("gateway", i) for i in (0, 1)]
    for gateway in gateways:
        filled(gateway, item)
    direct = stack.url("booking_service", 1) + item
    assert (
        requests.patch(direct, json={"name": "Renamed Cottage"}, headers=host, timeout=5).status_code == 200
    )
    for gateway in gateways:
        assert wait_until(lambda g=gateway: read(g, item)[1]["name"] == "Renamed Cottage", 2, interval=0.01)  # type: ignore[index]


def test_answers_that_depend_on_bookings_are_never_copied(stack, listed) -> None:
    property_id, _, town = listed
    gateway = stack.url("gateway", 0)
    window = f"/api/bookings/properties?location={town}&from={day(50)}&to={day(52)}"
    calendar = f"/api/bookings/properties/{property_id}/calendar"
    guest_id = new_id()
    guest = {"Authorization": f"Bearer {stack.token(guest_id)}"}
    for path in (window, calendar):
        read(gateway, path)
        assert read(gateway, path)[0] == "MISS", path
    assert [p["propertyId"] for p in read(gateway, window)[1]] == [property_id]  # type: ignore[union-attr]
    body = {"userId": guest_id, "propertyId": property_id, "startDate": day(50), "endDate": day(52)}
    booked = requests.post(gateway + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert booked.status_code == 201, booked.text
    assert read(gateway, window)[1] == [], "the booked nights are no longer free"


def test_a_copy_read_steadily_is_refreshed_before_it_expires(stack, listed) -> None:
    """Read every 0.1 s for longer than a copy lives: each read is a HIT, because a copy read in the last
    quarter of its life is asked for again in the background (gateway/refresh.py). Without that, the
    copy expires after at most PUBLIC_MAX_AGE_SECONDS and one read in that time is a MISS."""
    property_id, _, _ = listed
    gateway, item = stack.url("gateway", 0), f"/api/bookings/properties/{property_id}"
    filled(gateway, item)
    deadline = time.monotonic() + PUBLIC_MAX_AGE_SECONDS + 2.0
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(read(gateway, item)[0])
        time.sleep(0.1)
    assert set(statuses) == {"HIT"}, statuses


def test_failed_or_refused_reads_are_not_copied(stack) -> None:
    gateway = stack.url("gateway", 0)
    missing = "/api/bookings/properties/987654321"
    for _ in range(2):
        answer = requests.get(gateway + missing, timeout=5)
        assert answer.status_code == 404 and answer.headers.get(COPY_STATUS_HEADER) == "MISS"
    bad = requests.get(gateway + "/api/bookings/properties?maxPrice=abc", timeout=5)
    assert bad.status_code == 400 and bad.headers.get(COPY_STATUS_HEADER) in ("MISS", "BYPASS")


def booked(stack, gateway: str, property_id: int, nights: tuple[int, int]) -> tuple[int, dict[str, str], int]:
    """(booking id, its guest's auth header, the guest's id), booked through `gateway`."""
    guest_id = new_id()
    guest = {"Authorization": f"Bearer {stack.token(guest_id)}"}
    body = {
        "userId": guest_id,
        "propertyId": property_id,
        "startDate": day(nights[0]),
        "endDate": day(nights[1]),
    }
    answer = requests.post(gateway + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert answer.status_code == 201, answer.text
    return answer.json()["bookingId"], guest, guest_id


def test_a_booking_copy_is_its_readers_only(stack, listed) -> None:
    gateway = stack.url("gateway", 0)
    booking_id, guest, _ = booked(stack, gateway, listed[0], (60, 61))
    path = f"/api/bookings/booking/{booking_id}"
    assert wait_until(lambda: read(gateway, path, **guest)[0] == "HIT", 5, interval=0.05)
    for stranger in (new_id(), None):
        headers = {"Authorization": f"Bearer {stack.token(stranger)}"} if stranger else {}
        answer = requests.get(gateway + path, headers=headers, timeout=5)
        assert answer.status_code == (404 if stranger else 401), answer.text
        assert answer.headers.get(COPY_STATUS_HEADER) != "HIT"
    admin = {"Authorization": f"Bearer {stack.token(new_id(), 'admin')}"}
    status, found = read(gateway, path, **admin)
    assert status == "MISS" and found["bookingId"] == booking_id  # type: ignore[index]


def test_a_cancellation_is_seen_at_once_through_the_gateway_that_relayed_it_and_promptly_through_the_other(
    stack, listed
) -> None:
    one, other = stack.url("gateway", 0), stack.url("gateway", 1)
    booking_id, guest, _ = booked(stack, one, listed[0], (70, 72))
    path, mine = f"/api/bookings/booking/{booking_id}", "/api/bookings/mine"
    for gateway in (one, other):
        for target in (path, mine):
            assert wait_until(lambda g=gateway, t=target: read(g, t, **guest)[0] == "HIT", 5, interval=0.05)
    cancelled = requests.delete(f"{one}/api/cancel-booking/{booking_id}", headers=guest, timeout=5)
    assert cancelled.status_code == 200, cancelled.text
    assert read(one, path, **guest)[1]["status"] == "cancelled"  # type: ignore[index]
    assert [b["status"] for b in read(one, mine, **guest)[1]] == ["cancelled"]  # type: ignore[union-attr]
    assert wait_until(lambda: read(other, path, **guest)[1]["status"] == "cancelled", 2, interval=0.01)  # type: ignore[index]
    assert wait_until(
        lambda: [b["status"] for b in read(other, mine, **guest)[1]] == ["cancelled"],  # type: ignore[union-attr]
        2,
        interval=0.01,
    )


def test_a_new_booking_appears_in_the_guests_list_at_once(stack, listed) -> None:
    gateway = stack.url("gateway", 0)
    first, guest, guest_id = booked(stack, gateway, listed[0], (80, 81))
    assert wait_until(lambda: read(gateway, "/api/bookings/mine", **guest)[0] == "HIT", 5, interval=0.05)
    body = {"userId": guest_id, "propertyId": listed[0], "startDate": day(82), "endDate": day(83)}
    second = requests.post(gateway + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert second.status_code == 201, second.text
    ids = [b["bookingId"] for b in read(gateway, "/api/bookings/mine", **guest)[1]]  # type: ignore[union-attr]
    assert sorted(ids) == sorted([first, second.json()["bookingId"]])


def test_a_new_booking_retires_the_guests_list_and_none_of_their_other_booking_copies(stack, listed) -> None:
    """The service names the copies a write retired (X-Near-Retired); the gateway retires just those and
    never relays the header."""
    gateway = stack.url("gateway", 0)
    first, guest, guest_id = booked(stack, gateway, listed[0], (90, 91))
    path, mine = f"/api/bookings/booking/{first}", "/api/bookings/mine"
    for target in (path, mine):
        assert wait_until(lambda t=target: read(gateway, t, **guest)[0] == "HIT", 5, interval=0.05)
    body = {"userId": guest_id, "propertyId": listed[0], "startDate": day(92), "endDate": day(93)}
    second = requests.post(gateway + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert second.status_code == 201, second.text
    assert "X-Near-Retired" not in second.headers
    status, found = read(gateway, path, **guest)
    assert status == "HIT" and found["bookingId"] == first  # type: ignore[index]
    status, listing = read(gateway, mine, **guest)
    assert status == "MISS" and len(listing) == 2  # type: ignore[arg-type]
    other = f"/api/bookings/booking/{second.json()['bookingId']}"
    assert wait_until(lambda: read(gateway, other, **guest)[0] == "HIT", 5, interval=0.05)
    cancelled = requests.delete(f"{gateway}/api/cancel-booking/{first}", headers=guest, timeout=5)
    assert cancelled.status_code == 200 and "X-Near-Retired" not in cancelled.headers
    assert read(gateway, other, **guest)[0] == "HIT"
    status, found = read(gateway, path, **guest)
    assert status == "MISS" and found["status"] == "cancelled"  # type: ignore[index]


def test_the_service_names_the_copies_its_unit_of_work_retired_and_nothing_for_a_write_that_changed_none(
    stack, listed
) -> None:
    """booking_service's own answers (the header the gateway drops): a booking names its guest's list; a
    replayed one and a refused one name nothing; a host's cancellation names the booking and its guest's
    list, though the guest is not the writer."""
    service = stack.url("booking_service", 0)
    property_id, host, _ = listed
    guest_id = new_id()
    guest = {"Authorization": f"Bearer {stack.token(guest_id)}", "Idempotency-Key": uuid.uuid4().hex}
    body = {"userId": guest_id, "propertyId": property_id, "startDate": day(95), "endDate": day(96)}
    first = requests.post(service + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert first.status_code == 201, first.text
    assert first.headers.get("X-Near-Retired") == f"guest:{guest_id}"
    replayed = requests.post(service + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert replayed.status_code == 201 and replayed.json() == first.json()
    assert "X-Near-Retired" not in replayed.headers
    del guest["Idempotency-Key"]
    refused = requests.post(service + "/api/bookings/book", json=body, headers=guest, timeout=5)
    assert refused.status_code == 409 and "X-Near-Retired" not in refused.headers
    booking_id = first.json()["bookingId"]
    cancelled = requests.delete(f"{service}/api/cancel-booking/{booking_id}", headers=host, timeout=5)
    assert cancelled.status_code == 200, cancelled.text
    named = cancelled.headers["X-Near-Retired"].split()
    assert sorted(named) == sorted([str(booking_id), f"guest:{guest_id}"])
