"""Star schema: dim_date, dim_user, dim_property, fact_booking, and per-source watermarks.

Natural keys (the source ids) are the dimension keys: every dimension is type 1 (latest value wins),
so surrogate keys would add a lookup per fact row for nothing. No foreign keys from the fact to
dim_user/dim_property: users come from another database and may arrive one run later than their
bookings; reports join with LEFT JOIN.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dim_date",
        sa.Column("date_key", sa.Integer, primary_key=True, comment="YYYYMMDD"),
        sa.Column("date", sa.Date, nullable=False, unique=True),
        sa.Column("year", sa.SmallInteger, nullable=False),
        sa.Column("quarter", sa.SmallInteger, nullable=False),
        sa.Column("month", sa.SmallInteger, nullable=False),
        sa.Column("day", sa.SmallInteger, nullable=False),
        sa.Column("iso_day_of_week", sa.SmallInteger, nullable=False),
        sa.Column("is_weekend", sa.Boolean, nullable=False),
        sa.Column("month_start", sa.Date, nullable=False),
    )
    op.create_table(
        "dim_user",
        sa.Column("user_id", sa.BigInteger, primary_key=True),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("signup_date", sa.Date),
        sa.Column("source_updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "dim_property",
        sa.Column("property_id", sa.BigInteger, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("price_per_night", sa.Numeric(10, 2), nullable=False),
        sa.Column("availability", sa.Boolean, nullable=False),
    )
    op.create_table(
        "fact_booking",
        sa.Column("booking_id", sa.BigInteger, primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("property_id", sa.BigInteger, nullable=False),
        sa.Column("start_date_key", sa.Integer, nullable=False),
        sa.Column("end_date_key", sa.Integer, nullable=False),
        sa.Column("created_date_key", sa.Integer, nullable=False),
        sa.Column("stay_month", sa.Date, nullable=False, comment="first day of the check-in month"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("nights", sa.Integer, nullable=False),
        sa.Column("price_per_night", sa.Numeric(10, 2), nullable=False),
        sa.Column("total_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("revenue", sa.Numeric(12, 2), nullable=False, comment="0 when cancelled"),
        sa.Column("lead_time_days", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("cancelled_at", sa.DateTime),
        sa.Column("source_updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "etl_watermark",
        sa.Column("source", sa.Text, primary_key=True, comment="source table, e.g. bookings.bookings"),
        sa.Column("last_updated_at", sa.DateTime, nullable=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("etl_watermark", "fact_booking", "dim_property", "dim_user", "dim_date"):
        op.drop_table(table)
