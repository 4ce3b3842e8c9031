"""Contract of a property's time zone (issue #20: "today" is the property's local date) against a real
booking_service on real MariaDB and Redis Cluster from the `stack` fixture; nothing is mocked. The rules
at the date line, with a fixed clock, are in tests/unit/test_local_today.py.

Pacific/Kiritimati is UTC+14 and Etc/GMT+12 is UTC-12: at any instant at least one of them has a
different date than UTC, so these tests tell a local "today" from UTC's whatever the hour they run at."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable

import pytest
import requests

from tests.contract.test_booking_additions import Caller

EAST, WEST = "Pacific/Kiritimati", "Etc/GMT+12"
ZONE_MESSAGE = "timeZone must be an IANA time zone name such as Europe/Lisbon"


def local_day(zone: str, offset: int = 0) -> str:
    today = dt.datetime.now(zoneinfo.ZoneInfo(zone)).date()
    return (today + dt.timedelta(days=offset)).isoformat()


def same_local_day(zone: str, call: Callable[[], requests.Response]) -> tuple[requests.Response, str]:
    """The answer to `call` and the zone's date it was made on; made again if that date turned meanwhile."""
    for _ in range(3):
        before = local_day(zone)
        response = call()
        if local_day(zone) == before:
            return response, before
    raise AssertionError("the local date kept turning")


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.url("booking_service", 0)


def listing(host: Caller, **fields: object) -> dict:
    response = host.call("POST", "/api/bookings/properties", {"name": "Atoll", "pricePerNight": 80,
                                                              "location": f"Town-{uuid.uuid4().hex[:10]}", **fields})  # fmt: skip
    assert response.status_code == 201, response.text
    return response.json()


def book(guest: Caller, property_id: int, start: str, end: str) -> requests.Response:
    body = {"userId": guest.id, "propertyId": property_id, "startDate": start, "endDate": end}
    return guest.call("POST", "/api/bookings/book", body)


@pytest.fixture
def people(stack, base) -> tuple[Caller, Caller]:
    """A host and a guest of this test's own."""
    return Caller(stack, base, "host"), Caller(stack, base)


def test_a_listing_names_its_time_zone_shown_in_its_detail_and_utc_by_default(base, people):
    host, _ = people
    east = listing(host, timeZone=EAST)
    assert east["timeZone"] == EAST
    assert requests.get(f"{base}/api/bookings/properties/{east['propertyId']}", timeout=5).json() == east
    plain = listing(host)
    assert plain["timeZone"] == "UTC"
    moved = host.call(
        "PATCH", f"/api/bookings/properties/{plain['propertyId']}", {"timeZone": "Europe/Lisbon"}
    )
    assert moved.status_code == 200 and moved.json()["timeZone"] == "Europe/Lisbon"
    found = requests.get(f"{base}/api/bookings/properties", params={"location": plain["location"]}, timeout=5)
    assert set(found.json()[0]) == {"availability", "location", "name", "pricePerNight", "propertyId"}


def test_the_seed_s_listings_are_utc(base):
    assert requests.get(f"{base}/api/bookings/properties/1", timeout=5).json()["timeZone"] == "UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../../etc/passwd", "", 14, None])
def test_an_unknown_time_zone_is_a_400_naming_the_field(people, zone):
    host, _ = people
    response = host.call("POST", "/api/bookings/properties",
                         {"name": "x", "location": "y", "pricePerNight": 1, "timeZone": zone})  # fmt: skip
    assert (response.status_code, response.json()) == (400, {"error": ZONE_MESSAGE})


@pytest.mark.parametrize("zone", [EAST, WEST, "UTC"])
def test_a_stay_may_start_on_the_local_today_but_not_the_local_yesterday(people, zone):
    host, guest = people
    prop = listing(host, timeZone=zone)["propertyId"]
    booked, today = same_local_day(zone, lambda: book(guest, prop, local_day(zone), local_day(zone, 2)))
    assert booked.status_code == 201, (today, booked.text)
    refused, _ = same_local_day(zone, lambda: book(guest, prop, local_day(zone, -1), local_day(zone, 5)))
    assert (refused.status_code, refused.json()) == (400, {"error": "startDate must not be in the past"})


@pytest.mark.parametrize("zone", [EAST, WEST])
def test_the_horizon_is_730_days_from_the_local_today(people, zone):
    host, guest = people
    prop = listing(host, timeZone=zone)["propertyId"]
    refused, today = same_local_day(
        zone, lambda: book(guest, prop, local_day(zone, 729), local_day(zone, 731))
    )
    latest = (dt.date.fromisoformat(today) + dt.timedelta(days=730)).isoformat()
    assert (refused.status_code, refused.json()) == (400, {"error": f"endDate must be on or before {latest}"})
    booked, _ = same_local_day(zone, lambda: book(guest, prop, local_day(zone, 729), local_day(zone, 730)))
    assert booked.status_code == 201, booked.text


def test_a_host_blocks_from_the_local_today_and_the_calendar_starts_there(base, people):
    host, _ = people
    prop = listing(host, timeZone=EAST)["propertyId"]
    blocks = f"/api/bookings/properties/{prop}/blocks"
    refused, _ = same_local_day(EAST, lambda: host.call("POST", blocks, {"startDate": local_day(EAST, -1),
                                                                         "endDate": local_day(EAST, 1)}))  # fmt: skip
    assert (refused.status_code, refused.json()) == (400, {"error": "startDate must not be in the past"})
    made = host.call("POST", blocks, {"startDate": local_day(EAST, 1), "endDate": local_day(EAST, 3)})
    assert made.status_code == 201, made.text
    shown, today = same_local_day(
        EAST, lambda: requests.get(f"{base}/api/bookings/properties/{prop}/calendar", timeout=5)
    )
    assert shown.json()["from"] == today
    assert shown.json()["blocked"][0]["startDate"] == local_day(EAST, 1)
