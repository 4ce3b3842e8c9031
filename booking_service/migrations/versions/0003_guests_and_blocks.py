"""Bookings carry a guest count; hosts block dates on their listings.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("guests", sa.SmallInteger, nullable=False, server_default="1"))
    op.create_table(
        "property_blocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("property_id", sa.Integer, sa.ForeignKey("properties.id"), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("created_by", sa.Integer, nullable=False),
        sa.Column(
            "created_at", DATETIME(fsp=6), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP(6)")
        ),
        sa.CheckConstraint("end_date > start_date", name="ck_property_blocks_dates"),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )
    op.create_index("ix_property_blocks_dates", "property_blocks", ["property_id", "start_date", "end_date"])


def downgrade() -> None:
    op.drop_table("property_blocks")
    op.drop_column("bookings", "guests")
