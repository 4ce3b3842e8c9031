"""Property rules: hosts manage their own listings (admins any), retire only without stays ahead, block
dates; every change retires the cached reads and notifies watchers after commit. No HTTP here."""

from __future__ import annotations

import datetime as dt

from booking_service import errors
from booking_service.ports import Transaction, UnitOfWork
from booking_service.properties.model import (
    BOOKING_HORIZON_DAYS,
    CALENDAR_DAYS,
    Block,
    Calendar,
    Clock,
    DateWindow,
    Property,
    PropertyFields,
    local_today,
    utc_now,
)
from booking_service.serializers import property_update_json
from common.identity import Identity


def create(uow: UnitOfWork, identity: Identity, fields: PropertyFields) -> Property:
    def insert(tx: Transaction) -> Property:
        property_id = tx.properties.add({**fields.values, "owner_id": identity.user_id})
        tx.after_commit(uow.properties_changed)
        return _live(tx, property_id)

    return uow.transaction(insert)


def update(uow: UnitOfWork, identity: Identity, property_id: int, fields: PropertyFields) -> Property:
    def change(tx: Transaction) -> Property:
        current = owned(tx, identity, property_id)
        changed = {name: v for name, v in fields.values.items() if getattr(current, name) != v}
        if changed:
            tx.properties.update(property_id, changed)
            _after_change(uow, tx, property_id, property_update_json(changed))
        return _live(tx, property_id)

    return uow.transaction(change)


def check_stay_dates(time_zone: str, start: dt.date, end: dt.date, now: dt.datetime) -> None:
    """A stay or a block starts no earlier than the property's local today and ends within its horizon."""
    today = local_today(time_zone, now)
    if start < today:
        raise errors.StartInPast
    latest = today + dt.timedelta(days=BOOKING_HORIZON_DAYS)
    for field, day in (("startDate", start), ("endDate", end)):
        if day > latest:
            raise errors.BeyondHorizon(field, latest)


def retire(uow: UnitOfWork, identity: Identity, property_id: int, *, clock: Clock = utc_now) -> None:
    def retire_locked(tx: Transaction) -> None:
        prop = owned(tx, identity, property_id)
        if tx.properties.has_stays_after(property_id, local_today(prop.time_zone, clock())):
            raise errors.HasUpcomingBookings
        tx.properties.retire(property_id)
        _after_change(uow, tx, property_id, {"retired": True})

    uow.transaction(retire_locked)


def hosted_by(uow: UnitOfWork, identity: Identity, *, everyone: bool = False) -> list[Property]:
    """The caller's live listings; an admin may ask for every host's (`everyone`)."""
    owner = None if everyone and identity.is_admin else identity.user_id
    return list(uow.read(lambda tx: tx.properties.of_owner(owner)))


def calendar(
    uow: UnitOfWork, property_id: int, window: DateWindow | None, *, clock: Clock = utc_now
) -> Calendar:
    """The nights taken within `window`; without one, from the property's local today for a year."""

    def read(tx: Transaction) -> Calendar:
        prop = tx.properties.get(property_id)
        if prop is None:
            raise errors.PropertyNotFound
        shown = window or _year_from_today(prop, clock())
        taken = tx.properties.taken_ranges(property_id, shown.start, shown.end)
        blocks = tx.properties.blocks(property_id, shown.start, shown.end)
        return Calendar(property_id, shown, taken, list(blocks))

    return uow.read(read)


def _year_from_today(prop: Property, now: dt.datetime) -> DateWindow:
    today = local_today(prop.time_zone, now)
    return DateWindow(today, today + dt.timedelta(days=CALENDAR_DAYS))


def add_block(
    uow: UnitOfWork, identity: Identity, property_id: int, window: DateWindow, *, clock: Clock = utc_now
) -> Block:
    """The owner takes future nights off the calendar; nights already booked or blocked cannot be blocked."""
    now = clock()

    def block(tx: Transaction) -> Block:
        prop = owned(tx, identity, property_id)
        check_stay_dates(prop.time_zone, window.start, window.end, now)
        if tx.bookings.dates_taken(property_id, window.start, window.end):
            raise errors.DatesTaken
        block_id = tx.properties.add_block(property_id, window.start, window.end, identity.user_id)
        return Block(block_id, property_id, window.start, window.end)

    return uow.transaction(block)


def remove_block(uow: UnitOfWork, identity: Identity, property_id: int, block_id: int) -> None:
    def unblock(tx: Transaction) -> None:
        owned(tx, identity, property_id)
        if not tx.properties.remove_block(property_id, block_id):
            raise errors.BlockNotFound

    uow.transaction(unblock)


def owned(tx: Transaction, identity: Identity, property_id: int) -> Property:
    """The live property, locked; unknown or retired, or not the caller's (unless admin): refused."""
    prop = tx.properties.get(property_id, lock=True)
    if prop is None:
        raise errors.PropertyNotFound
    if not identity.is_admin and prop.owner_id != identity.user_id:
        raise errors.NotPropertyOwner
    return prop


def _live(tx: Transaction, property_id: int) -> Property:
    prop = tx.properties.get(property_id)
    assert prop is not None  # written in this same transaction
    return prop


def _after_change(uow: UnitOfWork, tx: Transaction, property_id: int, changes: dict) -> None:
    update = {"propertyId": property_id, "event": "updated", "changes": changes}
    tx.after_commit(uow.properties_changed)
    tx.after_commit(lambda: uow.notifier.property_event(property_id, update))
