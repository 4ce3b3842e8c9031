"""SQL for properties and their date blocks: search (filters and availability computed in SQL), lookups,
host changes; over one open connection (the unit of work's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Row

from booking_service.bookings.model import CONFIRMED
from booking_service.bookings.repository import blocked, overlapping
from booking_service.properties.model import Block, Property, PropertyFilters
from booking_service.schema import bookings, properties, property_blocks

SORTS = {
    "id": (properties.c.id,),
    "price": (properties.c.price_per_night, properties.c.id),
    "-price": (properties.c.price_per_night.desc(), properties.c.id.desc()),
    "name": (properties.c.name, properties.c.id),
}
LIVE = properties.c.retired_at.is_(None)


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
    if f.guests is not None:
        conditions.append(properties.c.max_guests >= f.guests)
    if f.free_from is not None and f.free_to is not None:
        booked = sa.select(sa.literal(1)).where(overlapping(properties.c.id, f.free_from, f.free_to))
        taken = sa.select(sa.literal(1)).where(blocked(properties.c.id, f.free_from, f.free_to))
        conditions.extend([~sa.exists(booked), ~sa.exists(taken)])
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_property(row: Row) -> Property:
    return Property(
        id=row.id,
        name=row.name,
        location=row.location,
        price_per_night=row.price_per_night,
        availability=bool(row.availability),
        owner_id=row.owner_id,
        description=row.description,
        max_guests=row.max_guests,
        time_zone=row.time_zone,
    )


# Built once (the booking path reads a property under lock in every booking).
LIVE_BY_ID = sa.select(properties).where(properties.c.id == sa.bindparam("property_id"), LIVE)
LIVE_BY_ID_LOCKED = LIVE_BY_ID.with_for_update()


class SqlPropertyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, property_id: int, *, lock: bool = False) -> Property | None:
        """A live (not retired) property, optionally locked for the rest of the transaction."""
        row = self.conn.execute(
            LIVE_BY_ID_LOCKED if lock else LIVE_BY_ID, {"property_id": property_id}
        ).first()
        return None if row is None else to_property(row)

    def search(self, filters: PropertyFilters) -> Sequence[Property]:
        return [to_property(row) for row in self.conn.execute(search_query(filters))]

    def of_owner(self, owner_id: int | None) -> Sequence[Property]:
        """Live listings of one owner (every live listing for None), oldest first."""
        query = sa.select(properties).where(LIVE)
        if owner_id is not None:
            query = query.where(properties.c.owner_id == owner_id)
        return [to_property(row) for row in self.conn.execute(query.order_by(properties.c.id))]

    def add(self, values: Mapping[str, Any]) -> int:
        result = self.conn.execute(properties.insert().values(**values))
        return int(result.inserted_primary_key[0])

    def update(self, property_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(properties.update().where(properties.c.id == property_id).values(**values))

    def retire(self, property_id: int) -> None:
        self.update(property_id, {"retired_at": sa.func.utc_timestamp(6)})

    def has_stays_after(self, property_id: int, day: dt.date) -> bool:
        query = sa.select(bookings.c.id).where(
            bookings.c.property_id == property_id, bookings.c.status == CONFIRMED, bookings.c.end_date > day
        )
        return self.conn.execute(query.limit(1)).first() is not None

    def taken_ranges(self, property_id: int, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
        booked = sa.select(bookings.c.start_date, bookings.c.end_date).where(
            overlapping(property_id, start, end)
        )
        held = sa.select(property_blocks.c.start_date, property_blocks.c.end_date).where(
            blocked(property_id, start, end)
        )
        rows = self.conn.execute(sa.union_all(booked, held)).all()
        return sorted((row[0], row[1]) for row in rows)

    def blocks(self, property_id: int, start: dt.date, end: dt.date) -> Sequence[Block]:
        query = sa.select(property_blocks).where(blocked(property_id, start, end))
        rows = self.conn.execute(query.order_by(property_blocks.c.start_date))
        return [Block(row.id, row.property_id, row.start_date, row.end_date) for row in rows]

    def add_block(self, property_id: int, start: dt.date, end: dt.date, created_by: int) -> int:
        values = {"property_id": property_id, "start_date": start, "end_date": end, "created_by": created_by}
        return int(self.conn.execute(property_blocks.insert().values(**values)).inserted_primary_key[0])

    def remove_block(self, property_id: int, block_id: int) -> bool:
        query = property_blocks.delete().where(
            property_blocks.c.id == block_id, property_blocks.c.property_id == property_id
        )
        return self.conn.execute(query).rowcount > 0
