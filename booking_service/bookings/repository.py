"""SQL for bookings and idempotency keys, over one open connection (the unit of work's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row
from sqlalchemy import exc as sa_exc

from booking_service import errors
from booking_service.bookings.model import CONFIRMED, Booking, HostingQuery
from booking_service.schema import bookings, idempotency_keys, properties, property_blocks


def overlapping(property_id: Any, start: Any, end: Any) -> sa.ColumnElement[bool]:
    """Confirmed bookings of a property sharing at least one night with [start, end)."""
    return sa.and_(
        bookings.c.property_id == property_id,
        bookings.c.status == CONFIRMED,
        bookings.c.start_date < end,
        bookings.c.end_date > start,
    )


def blocked(property_id: Any, start: Any, end: Any) -> sa.ColumnElement[bool]:
    """The owner's blocks of a property sharing at least one night with [start, end)."""
    return sa.and_(
        property_blocks.c.property_id == property_id,
        property_blocks.c.start_date < end,
        property_blocks.c.end_date > start,
    )


# The columns a new booking is written with, named as in `Booking`.
WRITTEN = (
    "user_id",
    "property_id",
    "start_date",
    "end_date",
    "status",
    "price_per_night",
    "total_price",
    "guests",
)


def to_booking(row: Row) -> Booking:
    values = {name: getattr(row, name) for name in WRITTEN}
    return Booking(
        id=row.id, **values, created_at=row.created_at, property_name=getattr(row, "property_name", None)
    )


# The hottest reads, built once: executing the same statement object skips building its expression and
# adapting the cached compiled form's result columns to a new one (most of SQLAlchemy's cost per read).
BY_ID = sa.select(bookings).where(bookings.c.id == sa.bindparam("booking_id"))
BY_ID_LOCKED = BY_ID.with_for_update()
SET_STATUS = (
    bookings.update()
    .where(bookings.c.id == sa.bindparam("booking_id"))
    .values(status=sa.bindparam("status"), updated_at=sa.func.current_timestamp(6))
)
OF_USER = sa.select(bookings).where(bookings.c.user_id == sa.bindparam("user_id")).order_by(bookings.c.id)
_PROPERTY, _START, _END = sa.bindparam("property_id"), sa.bindparam("start"), sa.bindparam("end")
# A confirmed booking or an owner's block on those nights.
TAKEN = sa.or_(
    sa.exists(sa.select(bookings.c.id).where(overlapping(_PROPERTY, _START, _END))),
    sa.exists(sa.select(property_blocks.c.id).where(blocked(_PROPERTY, _START, _END))),
)
DATES_TAKEN = sa.select(TAKEN)
# The booking's row, written only while none of its nights is taken: the overlap check and the insert in
# one round trip. Run under the property's row lock (READ COMMITTED), so it sees every booking that won
# the lock before it.
INSERT_IF_FREE = bookings.insert().from_select(
    list(WRITTEN),
    sa.select(*(sa.bindparam(name, type_=bookings.c[name].type) for name in WRITTEN)).where(sa.not_(TAKEN)),
)


class SqlBookingRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # What this transaction wrote, so the unit of work retires those copies once it committed:
        # booking ids, and the guests whose list of bookings changed.
        self.changed: list[int] = []
        self.changed_guests: set[int] = set()

    def dates_taken(self, property_id: int, start: dt.date, end: dt.date) -> bool:
        found = self.conn.execute(DATES_TAKEN, {"property_id": property_id, "start": start, "end": end})
        return bool(found.scalar())

    def add_if_free(self, booking: Booking) -> int | None:
        values = {name: getattr(booking, name) for name in WRITTEN}
        values.update(start=booking.start_date, end=booking.end_date)  # the nights TAKEN looks at
        found = self.conn.execute(INSERT_IF_FREE, values)
        if found.rowcount != 1:
            return None
        self.changed_guests.add(booking.user_id)
        return int(found.lastrowid)

    def get(self, booking_id: int, *, lock: bool = False) -> Booking | None:
        row = self.conn.execute(BY_ID_LOCKED if lock else BY_ID, {"booking_id": booking_id}).first()
        return None if row is None else to_booking(row)

    def of_user(self, user_id: int) -> Sequence[Booking]:
        return [to_booking(row) for row in self.conn.execute(OF_USER, {"user_id": user_id})]

    def set_status(self, booking: Booking, status: str) -> None:
        self.changed.append(booking.id)
        self.changed_guests.add(booking.user_id)
        self.conn.execute(SET_STATUS, {"booking_id": booking.id, "status": status})

    def on_listings(self, owner_id: int | None, query: HostingQuery) -> Sequence[Booking]:
        select = _with_property_name(owner_id)
        if query.start is not None:
            select = select.where(bookings.c.end_date > query.start)
        if query.end is not None:
            select = select.where(bookings.c.start_date < query.end)
        if query.property_id is not None:
            select = select.where(bookings.c.property_id == query.property_id)
        if query.status is not None:
            select = select.where(bookings.c.status == query.status)
        select = select.order_by(bookings.c.start_date, bookings.c.id).limit(query.limit).offset(query.offset)
        return [to_booking(row) for row in self.conn.execute(select)]

    def confirmed_on_listings(self, owner_id: int | None) -> Sequence[Booking]:
        select = _with_property_name(owner_id).where(bookings.c.status == CONFIRMED)
        return [to_booking(row) for row in self.conn.execute(select)]


def _with_property_name(owner_id: int | None) -> sa.Select:
    joined = bookings.join(properties, properties.c.id == bookings.c.property_id)
    select = sa.select(bookings, properties.c.name.label("property_name")).select_from(joined)
    return select if owner_id is None else select.where(properties.c.owner_id == owner_id)


class SqlIdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, user_id: int, key: str) -> tuple[str, str] | None:
        query = sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.response_body).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.idem_key == key
        )
        row = self.conn.execute(query).first()
        return None if row is None else (row.request_hash, row.response_body)

    def reserve(self, user_id: int, key: str, fingerprint: str) -> None:
        try:
            self.conn.execute(
                idempotency_keys.insert().values(
                    user_id=user_id, idem_key=key, request_hash=fingerprint, status_code=0, response_body=""
                )
            )
        except sa_exc.IntegrityError as error:
            raise errors.IdempotencyKeyTaken from error

    def record(self, user_id: int, key: str, answer: str) -> None:
        self.conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.idem_key == key)
            .values(status_code=201, response_body=answer)
        )
