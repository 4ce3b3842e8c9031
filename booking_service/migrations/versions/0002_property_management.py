"""Host-managed properties: owner, description, guests, retirement; indexes for search.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import DATETIME

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("properties", sa.Column("owner_id", sa.Integer, nullable=True))
    op.add_column("properties", sa.Column("description", sa.Text, nullable=True))
    op.add_column("properties", sa.Column("max_guests", sa.SmallInteger, nullable=True))
    op.add_column("properties", sa.Column("retired_at", DATETIME(fsp=6), nullable=True))
    op.create_index("ix_properties_owner", "properties", ["owner_id"])
    # Listing walks live properties in sort order and stops at the page size.
    op.create_index("ix_properties_live_price", "properties", ["retired_at", "price_per_night", "id"])
    op.create_index("ix_properties_live_name", "properties", ["retired_at", "name", "id"])
    # Covers the overlap probe of the availability search (no row lookups).
    op.create_index(
        "ix_bookings_availability", "bookings", ["property_id", "status", "start_date", "end_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_bookings_availability", "bookings")
    op.drop_index("ix_properties_live_name", "properties")
    op.drop_index("ix_properties_live_price", "properties")
    op.drop_index("ix_properties_owner", "properties")
    for column in ("retired_at", "max_guests", "description", "owner_id"):
        op.drop_column("properties", column)
