"""SQL for bookings and idempotency keys; every function takes an open connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from booking_service.schema import bookings, idempotency_keys

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


def overlapping(property_id: Any, start: Any, end: Any) -> sa.ColumnElement[bool]:
    """Confirmed bookings of a property sharing at least one night with [start, end)."""
    return sa.and_(
        bookings.c.property_id == property_id,
        bookings.c.status == CONFIRMED,
        bookings.c.start_date < end,
        bookings.c.end_date > start,
    )


def has_overlap(conn: Connection, property_id: int, start: dt.date, end: dt.date) -> bool:
    query = sa.select(bookings.c.id).where(overlapping(property_id, start, end)).limit(1)
    return conn.execute(query).first() is not None


def insert_booking(
    conn: Connection,
    *,
    user_id: int,
    property_id: int,
    start: dt.date,
    end: dt.date,
    price_per_night: Decimal,
    total_price: Decimal,
) -> int:
    result = conn.execute(
        bookings.insert().values(
            user_id=user_id,
            property_id=property_id,
            start_date=start,
            end_date=end,
            status=CONFIRMED,
            price_per_night=price_per_night,
            total_price=total_price,
        )
    )
    return int(result.inserted_primary_key[0])


def get_booking(conn: Connection, booking_id: int, *, lock: bool = False) -> Row | None:
    query = sa.select(bookings).where(bookings.c.id == booking_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def list_user_bookings(conn: Connection, user_id: int) -> Sequence[Row]:
    query = sa.select(bookings).where(bookings.c.user_id == user_id).order_by(bookings.c.id)
    return conn.execute(query).all()


def set_booking_status(conn: Connection, booking_id: int, status: str) -> None:
    conn.execute(
        bookings.update()
        .where(bookings.c.id == booking_id)
        .values(status=status, updated_at=sa.func.current_timestamp(6))
    )


def get_idempotent_response(conn: Connection, user_id: int, key: str) -> Row | None:
    query = sa.select(idempotency_keys).where(
        idempotency_keys.c.user_id == user_id, idempotency_keys.c.idem_key == key
    )
    return conn.execute(query).first()


def reserve_idempotency_key(conn: Connection, user_id: int, key: str, request_hash: str) -> None:
    """Inserts the key's row (no response yet); raises IntegrityError if another request holds it."""
    conn.execute(
        idempotency_keys.insert().values(
            user_id=user_id, idem_key=key, request_hash=request_hash, status_code=0, response_body=""
        )
    )


def record_idempotent_response(conn: Connection, user_id: int, key: str, status: int, body: str) -> None:
    conn.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.idem_key == key)
        .values(status_code=status, response_body=body)
    )
