"""etl_quarantine: source rows the ETL could not load, with the reason; the rest of a run loads anyway.

One row per source row (`source`, `source_id`): a row quarantined again is updated (reason, raw row,
last_seen), and a row that later loads (fixed at the source) is removed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "etl_quarantine",
        sa.Column("source", sa.Text, primary_key=True, comment="source table, e.g. bookings"),
        sa.Column("source_id", sa.BigInteger, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw_row", sa.Text, nullable=False, comment="the row as extracted"),
        sa.Column(
            "first_seen", sa.DateTime, nullable=False, server_default=sa.text("(now() AT TIME ZONE 'utc')")
        ),
        sa.Column(
            "last_seen", sa.DateTime, nullable=False, server_default=sa.text("(now() AT TIME ZONE 'utc')")
        ),
    )


def downgrade() -> None:
    op.drop_table("etl_quarantine")
