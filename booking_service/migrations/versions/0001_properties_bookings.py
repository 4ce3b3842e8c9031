"""Properties (seeded with the seed's five), bookings and idempotency keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}
NOW = sa.text("CURRENT_TIMESTAMP(6)")
NOW_ON_UPDATE = sa.text("CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)")

SEED_PROPERTIES = [
    {
        "id": 1,
        "name": "Modern City Apartment",
        "location": "New York City NY",
        "price": 120,
        "available": True,
    },
    {"id": 2, "name": "Oceanfront Luxury Villa", "location": "Malibu, CA", "price": 450, "available": True},
    {"id": 3, "name": "Rustic Mountain Cabin", "location": "Aspen, CO", "price": 180, "available": True},
    {
        "id": 4,
        "name": "Charming Country Cottage",
        "location": "Charleston, SC",
        "price": 90,
        "available": True,
    },
    {"id": 5, "name": "Downtown Penthouse", "location": "Chicago, IL", "price": 600, "available": False},
]


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
        sa.Column("updated_at", DATETIME(fsp=6), nullable=False, server_default=NOW_ON_UPDATE),
    ]


def upgrade() -> None:
    properties = op.create_table(
        "properties",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("price_per_night", sa.Numeric(10, 2), nullable=False),
        sa.Column("availability", sa.Boolean, nullable=False, server_default=sa.true()),
        *_timestamps(),
        **TABLE_OPTIONS,
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("property_id", sa.Integer, sa.ForeignKey("properties.id"), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="confirmed"),
        sa.Column("price_per_night", sa.Numeric(10, 2), nullable=False),
        sa.Column("total_price", sa.Numeric(12, 2), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("status IN ('confirmed', 'cancelled')", name="ck_bookings_status"),
        sa.CheckConstraint("end_date > start_date", name="ck_bookings_dates"),
        **TABLE_OPTIONS,
    )
    op.create_index("ix_bookings_property_dates", "bookings", ["property_id", "start_date", "end_date"])
    op.create_index("ix_bookings_user", "bookings", ["user_id"])
    op.create_index("ix_bookings_updated_at", "bookings", ["updated_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idem_key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("created_at", DATETIME(fsp=6), nullable=False, server_default=NOW),
        **TABLE_OPTIONS,
    )
    op.bulk_insert(
        properties,
        [
            {
                "id": p["id"],
                "name": p["name"],
                "location": p["location"],
                "price_per_night": p["price"],
                "availability": p["available"],
            }
            for p in SEED_PROPERTIES
        ],
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("bookings")
    op.drop_table("properties")
