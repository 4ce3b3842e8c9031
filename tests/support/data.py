"""Test data written straight into the sources, so each test owns rows nobody else touches."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa


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
