"""SQL for the users table behind the `ports.UserRepository` protocol; which server answers (primary or
a replica) is `UserDatabase`'s job.

The unit of work holds no open transaction: every call is one statement (`UPDATE ... RETURNING`, so
a read-modify-write cannot race) or one primary transaction (`upsert_admin`), committed when it returns.
A write marks the request as having written, so its later reads go to the primary (read-your-writes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, Row, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from common.near_cache import NearCache
from user_service.database import UserDatabase
from user_service.models import Account, User, UserQuery
from user_service.ports import DuplicateUserError

UNIQUE_VIOLATION = "23505"
PROFILE_CHANNEL = "hrp:users:changed"
# Profiles are read from a replica: no copy of a user's profile is kept for this long after the row
# changed: longer than the replica's replay lag, milliseconds here (PostgresReplicaLagging pages when it
# falls 16 MiB of WAL behind).
PROFILE_SETTLE_SECONDS = 2.0
PUBLIC_COLUMNS = (User.id, User.username, User.email)
ACCOUNT_COLUMNS = (User.id, User.username, User.email, User.role, User.password_hash, User.token_version)
# Built once: executing the same statement object skips building it and adapting the cached compiled
# form's result columns to a new one, most of SQLAlchemy's cost for this, the hottest read.
PUBLIC_PROFILE = select(*PUBLIC_COLUMNS).where(User.id == bindparam("user_id"))


class SqlUnitOfWork:
    def __init__(self, db: UserDatabase, profiles: NearCache[dict[str, Any]] | None = None) -> None:
        self.db = db
        self.users = SqlUserRepository(db, profiles)


class SqlUserRepository:
    def __init__(self, db: UserDatabase, profiles: NearCache[dict[str, Any]] | None = None) -> None:
        self.db = db
        # Public profiles in process; every write to a user row retires its copy on every instance.
        self.profiles = profiles or NearCache(None, channel=PROFILE_CHANNEL)

    def add(self, username: str, email: str, password_hash: str, role: str = "user") -> int:
        statement = (
            insert(User)
            .values(username=username, email=email, password_hash=password_hash, role=role)
            .returning(User.id)
        )
        return self._write(lambda conn: conn.execute(statement).scalar_one())

    def get(self, user_id: int) -> Account | None:
        return self._account(User.id == user_id)

    def by_email(self, email: str) -> Account | None:
        """From the primary (a user registered a moment ago must be able to log in), a replica if it is down."""
        return self._account(User.email == email)

    def update(self, user_id: int, values: Mapping[str, Any], *, end_sessions: bool) -> Account | None:
        if end_sessions:
            values = {**values, "token_version": User.token_version + 1}
        statement = update(User).where(User.id == user_id).values(**values).returning(*ACCOUNT_COLUMNS)
        return _account(self._write(lambda conn: conn.execute(statement).first(), changed=user_id))

    def promote(self, user_id: int, from_role: str, to_role: str) -> Account | None:
        statement = (
            update(User)
            .where(User.id == user_id)
            .values(
                role=case((User.role == from_role, to_role), else_=User.role),
                token_version=User.token_version + 1,
            )
            .returning(*ACCOUNT_COLUMNS)
        )
        return _account(self._write(lambda conn: conn.execute(statement).first(), changed=user_id))

    def public_profile(self, user_id: int) -> dict[str, Any] | None:
        # Kept unless the user's row changed within `settle` (a lagging replica's older row).
        profile = self.profiles.read_through(str(user_id), lambda: self._public_profile(user_id))
        return dict(profile) if profile is not None else None  # callers never touch the kept copy

    def _public_profile(self, user_id: int) -> dict[str, Any] | None:
        params = {"user_id": user_id}
        row = self.db.read(lambda conn: conn.execute(PUBLIC_PROFILE, params).first())
        if row is None:  # the replica may not have replayed a brand-new user yet
            row = self.db.read_primary(lambda conn: conn.execute(PUBLIC_PROFILE, params).first())
        return dict(row._mapping) if row is not None else None

    def public_page(self, limit: int, offset: int) -> list[dict[str, Any]]:
        statement = select(*PUBLIC_COLUMNS).order_by(User.id).limit(limit).offset(offset)
        return [dict(row._mapping) for row in self.db.read(lambda conn: conn.execute(statement).all())]

    def search(self, query: UserQuery) -> list[dict[str, Any]]:
        """A page of users (id order) whose username or email contains the text, with the role if given."""
        columns = (User.id, User.username, User.email, User.role, User.created_at)
        statement = select(*columns).order_by(User.id).limit(query.limit).offset(query.offset)
        if query.text:
            pattern = f"%{_escape_like(query.text)}%"
            matches = (User.username.ilike(pattern, escape="\\"), User.email.ilike(pattern, escape="\\"))
            statement = statement.where(or_(*matches))
        if query.role:
            statement = statement.where(User.role == query.role)
        rows = self.db.read(lambda conn: conn.execute(statement).all())
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

    def upsert_admin(self, username: str, email: str, password_hash: str) -> tuple[int, bool]:
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

        user_id, created = self._write(work)
        self.profiles.publish_invalidation(str(user_id))
        return user_id, created

    def count(self) -> int:
        return self.db.read_fresh(
            lambda conn: conn.execute(select(func.count()).select_from(User)).scalar_one()
        )

    def id_batches(self, size: int) -> Iterator[list[int]]:
        """Every user id, `size` at a time, in id order (keyset pages: no long-running read)."""
        last = 0
        while True:
            statement = select(User.id).where(User.id > last).order_by(User.id).limit(size)
            ids = list(self.db.read_fresh(lambda conn, s=statement: conn.execute(s).scalars().all()))
            if not ids:
                return
            yield ids
            last = ids[-1]

    def _account(self, condition: Any) -> Account | None:
        statement = select(*ACCOUNT_COLUMNS).where(condition)
        return _account(self.db.read_fresh(lambda conn: conn.execute(statement).first()))

    def _write(self, work: Any, *, changed: int | None = None) -> Any:
        """Runs one write on the primary; `changed` names the user whose row it updates, so every
        instance drops its copy of that profile once it committed."""
        try:
            result = self.db.write(work)
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
                raise DuplicateUserError from exc
            raise
        if changed is not None:
            self.profiles.publish_invalidation(str(changed))
        return result


def _account(row: Row[Any] | None) -> Account | None:
    return Account(**row._mapping) if row else None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
