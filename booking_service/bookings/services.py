"""Booking rules: no double booking, guests within capacity, owners-only access, idempotent retries,
hosts' views of the bookings on their listings. Plain functions over a unit of work; no HTTP here."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from decimal import Decimal

from booking_service import errors
from booking_service.bookings.model import (
    CANCELLED,
    CONFIRMED,
    Booked,
    Booking,
    BookingRequest,
    HostingQuery,
    MonthlyEarnings,
)
from booking_service.ports import Transaction, UnitOfWork, UserDirectory
from booking_service.properties.model import Clock, utc_now
from booking_service.properties.services import check_stay_dates
from common.identity import Identity

log = logging.getLogger(__name__)
MAX_TOTAL = Decimal("9999999999.99")  # the total_price column, DECIMAL(12,2)


def book(
    uow: UnitOfWork,
    users: UserDirectory,
    identity: Identity,
    request: BookingRequest,
    idempotency_key: str | None = None,
    *,
    clock: Clock = utc_now,
) -> Booked:
    if request.user_id != identity.user_id:
        if not identity.is_admin:
            raise errors.BookForSelfOnly
        _require_registered(users, request.user_id)
    now = clock()
    if idempotency_key is None:
        return uow.transaction(lambda tx: _create(uow, tx, request, now))
    return _idempotent(uow, identity.user_id, request, idempotency_key, now)


def _require_registered(users: UserDirectory, user_id: int) -> None:
    """When the directory cannot tell (Redis down or not refilled yet) the booking goes ahead, logged:
    a 503 here would count against this instance in the gateway's breaker for every booking."""
    known = users.exists(user_id)
    if known is None:
        log.warning("admin booking for user %s: the user directory cannot tell if it exists", user_id)
    elif not known:
        raise errors.UnknownUser


def _create(uow: UnitOfWork, tx: Transaction, request: BookingRequest, now: dt.datetime) -> Booked:
    prop = tx.properties.get(request.property_id, lock=True)
    if prop is None or not prop.availability:
        raise errors.PropertyUnavailable
    check_stay_dates(prop.time_zone, request.start, request.end, now)
    if prop.owner_id == request.user_id:
        raise errors.OwnProperty
    if prop.max_guests is not None and request.guests > prop.max_guests:
        raise errors.TooManyGuests
    total = prop.price_per_night * request.nights
    if total > MAX_TOTAL:  # only a price set before MAX_PRICE existed can get here
        raise errors.TotalTooLarge
    booking_id = tx.bookings.add_if_free(
        Booking(0, request.user_id, request.property_id, request.start, request.end, CONFIRMED,
                prop.price_per_night, total, request.guests)
    )  # fmt: skip
    if booking_id is None:
        raise errors.DatesTaken
    notify = uow.notifier.booking_event
    tx.after_commit(
        lambda: notify("booked", request.property_id, request.start, request.end, request.user_id)
    )
    return Booked(booking_id, total)


def _idempotent(uow: UnitOfWork, user_id: int, request: BookingRequest, key: str, now: dt.datetime) -> Booked:
    fingerprint = _fingerprint(request)

    def create(tx: Transaction) -> Booked:
        if (previous := tx.idempotency.get(user_id, key)) is not None:
            return _replay(previous, fingerprint)
        # The key's row is inserted first: a concurrent retry blocks on it until this commits
        # (then replays) or rolls back (then runs itself).
        tx.idempotency.reserve(user_id, key, fingerprint)
        booked = _create(uow, tx, request, now)
        tx.idempotency.record(user_id, key, _answer_json(booked))
        return booked

    try:
        return uow.transaction(create)
    except errors.IdempotencyKeyTaken:
        previous = uow.read(lambda tx: tx.idempotency.get(user_id, key))
        if previous is None:
            raise
        return _replay(previous, fingerprint)


def _fingerprint(request: BookingRequest) -> str:
    fields = asdict(request)
    if fields["guests"] == 1:  # keys recorded before bookings had a guest count still match
        del fields["guests"]
    return hashlib.sha256(json.dumps(fields, default=str, sort_keys=True).encode()).hexdigest()


def _answer_json(booked: Booked) -> str:
    return json.dumps({"bookingId": booked.booking_id, "totalPrice": str(booked.total_price)})


def _replay(previous: tuple[str, str], fingerprint: str) -> Booked:
    recorded_fingerprint, answer = previous
    if recorded_fingerprint != fingerprint:
        raise errors.IdempotencyKeyReused
    body = json.loads(answer)  # rows recorded before the domain layer hold the response body: same keys
    return Booked(int(body["bookingId"]), Decimal(str(body["totalPrice"])).quantize(Decimal("0.01")))


def may_read_booking(identity: Identity, guest_id: int) -> bool:
    """A booking is shown to its guest and to admins; to anyone else it does not exist."""
    return identity.is_admin or guest_id == identity.user_id


def my_bookings(uow: UnitOfWork, identity: Identity) -> list[Booking]:
    return list(uow.bookings_of(identity.user_id))


def cancel(uow: UnitOfWork, identity: Identity, booking_id: int) -> Booking:
    """The guest, an admin, or the owner of the booked property cancels; the dates are free again."""

    def cancel_locked(tx: Transaction) -> Booking:
        booking = tx.bookings.get(booking_id, lock=True)
        if booking is None:
            raise errors.BookingNotFound
        by_owner = False
        if not may_read_booking(identity, booking.user_id):
            prop = tx.properties.get(booking.property_id)
            by_owner = prop is not None and prop.owner_id == identity.user_id
            if not by_owner:
                raise errors.BookingNotFound
        if booking.status == CANCELLED:
            raise errors.AlreadyCancelled
        tx.bookings.set_status(booking, CANCELLED)
        tx.after_commit(lambda: _announce_cancellation(uow, booking, by_owner))
        return booking

    return uow.transaction(cancel_locked)


def _announce_cancellation(uow: UnitOfWork, booking: Booking, by_owner: bool) -> None:
    if not by_owner:
        notify = uow.notifier.booking_event
        notify("cancelled", booking.property_id, booking.start_date, booking.end_date, booking.user_id)
        return
    # The guest learns of it in the property's room: the booking id (theirs) and who cancelled.
    update = {"propertyId": booking.property_id, "event": "cancelled", "bookingId": booking.id,
              "cancelledBy": "owner", "startDate": booking.start_date.isoformat(),
              "endDate": booking.end_date.isoformat()}  # fmt: skip
    uow.notifier.property_event(booking.property_id, update)


def hosting_bookings(uow: UnitOfWork, identity: Identity, query: HostingQuery) -> list[Booking]:
    """A host sees the bookings on their own listings, an admin every booking."""
    owner = None if identity.is_admin else identity.user_id
    return list(uow.read(lambda tx: tx.bookings.on_listings(owner, query)))


def earnings(uow: UnitOfWork, identity: Identity) -> list[MonthlyEarnings]:
    """Per calendar month of each night: the nights sold, their price, and the bookings they belong to."""
    owner = None if identity.is_admin else identity.user_id
    return monthly_earnings(uow.read(lambda tx: tx.bookings.confirmed_on_listings(owner)))


def monthly_earnings(bookings: Iterable[Booking]) -> list[MonthlyEarnings]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    nights: dict[str, int] = defaultdict(int)
    booked: dict[str, set[int]] = defaultdict(set)
    for booking in bookings:
        if booking.status != CONFIRMED:
            continue
        night = booking.start_date
        while night < booking.end_date:
            month = f"{night.year:04d}-{night.month:02d}"
            revenue[month] += booking.price_per_night
            nights[month] += 1
            booked[month].add(booking.id)
            night += dt.timedelta(days=1)
    return [MonthlyEarnings(m, revenue[m], nights[m], len(booked[m])) for m in sorted(revenue)]
