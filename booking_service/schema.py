"""SQLAlchemy Core tables mirroring the Alembic migrations (the migrations own the DDL)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

properties = sa.Table(
    "properties",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("location", sa.String(200)),
    sa.Column("price_per_night", sa.Numeric(10, 2)),
    sa.Column("availability", sa.Boolean),
    sa.Column("owner_id", sa.Integer),
    sa.Column("description", sa.Text),
    sa.Column("max_guests", sa.SmallInteger),
    sa.Column("time_zone", sa.String(64)),
    sa.Column("retired_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer),
    sa.Column("property_id", sa.Integer),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("status", sa.String(16)),
    sa.Column("price_per_night", sa.Numeric(10, 2)),
    sa.Column("total_price", sa.Numeric(12, 2)),
    sa.Column("guests", sa.SmallInteger),
    sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("idem_key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64)),
    sa.Column("status_code", sa.SmallInteger),
    sa.Column("response_body", sa.Text),
    sa.Column("created_at", sa.DateTime),
)

property_blocks = sa.Table(
    "property_blocks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("property_id", sa.Integer),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("created_by", sa.Integer),
    sa.Column("created_at", sa.DateTime),
)
