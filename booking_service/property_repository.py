"""SQL for properties: search (filters and availability computed in SQL), lookups, host changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from booking_service.repository import CONFIRMED, overlapping
from booking_service.schema import bookings, properties


@dataclass(frozen=True)
class PropertyFilters:
    location: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    available: bool | None = None
    free_from: dt.date | None = None
    free_to: dt.date | None = None
    sort: str = "id"
    limit: int = 50
    offset: int = 0


SORTS = {
    "id": (properties.c.id,),
    "price": (properties.c.price_per_night, properties.c.id),
    "-price": (properties.c.price_per_night.desc(), properties.c.id.desc()),
    "name": (properties.c.name, properties.c.id),
}
LIVE = properties.c.retired_at.is_(None)


def list_properties(conn: Connection, filters: PropertyFilters) -> Sequence[Row]:
    return conn.execute(search_query(filters)).all()


def search_query(filters: PropertyFilters) -> sa.Select:
    query = sa.select(properties).where(LIVE, *_conditions(filters))
    return query.order_by(*SORTS[filters.sort]).limit(filters.limit).offset(filters.offset)


def _conditions(f: PropertyFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if f.location:
        conditions.append(properties.c.location.ilike(f"%{_escape_like(f.location)}%", escape="\\"))
    if f.min_price is not None:
        conditions.append(properties.c.price_per_night >= f.min_price)
    if f.max_price is not None:
        conditions.append(properties.c.price_per_night <= f.max_price)
    if f.available is not None:
        conditions.append(properties.c.availability == f.available)
    if f.free_from is not None and f.free_to is not None:
        taken = sa.select(sa.literal(1)).where(overlapping(properties.c.id, f.free_from, f.free_to))
        conditions.append(~sa.exists(taken))
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_property(conn: Connection, property_id: int, *, lock: bool = False) -> Row | None:
    """A live (not retired) property, optionally locked for the rest of the transaction."""
    query = sa.select(properties).where(properties.c.id == property_id, LIVE)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def insert_property(conn: Connection, values: Mapping[str, Any]) -> int:
    result = conn.execute(properties.insert().values(**values))
    return int(result.inserted_primary_key[0])


def update_property(conn: Connection, property_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(properties.update().where(properties.c.id == property_id).values(**values))


def retire_property(conn: Connection, property_id: int) -> None:
    update_property(conn, property_id, {"retired_at": sa.func.utc_timestamp(6)})


def has_future_bookings(conn: Connection, property_id: int, today: dt.date) -> bool:
    query = (
        sa.select(bookings.c.id)
        .where(
            bookings.c.property_id == property_id, bookings.c.status == CONFIRMED, bookings.c.end_date > today
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def booked_ranges(conn: Connection, property_id: int, start: dt.date, end: dt.date) -> Sequence[Row]:
    query = (
        sa.select(bookings.c.start_date, bookings.c.end_date)
        .where(overlapping(property_id, start, end))
        .order_by(bookings.c.start_date)
    )
    return conn.execute(query).all()
