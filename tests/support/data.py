"""Test data written straight into the sources, so each test owns rows nobody else touches."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa


def date_in(offset: int) -> dt.date:
    """The date `offset` days from today; the booking API's "today" is the UTC date."""
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)


def day(offset: int) -> str:
    """`date_in(offset)` as the API writes it, YYYY-MM-DD."""
    return date_in(offset).isoformat()


@dataclass(frozen=True)
class Days:
    """`day(offset)` resolved when the test runs, for `parametrize` arguments: those are built at
    collection, and a run that crosses midnight UTC would otherwise mix two todays in one request."""

    offset: int


def on_the_day(value: Any) -> Any:
    """`value` with every `Days` in it (also inside dicts and tuples) written as its date."""
    if isinstance(value, Days):
        return day(value.offset)
    if isinstance(value, dict):
        return {key: on_the_day(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(on_the_day(item) for item in value)
    return value


def booking_engine(stack) -> sa.Engine:
    return sa.create_engine(stack.env["BOOKING_DB_URL"], connect_args={"ssl_disabled": True})


def insert_property(engine: sa.Engine, location: str, price: Decimal | int, prefix: str) -> int:
    """A fresh available property (unique name); returns its id."""
    with engine.begin() as conn:
        result = conn.execute(
            sa.text(
                "INSERT INTO properties (name, location, price_per_night, availability) "
                "VALUES (:name, :location, :price, 1)"
            ),
            {"name": f"{prefix}-{uuid.uuid4().hex[:10]}", "location": location, "price": price},
        )
        return int(result.lastrowid)
