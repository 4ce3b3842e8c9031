"""Create the users table.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TOUCH_FUNCTION = """
CREATE OR REPLACE FUNCTION users_touch_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = clock_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False, server_default="user"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("email = lower(email)", name="ck_users_email_lowercase"),
        sa.CheckConstraint("role IN ('user', 'host', 'admin')", name="ck_users_role"),
    )
    op.create_index("uq_users_email", "users", ["email"], unique=True)
    # Usernames differing only in case would let one user pass for another.
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_index("ix_users_updated_at", "users", ["updated_at"])
    # The ETL extracts incrementally by updated_at, so every UPDATE must move it, whoever issues it.
    op.execute(TOUCH_FUNCTION)
    op.execute(
        "CREATE TRIGGER trg_users_touch_updated_at BEFORE UPDATE ON users "
        "FOR EACH ROW EXECUTE FUNCTION users_touch_updated_at()"
    )


def downgrade() -> None:
    op.drop_table("users")
    op.execute("DROP FUNCTION IF EXISTS users_touch_updated_at()")
