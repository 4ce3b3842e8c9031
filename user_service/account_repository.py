"""SQL for self-service account changes: profile edits, password changes, anonymisation, user search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from user_service.database import UserDatabase
from user_service.models import User
from user_service.repository import UNIQUE_VIOLATION, DuplicateUserError

ACCOUNT_COLUMNS = (User.id, User.username, User.email, User.role)
UNUSABLE_PASSWORD = "!deleted"  # not an argon2 hash: every verify fails


@dataclass(frozen=True)
class AccountRecord:
    id: int
    email: str
    role: str
    password_hash: str
    token_version: int


def account(db: UserDatabase, user_id: int) -> AccountRecord | None:
    """From the primary: a password check must see the password changed a moment ago."""
    statement = select(User.id, User.email, User.role, User.password_hash, User.token_version).where(
        User.id == user_id
    )
    row = db.read_fresh(lambda conn: conn.execute(statement).first())
    return AccountRecord(row.id, row.email, row.role, row.password_hash, row.token_version) if row else None


def account_by_email(db: UserDatabase, email: str) -> AccountRecord | None:
    statement = select(User.id, User.email, User.role, User.password_hash, User.token_version).where(
        User.email == email
    )
    row = db.read_fresh(lambda conn: conn.execute(statement).first())
    return AccountRecord(row.id, row.email, row.role, row.password_hash, row.token_version) if row else None


def update_profile(db: UserDatabase, user_id: int, changes: dict[str, str]) -> dict[str, Any] | None:
    statement = update(User).where(User.id == user_id).values(**changes).returning(*ACCOUNT_COLUMNS)
    try:
        row = db.write(lambda conn: conn.execute(statement).first())
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            raise DuplicateUserError from exc
        raise
    return dict(row._mapping) if row else None


def replace_password(db: UserDatabase, user_id: int, password_hash: str) -> int | None:
    """New hash and a new token version (every session ends); the new version."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, token_version=User.token_version + 1)
        .returning(User.token_version)
    )
    return db.write(lambda conn: conn.execute(statement).scalar_one_or_none())


def promote_to_host(db: UserDatabase, user_id: int) -> tuple[str, int] | None:
    """A `user` becomes a `host` (hosts and admins keep their role); (role, token version)."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(
            role=func.coalesce(func.nullif(User.role, "user"), "host"),
            token_version=User.token_version + 1,
        )
        .returning(User.role, User.token_version)
    )
    row = db.write(lambda conn: conn.execute(statement).first())
    return (row.role, row.token_version) if row else None


def anonymise(db: UserDatabase, user_id: int) -> int | None:
    """The row stays (bookings and the warehouse keep their user id) without name, email or password."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(
            username=f"deleted_{user_id}",
            email=f"deleted-{user_id}@deleted.invalid",
            password_hash=UNUSABLE_PASSWORD,
            role="user",
            token_version=User.token_version + 1,
        )
        .returning(User.token_version)
    )
    return db.write(lambda conn: conn.execute(statement).scalar_one_or_none())


def search_users(
    db: UserDatabase, query: str | None, role: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """A page of users (id order) whose username or email contains `query`, with `role` if given."""
    statement = select(*ACCOUNT_COLUMNS, User.created_at).order_by(User.id).limit(limit).offset(offset)
    if query:
        pattern = f"%{_escape_like(query)}%"
        matches = (User.username.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\"))
        statement = statement.where(or_(*matches))
    if role:
        statement = statement.where(User.role == role)
    rows = db.read(lambda conn: conn.execute(statement).all())
    return [
        {
            "id": r.id,
            "username": r.username,
            "email": r.email,
            "role": r.role,
            "createdAt": r.created_at.isoformat(),
        }
        for r in rows
    ]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
