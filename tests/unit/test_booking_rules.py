"""Booking rules against the in-memory FakeUnitOfWork (tests/support/booking_fakes.py): no server, no
database. The same rules run on MariaDB in tests/contract/test_booking_api.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
import pytest

from booking_service import errors
from booking_service.bookings import services
from booking_service.bookings.model import CANCELLED, Booked, Booking, BookingRequest, HostingQuery
from booking_service.bookings.views import BookingViews
from booking_service.properties.model import Block
from common.identity import Identity
from tests.support.booking_fakes import Directory, FakeUnitOfWork
from tests.support.data import date_in as day

GUEST, OTHER, HOST, ADMIN = (
    Identity(7, "user"),
    Identity(8, "user"),
    Identity(20, "host"),
    Identity(1, "admin"),
)


def stay(
    property_id: int, start: int, end: int, *, user: int = GUEST.user_id, guests: int = 1
) -> BookingRequest:
    return BookingRequest(user, property_id, day(start), day(end), guests)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def book(uow: FakeUnitOfWork, request: BookingRequest, who: Identity = GUEST, key: str | None = None):
    return services.book(uow, Directory(), who, request, key)


def test_total_is_nights_times_the_price_and_watchers_hear_of_it(uow):
    prop = uow.given_property("99.50")
    booked = book(uow, stay(prop, 5, 10))
    assert booked.total_price == Decimal("497.50")
    saved = uow.state.bookings[booked.booking_id]
    assert (saved.status, saved.price_per_night, saved.guests) == ("confirmed", Decimal("99.50"), 1)
    assert uow.notifier.events == [
        (
            prop,
            {
                "propertyId": prop,
                "event": "booked",
                "startDate": day(5).isoformat(),
                "endDate": day(10).isoformat(),
            },
        )
    ]


@pytest.mark.parametrize(("start", "end"), [(3, 6), (1, 3), (4, 5), (0, 10)])
def test_overlapping_stay_is_refused(uow, start, end):
    prop = uow.given_property()
    book(uow, stay(prop, 2, 5))
    with pytest.raises(errors.DatesTaken):
        book(uow, stay(prop, start, end, user=OTHER.user_id), OTHER)


def test_checkout_day_is_the_next_guests_checkin_day(uow):
    prop = uow.given_property()
    book(uow, stay(prop, 2, 5))
    book(uow, stay(prop, 5, 7, user=OTHER.user_id), OTHER)
    book(uow, stay(prop, 0, 2, user=OTHER.user_id), OTHER)
    assert len(uow.state.bookings) == 3


def test_a_refused_booking_leaves_nothing_behind_and_notifies_nobody(uow):
    prop = uow.given_property()
    book(uow, stay(prop, 2, 5))
    with pytest.raises(errors.DatesTaken):
        book(uow, stay(prop, 4, 6))
    assert len(uow.state.bookings) == 1 and len(uow.notifier.events) == 1


def test_unknown_retired_or_unavailable_property_is_unavailable(uow):
    closed = uow.given_property(availability=False)
    retired = uow.given_property()
    uow.state.retired.add(retired)
    for property_id in (closed, retired, 999):
        with pytest.raises(errors.PropertyUnavailable):
            book(uow, stay(property_id, 1, 2))


def test_guests_beyond_capacity_are_refused_within_it_kept(uow):
    prop = uow.given_property(max_guests=4)
    with pytest.raises(errors.TooManyGuests):
        book(uow, stay(prop, 1, 2, guests=5))
    booked = book(uow, stay(prop, 1, 2, guests=4))
    assert uow.state.bookings[booked.booking_id].guests == 4
    unlimited = uow.given_property()  # no maxGuests: any count the input allows
    book(uow, stay(unlimited, 1, 2, guests=50))


def test_a_host_cannot_book_their_own_listing(uow):
    prop = uow.given_property(owner=HOST.user_id)
    with pytest.raises(errors.OwnProperty):
        book(uow, stay(prop, 1, 2, user=HOST.user_id), HOST)
    with pytest.raises(errors.OwnProperty):  # nor an admin on the owner's behalf
        book(uow, stay(prop, 1, 2, user=HOST.user_id), ADMIN)
    book(uow, stay(prop, 1, 2))


def test_blocked_nights_refuse_a_booking_like_booked_ones(uow):
    prop = uow.given_property()
    uow.state.blocks[500] = Block(500, prop, day(3), day(6))
    with pytest.raises(errors.DatesTaken):
        book(uow, stay(prop, 5, 8))
    book(uow, stay(prop, 6, 8))


def test_a_total_beyond_the_column_is_refused(uow):
    prop = uow.given_property("99999999.99")
    with pytest.raises(errors.TotalTooLarge):
        book(uow, stay(prop, 1, 365))


def test_a_user_booking_for_someone_else_is_refused_without_asking_the_directory(uow):
    directory = Directory(known=True)
    with pytest.raises(errors.BookForSelfOnly):
        services.book(uow, directory, GUEST, stay(uow.given_property(), 1, 2, user=42))
    assert directory.asked == []


def test_an_admin_booking_for_an_unknown_user_is_refused_before_any_write(uow):
    directory = Directory(known=False)
    with pytest.raises(errors.UnknownUser):
        services.book(uow, directory, ADMIN, stay(uow.given_property(), 1, 2, user=42))
    assert directory.asked == [42] and uow.commits == 0


def test_an_admin_booking_goes_ahead_when_the_directory_cannot_tell(uow):
    booked = services.book(uow, Directory(known=None), ADMIN, stay(uow.given_property(), 1, 2, user=42))
    assert uow.state.bookings[booked.booking_id].user_id == 42


def test_a_retry_with_the_same_key_replays_the_first_answer(uow):
    prop = uow.given_property("80")
    first = book(uow, stay(prop, 1, 3), key="k-1")
    assert book(uow, stay(prop, 1, 3), key="k-1") == first
    assert len(uow.state.bookings) == 1


def test_a_key_reused_for_another_request_is_refused(uow):
    prop = uow.given_property()
    book(uow, stay(prop, 1, 3), key="k-1")
    with pytest.raises(errors.IdempotencyKeyReused):
        book(uow, stay(prop, 4, 6), key="k-1")


def test_keys_are_per_user_and_a_failed_attempt_keeps_no_key(uow):
    prop = uow.given_property()
    book(uow, stay(prop, 1, 3), key="k")
    with pytest.raises(errors.DatesTaken):
        book(uow, stay(prop, 2, 4, user=OTHER.user_id), OTHER, key="k")
    assert (OTHER.user_id, "k") not in uow.state.keys
    book(uow, stay(prop, 3, 4, user=OTHER.user_id), OTHER, key="k")


def test_a_key_recorded_before_the_domain_layer_replays_its_response_body(uow):
    request = stay(uow.given_property(), 1, 3)
    fingerprint = services._fingerprint(request)
    uow.state.keys[(GUEST.user_id, "old")] = (
        fingerprint,
        '{"bookingId": 12, "message": "Booking confirmed", "totalPrice": 497.5}',
    )
    assert book(uow, request, key="old") == Booked(12, Decimal("497.50"))


def test_only_the_guest_or_an_admin_sees_a_booking(uow):
    booked = book(uow, stay(uow.given_property(), 1, 2))
    views = BookingViews(uow)
    assert orjson.loads(views.booking(GUEST, booked.booking_id))["userId"] == GUEST.user_id
    assert orjson.loads(views.booking(ADMIN, booked.booking_id))["bookingId"] == booked.booking_id
    for who, booking_id in ((OTHER, booked.booking_id), (GUEST, 999)):
        with pytest.raises(errors.BookingNotFound):
            views.booking(who, booking_id)


def test_my_bookings_are_only_mine(uow):
    prop = uow.given_property()
    mine = book(uow, stay(prop, 1, 2))
    book(uow, stay(prop, 2, 3, user=OTHER.user_id), OTHER)
    assert [b.id for b in services.my_bookings(uow, GUEST)] == [mine.booking_id]


def test_cancel_frees_the_dates_and_cannot_happen_twice(uow):
    prop = uow.given_property()
    booked = book(uow, stay(prop, 1, 4))
    with pytest.raises(errors.BookingNotFound):
        services.cancel(uow, OTHER, booked.booking_id)
    services.cancel(uow, GUEST, booked.booking_id)
    assert uow.state.bookings[booked.booking_id].status == CANCELLED
    assert uow.notifier.events[-1][1]["event"] == "cancelled"
    with pytest.raises(errors.AlreadyCancelled):
        services.cancel(uow, GUEST, booked.booking_id)
    book(uow, stay(prop, 2, 3, user=OTHER.user_id), OTHER)


def test_the_listings_owner_cancels_a_guests_booking_and_the_guest_is_told(uow):
    prop = uow.given_property(owner=HOST.user_id)
    booked = book(uow, stay(prop, 1, 4))
    with pytest.raises(errors.BookingNotFound):
        services.cancel(uow, Identity(21, "host"), booked.booking_id)  # another host
    services.cancel(uow, HOST, booked.booking_id)
    assert uow.state.bookings[booked.booking_id].status == CANCELLED
    event = uow.notifier.events[-1][1]
    assert (event["event"], event["bookingId"], event["cancelledBy"]) == (
        "cancelled",
        booked.booking_id,
        "owner",
    )


def test_hosts_see_bookings_on_their_listings_admins_all(uow):
    mine = uow.given_property(owner=HOST.user_id, name="Loft")
    theirs = uow.given_property(owner=99)
    on_mine = book(uow, stay(mine, 10, 12))
    book(uow, stay(theirs, 10, 12))
    early = book(uow, stay(mine, 2, 4, user=OTHER.user_id), OTHER)
    listed = services.hosting_bookings(uow, HOST, HostingQuery())
    assert [(b.id, b.property_name) for b in listed] == [
        (early.booking_id, "Loft"),
        (on_mine.booking_id, "Loft"),
    ]
    assert len(services.hosting_bookings(uow, ADMIN, HostingQuery())) == 3
    window = services.hosting_bookings(uow, HOST, HostingQuery(start=day(5), end=day(11)))
    assert [b.id for b in window] == [on_mine.booking_id]
    services.cancel(uow, HOST, early.booking_id)
    assert [b.id for b in services.hosting_bookings(uow, HOST, HostingQuery(status="cancelled"))] == [
        early.booking_id
    ]
    assert len(services.hosting_bookings(uow, ADMIN, HostingQuery(property_id=theirs))) == 1


def test_earnings_split_each_stay_by_the_month_of_its_nights():
    def booking(id_: int, start: dt.date, end: dt.date, status: str = "confirmed") -> Booking:
        nights = (end - start).days
        return Booking(id_, 7, 1, start, end, status, Decimal("100.00"), Decimal(100 * nights))

    months = services.monthly_earnings([
        booking(1, dt.date(2031, 1, 30), dt.date(2031, 2, 2)),  # 2 nights in January, 1 in February
        booking(2, dt.date(2031, 2, 10), dt.date(2031, 2, 12)),
        booking(3, dt.date(2031, 2, 20), dt.date(2031, 2, 25), status="cancelled"),
    ])  # fmt: skip
    assert [(m.month, m.revenue, m.nights, m.bookings) for m in months] == [
        ("2031-01", Decimal("200.00"), 2, 1),
        ("2031-02", Decimal("300.00"), 3, 2),
    ]


def test_earnings_count_only_the_hosts_own_listings(uow):
    mine, theirs = uow.given_property("50", owner=HOST.user_id), uow.given_property("70", owner=99)
    book(uow, stay(mine, 1, 3))
    book(uow, stay(theirs, 1, 3))
    assert sum(m.revenue for m in services.earnings(uow, HOST)) == Decimal("100")
    assert sum(m.revenue for m in services.earnings(uow, ADMIN)) == Decimal("240")
