"""Property rules against the in-memory FakeUnitOfWork (tests/support/booking_fakes.py): no server, no
database. The same rules run on MariaDB in tests/contract/test_properties_api.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from booking_service import errors
from booking_service.bookings import services as bookings
from booking_service.bookings.model import BookingRequest
from booking_service.properties import services
from booking_service.properties.model import DateWindow, PropertyFields, PropertyFilters
from common.identity import Identity
from tests.support.booking_fakes import Directory, FakeUnitOfWork
from tests.support.data import date_in as day

HOST, OTHER_HOST, ADMIN, GUEST = (
    Identity(20, "host"),
    Identity(21, "host"),
    Identity(1, "admin"),
    Identity(7, "user"),
)
LOFT = PropertyFields({"name": "Loft", "location": "Oslo", "price_per_night": Decimal("99.00")})


def window(start: int, end: int) -> DateWindow:
    return DateWindow(day(start), day(end))


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def book(uow: FakeUnitOfWork, property_id: int, start: int, end: int) -> int:
    request = BookingRequest(GUEST.user_id, property_id, day(start), day(end))
    return bookings.book(uow, Directory(), GUEST, request).booking_id


def test_a_new_listing_belongs_to_its_creator_and_retires_the_cached_lists(uow):
    prop = services.create(uow, HOST, LOFT)
    assert (prop.owner_id, prop.name, prop.availability) == (HOST.user_id, "Loft", True)
    assert uow.invalidations == 1


def test_only_the_owner_or_an_admin_changes_a_listing(uow):
    prop = services.create(uow, HOST, LOFT)
    with pytest.raises(errors.NotPropertyOwner):
        services.update(uow, OTHER_HOST, prop.id, PropertyFields({"name": "Mine now"}))
    assert services.update(uow, ADMIN, prop.id, PropertyFields({"name": "Renamed"})).name == "Renamed"
    with pytest.raises(errors.PropertyNotFound):
        services.update(uow, HOST, 999, PropertyFields({"name": "x"}))


def test_an_update_notifies_only_what_changed_and_nothing_for_no_change(uow):
    prop = services.create(uow, HOST, LOFT)
    services.update(
        uow, HOST, prop.id, PropertyFields({"name": "Loft", "price_per_night": Decimal("120.50")})
    )
    assert uow.notifier.events == [(prop.id, {"propertyId": prop.id, "event": "updated",
                                             "changes": {"pricePerNight": 120.5}})]  # fmt: skip
    services.update(uow, HOST, prop.id, PropertyFields({"name": "Loft"}))
    assert len(uow.notifier.events) == 1 and uow.invalidations == 2


def test_a_price_change_never_alters_an_existing_booking(uow):
    prop = services.create(uow, HOST, LOFT)
    booking_id = book(uow, prop.id, 3, 5)
    services.update(uow, HOST, prop.id, PropertyFields({"price_per_night": Decimal("999")}))
    assert uow.state.bookings[booking_id].total_price == Decimal("198.00")


def test_a_listing_with_stays_ahead_cannot_retire_until_they_are_cancelled(uow):
    prop = services.create(uow, HOST, LOFT)
    booking_id = book(uow, prop.id, 3, 5)
    with pytest.raises(errors.HasUpcomingBookings):
        services.retire(uow, HOST, prop.id)
    bookings.cancel(uow, GUEST, booking_id)
    services.retire(uow, HOST, prop.id)
    assert uow.notifier.events[-1][1]["changes"] == {"retired": True}
    with pytest.raises(errors.PropertyNotFound):
        services.retire(uow, HOST, prop.id)


def test_another_host_cannot_retire_a_listing(uow):
    prop = services.create(uow, HOST, LOFT)
    with pytest.raises(errors.NotPropertyOwner):
        services.retire(uow, OTHER_HOST, prop.id)


def test_blocked_nights_show_on_the_calendar_beside_booked_ones(uow):
    prop = services.create(uow, HOST, LOFT)
    book(uow, prop.id, 10, 12)
    block = services.add_block(uow, HOST, prop.id, window(20, 25))
    calendar = services.calendar(uow, prop.id, window(11, 21))
    assert calendar.taken == [(day(10), day(12)), (day(20), day(25))]
    assert calendar.blocks == [block]
    with pytest.raises(errors.PropertyNotFound):
        services.calendar(uow, 999, window(1, 2))


def test_booked_or_blocked_nights_cannot_be_blocked_and_only_the_owner_blocks(uow):
    prop = services.create(uow, HOST, LOFT)
    book(uow, prop.id, 10, 12)
    with pytest.raises(errors.DatesTaken):
        services.add_block(uow, HOST, prop.id, window(11, 13))
    services.add_block(uow, HOST, prop.id, window(12, 13))
    with pytest.raises(errors.DatesTaken):
        services.add_block(uow, ADMIN, prop.id, window(12, 14))
    with pytest.raises(errors.NotPropertyOwner):
        services.add_block(uow, OTHER_HOST, prop.id, window(20, 21))


def test_removing_a_block_frees_its_nights(uow):
    prop = services.create(uow, HOST, LOFT)
    block = services.add_block(uow, HOST, prop.id, window(5, 8))
    with pytest.raises(errors.NotPropertyOwner):
        services.remove_block(uow, OTHER_HOST, prop.id, block.id)
    services.remove_block(uow, HOST, prop.id, block.id)
    with pytest.raises(errors.BlockNotFound):
        services.remove_block(uow, HOST, prop.id, block.id)
    book(uow, prop.id, 5, 8)


def test_search_by_guests_and_free_dates(uow):
    small = services.create(uow, HOST, PropertyFields({**LOFT.values, "max_guests": 2}))
    large = services.create(uow, HOST, PropertyFields({**LOFT.values, "max_guests": 8}))
    services.create(uow, HOST, LOFT)  # capacity unknown: never matches a guests filter
    tx_search = uow.read(lambda tx: tx.properties.search(PropertyFilters(guests=3)))
    assert [p.id for p in tx_search] == [large.id]
    book(uow, large.id, 5, 7)
    services.add_block(uow, HOST, small.id, window(5, 6))
    free = uow.read(lambda tx: tx.properties.search(PropertyFilters(free_from=day(5), free_to=day(7))))
    assert small.id not in [p.id for p in free] and large.id not in [p.id for p in free]
