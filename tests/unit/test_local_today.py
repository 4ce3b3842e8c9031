"""A property's "today" is its local date: the date rules at the date line, with an injected clock, against
the in-memory FakeUnitOfWork (no server). The same rules run on MariaDB in tests/contract/test_time_zones_api.py.

Pacific/Kiritimati is UTC+14 (the first place on Earth to see a date) and Etc/GMT+12 is UTC-12 (the last:
the tz database's sign is inverted); around UTC midnight they are two calendar days apart."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from booking_service import errors
from booking_service.bookings import services as bookings
from booking_service.bookings.model import BookingRequest
from booking_service.inputs import parse_property_fields
from booking_service.properties import services
from booking_service.properties.model import DateWindow, PropertyFields, local_today, todays_on_earth
from booking_service.serializers import property_detail_json
from common.errors import BadRequest
from common.identity import Identity
from tests.support.booking_fakes import Directory, FakeUnitOfWork

EAST, WEST = "Pacific/Kiritimati", "Etc/GMT+12"
HOST, GUEST = Identity(20, "host"), Identity(7, "user")
BEFORE_MIDNIGHT = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
AFTER_MIDNIGHT = dt.datetime(2027, 1, 1, 0, 30, tzinfo=dt.UTC)
DEC_30, DEC_31, JAN_1, JAN_2 = (dt.date(2026, 12, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 1),
                                dt.date(2027, 1, 2))  # fmt: skip


def at(instant: dt.datetime):
    return lambda: instant


@pytest.mark.parametrize(
    ("zone", "now", "today"),
    [(EAST, BEFORE_MIDNIGHT, JAN_1), (WEST, BEFORE_MIDNIGHT, DEC_31), ("UTC", BEFORE_MIDNIGHT, DEC_31),
     (EAST, AFTER_MIDNIGHT, JAN_1), (WEST, AFTER_MIDNIGHT, DEC_31), ("UTC", AFTER_MIDNIGHT, JAN_1),
     (WEST, dt.datetime(2027, 1, 1, 11, 59, tzinfo=dt.UTC), DEC_31),
     (WEST, dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC), JAN_1),
     (EAST, dt.datetime(2026, 12, 31, 9, 59, tzinfo=dt.UTC), DEC_31),
     (EAST, dt.datetime(2026, 12, 31, 10, 0, tzinfo=dt.UTC), JAN_1)],
)  # fmt: skip
def test_today_is_the_date_on_the_property_s_wall_calendar(zone, now, today):
    assert local_today(zone, now) == today


def test_every_property_s_today_lies_between_the_todays_at_utc_minus_12_and_plus_14():
    for now in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT):
        assert todays_on_earth(now) == (local_today(WEST, now), local_today(EAST, now))


@pytest.mark.parametrize(
    ("zone", "now", "past", "first_free"),
    [(EAST, BEFORE_MIDNIGHT, DEC_31, JAN_1), (WEST, AFTER_MIDNIGHT, DEC_30, DEC_31),
     ("UTC", AFTER_MIDNIGHT, DEC_31, JAN_1)],
)  # fmt: skip
def test_a_stay_starts_no_earlier_than_the_property_s_local_today(zone, now, past, first_free):
    with pytest.raises(errors.StartInPast):
        services.check_stay_dates(zone, past, past + dt.timedelta(days=2), now)
    services.check_stay_dates(zone, first_free, first_free + dt.timedelta(days=2), now)


@pytest.mark.parametrize(("zone", "today"), [(EAST, JAN_1), (WEST, DEC_31)])
def test_the_booking_horizon_counts_from_the_property_s_local_today(zone, today):
    latest = today + dt.timedelta(days=730)
    services.check_stay_dates(zone, latest - dt.timedelta(days=3), latest, AFTER_MIDNIGHT)
    with pytest.raises(errors.BeyondHorizon) as refused:
        services.check_stay_dates(
            zone, latest - dt.timedelta(days=3), latest + dt.timedelta(days=1), AFTER_MIDNIGHT
        )
    assert (refused.value.field, refused.value.latest) == ("endDate", latest)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def book(uow: FakeUnitOfWork, property_id: int, start: dt.date, end: dt.date, now: dt.datetime) -> int:
    request = BookingRequest(GUEST.user_id, property_id, start, end)
    return bookings.book(uow, Directory(), GUEST, request, clock=at(now)).booking_id


def test_a_booking_on_the_utc_date_is_in_the_past_at_utc_plus_14_and_not_at_utc_minus_12(uow):
    east = uow.given_property(owner=HOST.user_id, time_zone=EAST)
    west = uow.given_property(owner=HOST.user_id, time_zone=WEST)
    with pytest.raises(errors.StartInPast):
        book(uow, east, DEC_31, JAN_2, BEFORE_MIDNIGHT)
    assert book(uow, east, JAN_1, JAN_2, BEFORE_MIDNIGHT)
    # Just after UTC midnight, Dec 31 is still today at UTC-12, though yesterday in UTC.
    assert book(uow, west, DEC_31, JAN_1, AFTER_MIDNIGHT)
    kept = sorted((b.property_id, b.start_date) for b in uow.state.bookings.values())
    assert kept == [(east, JAN_1), (west, DEC_31)]


def test_an_idempotent_booking_checks_the_dates_too(uow):
    east = uow.given_property(time_zone=EAST)
    request = BookingRequest(GUEST.user_id, east, DEC_31, JAN_2)
    with pytest.raises(errors.StartInPast):
        bookings.book(uow, Directory(), GUEST, request, "key-1", clock=at(BEFORE_MIDNIGHT))
    assert uow.state.bookings == {}


def test_a_host_blocks_from_the_property_s_local_today(uow):
    east = services.create(uow, HOST, PropertyFields({"name": "Atoll", "location": "Kiritimati",
                                                      "price_per_night": Decimal(80), "time_zone": EAST}))  # fmt: skip
    with pytest.raises(errors.StartInPast):
        services.add_block(uow, HOST, east.id, DateWindow(DEC_31, JAN_2), clock=at(BEFORE_MIDNIGHT))
    block = services.add_block(uow, HOST, east.id, DateWindow(JAN_1, JAN_2), clock=at(BEFORE_MIDNIGHT))
    assert (block.start_date, block.end_date) == (JAN_1, JAN_2)


def test_a_stay_ending_on_the_local_today_no_longer_keeps_a_listing_from_retiring(uow):
    utc = uow.given_property(owner=HOST.user_id)
    east = uow.given_property(owner=HOST.user_id, time_zone=EAST)
    earlier = dt.datetime(2026, 12, 29, 12, tzinfo=dt.UTC)
    book(uow, utc, DEC_30, JAN_1, earlier)
    book(uow, east, DEC_30, JAN_1, earlier)
    # 23:30 UTC on Dec 31: the guest still sleeps in the UTC listing tonight; at UTC+14 it is checkout day.
    with pytest.raises(errors.HasUpcomingBookings):
        services.retire(uow, HOST, utc, clock=at(BEFORE_MIDNIGHT))
    services.retire(uow, HOST, east, clock=at(BEFORE_MIDNIGHT))
    assert uow.state.retired == {east}


def test_a_calendar_without_dates_starts_at_the_property_s_local_today(uow):
    west = uow.given_property(time_zone=WEST)
    shown = services.calendar(uow, west, None, clock=at(AFTER_MIDNIGHT)).window
    assert (shown.start, shown.end) == (DEC_31, DEC_31 + dt.timedelta(days=365))
    asked = DateWindow(JAN_1, JAN_2)
    assert services.calendar(uow, west, asked, clock=at(AFTER_MIDNIGHT)).window == asked


def test_a_listing_is_utc_unless_its_host_names_a_zone_and_shows_it(uow):
    loft = services.create(uow, HOST, PropertyFields({"name": "Loft", "location": "Oslo",
                                                     "price_per_night": Decimal(99)}))  # fmt: skip
    assert property_detail_json(loft)["timeZone"] == "UTC"
    moved = services.update(uow, HOST, loft.id, PropertyFields({"time_zone": "Europe/Oslo"}))
    assert property_detail_json(moved)["timeZone"] == "Europe/Oslo"
    assert uow.notifier.events[-1][1]["changes"] == {"timeZone": "Europe/Oslo"}


@pytest.mark.parametrize("zone", ["Europe/Lisbon", "UTC", EAST, WEST, "America/Argentina/Buenos_Aires"])
def test_a_time_zone_is_an_iana_name(zone):
    assert parse_property_fields({"timeZone": zone}, partial=True).values == {"time_zone": zone}


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "../../etc/passwd", "/usr/share/zoneinfo/UTC", "", "europe/lisbon", "+02:00",
             "Europe/Lisbon\x00", 3, None, ["UTC"], "A" * 65],
)  # fmt: skip
def test_anything_else_is_refused_naming_the_field(zone):
    with pytest.raises(BadRequest) as refused:
        parse_property_fields({"timeZone": zone}, partial=True)
    assert refused.value.message == "timeZone must be an IANA time zone name such as Europe/Lisbon"
