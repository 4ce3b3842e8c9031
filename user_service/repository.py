"""SQL for the users table; routing between primary and replicas is UserDatabase's job."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from user_service.database import UserDatabase
from user_service.models import User

UNIQUE_VIOLATION = "23505"
PUBLIC_COLUMNS = (User.id, User.username, User.email)


class DuplicateUserError(Exception):
    """The email or the username (case-insensitively) is taken."""


@dataclass(frozen=True)
class LoginRecord:
    id: int
    role: str
    password_hash: str
    token_version: int = 0


@dataclass(frozen=True)
class TokenRecord:
    role: str
    token_version: int


def add_user(db: UserDatabase, username: str, email: str, password_hash: str, role: str = "user") -> int:
    """Insert a user; the unique indexes (not a prior SELECT) decide duplicates, so races are safe."""
    statement = (
        insert(User)
        .values(username=username, email=email, password_hash=password_hash, role=role)
        .returning(User.id)
    )
    try:
        return db.write(lambda conn: conn.execute(statement).scalar_one())
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            raise DuplicateUserError from exc
        raise


def login_record(db: UserDatabase, email: str) -> LoginRecord | None:
    """From the primary (a user registered a moment ago must be able to log in), a replica if it is down."""
    statement = select(User.id, User.role, User.password_hash, User.token_version).where(User.email == email)
    row = db.read_fresh(lambda conn: conn.execute(statement).first())
    return LoginRecord(row.id, row.role, row.password_hash, row.token_version) if row else None


def token_record(db: UserDatabase, user_id: int) -> TokenRecord | None:
    """Role and token version as the primary has them now (a refresh must see a revocation at once)."""
    statement = select(User.role, User.token_version).where(User.id == user_id)
    row = db.read_fresh(lambda conn: conn.execute(statement).first())
    return TokenRecord(row.role, row.token_version) if row else None


def revoke_tokens(db: UserDatabase, user_id: int) -> int | None:
    """Raises the user's token version; every token issued before stops working. The new version."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .returning(User.token_version)
    )
    return db.write(lambda conn: conn.execute(statement).scalar_one_or_none())


def public_profile(db: UserDatabase, user_id: int) -> dict[str, Any] | None:
    statement = select(*PUBLIC_COLUMNS).where(User.id == user_id)
    row = db.read(lambda conn: conn.execute(statement).first())
    if row is None:  # the replica may not have replayed a brand-new user yet
        row = db.read_primary(lambda conn: conn.execute(statement).first())
    return dict(row._mapping) if row else None


def public_users(db: UserDatabase, limit: int, offset: int) -> list[dict[str, Any]]:
    statement = select(*PUBLIC_COLUMNS).order_by(User.id).limit(limit).offset(offset)
    rows = db.read(lambda conn: conn.execute(statement).all())
    return [dict(row._mapping) for row in rows]


def set_role(db: UserDatabase, user_id: int, role: str) -> dict[str, Any] | None:
    """The new role, and a new token version: tokens carrying the old role stop working."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(role=role, token_version=User.token_version + 1)
        .returning(*PUBLIC_COLUMNS, User.role, User.token_version)
    )
    row = db.write(lambda conn: conn.execute(statement).first())
    return dict(row._mapping) if row else None


def set_password_hash(db: UserDatabase, user_id: int, password_hash: str) -> None:
    statement = update(User).where(User.id == user_id).values(password_hash=password_hash)
    db.write(lambda conn: conn.execute(statement))


def upsert_admin(db: UserDatabase, username: str, email: str, password_hash: str) -> tuple[int, bool]:
    """Make `email` an admin with this password; `(id, created)`. Idempotent."""

    def work(conn: Connection) -> tuple[int, bool]:
        existing = conn.execute(
            select(User.id).where(User.email == email).with_for_update()
        ).scalar_one_or_none()
        if existing is not None:
            conn.execute(
                update(User).where(User.id == existing).values(role="admin", password_hash=password_hash)
            )
            return existing, False
        new_id = conn.execute(
            insert(User)
            .values(username=username, email=email, password_hash=password_hash, role="admin")
            .returning(User.id)
        ).scalar_one()
        return new_id, True

    try:
        return db.write(work)
    except IntegrityError as exc:
        raise DuplicateUserError from exc


def set_role_by_email(db: UserDatabase, email: str, role: str) -> tuple[int, int] | None:
    """(user id, new token version): like `set_role`, the old tokens stop working."""
    statement = (
        update(User)
        .where(User.email == email)
        .values(role=role, token_version=User.token_version + 1)
        .returning(User.id, User.token_version)
    )
    row = db.write(lambda conn: conn.execute(statement).first())
    return (row.id, row.token_version) if row else None


def user_count(db: UserDatabase) -> int:
    return db.read_fresh(lambda conn: conn.execute(select(func.count()).select_from(User)).scalar_one())


def user_id_batches(db: UserDatabase, size: int) -> Iterator[list[int]]:
    """Every user id, `size` at a time, in id order (keyset pages: no long-running read)."""
    last = 0
    while True:
        statement = select(User.id).where(User.id > last).order_by(User.id).limit(size)
        ids = list(db.read_fresh(lambda conn, s=statement: conn.execute(s).scalars().all()))
        if not ids:
            return
        yield ids
        last = ids[-1]
