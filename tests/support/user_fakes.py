"""An in-memory unit of work for user_service's rules (cosmicpython's FakeUnitOfWork): the protocols of
`user_service.ports`, no database and no Redis. It keeps what the SQL adapter guarantees: unique email
and case-insensitive unique username, `end_sessions` raising the token version, `promote` in one step."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from user_service.limiter import Attempt, Blocked
from user_service.models import Account, UserQuery
from user_service.passwords import Passwords
from user_service.ports import DuplicateUserError
from user_service.settings import UserSettings

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/users"
FAST_ARGON2 = {"time_cost": 1, "memory_kib": 1024}  # test parameters: a hash in ~2 ms instead of ~20
FAST_HASHES = Passwords(**FAST_ARGON2)


def private_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def offline_settings(**overrides: object) -> UserSettings:
    """user_service's settings pointing at no reachable database or Redis (create_app connects lazily)."""
    values = {"env": "test", "user_db_url": NOWHERE, "user_db_replica_urls": "", "redis_url": None}
    return UserSettings(**{**values, **overrides})


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[int, Account] = {}

    def add(self, username: str, email: str, password_hash: str, role: str = "user") -> int:
        user_id = len(self.rows) + 1
        self._refuse_duplicates(user_id, username, email)
        self.rows[user_id] = Account(user_id, username, email, role, password_hash)
        return user_id

    def get(self, user_id: int) -> Account | None:
        return self.rows.get(user_id)

    def by_email(self, email: str) -> Account | None:
        return next((a for a in self.rows.values() if a.email == email), None)

    def update(self, user_id: int, values: Mapping[str, Any], *, end_sessions: bool) -> Account | None:
        account = self.rows.get(user_id)
        if account is None:
            return None
        changed = dataclasses.replace(account, **values)
        self._refuse_duplicates(user_id, changed.username, changed.email)
        if end_sessions:
            changed = dataclasses.replace(changed, token_version=account.token_version + 1)
        self.rows[user_id] = changed
        return changed

    def promote(self, user_id: int, from_role: str, to_role: str) -> Account | None:
        account = self.rows.get(user_id)
        if account is None:
            return None
        role = to_role if account.role == from_role else account.role
        return self.update(user_id, {"role": role}, end_sessions=True)

    def public_profile(self, user_id: int) -> dict[str, Any] | None:
        account = self.rows.get(user_id)
        return {"id": account.id, "username": account.username, "email": account.email} if account else None

    def public_page(self, limit: int, offset: int) -> list[dict[str, Any]]:
        ids = sorted(self.rows)[offset : offset + limit]
        return [p for p in map(self.public_profile, ids) if p is not None]

    def search(self, query: UserQuery) -> list[dict[str, Any]]:
        text = (query.text or "").lower()
        found = [
            a.public()
            for _, a in sorted(self.rows.items())
            if (text in a.username.lower() or text in a.email.lower()) and query.role in (None, a.role)
        ]
        return found[query.offset : query.offset + query.limit]

    def _refuse_duplicates(self, user_id: int, username: str, email: str) -> None:
        for other in self.rows.values():
            if other.id != user_id and (other.email == email or other.username.lower() == username.lower()):
                raise DuplicateUserError


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.users = FakeUsers()


@dataclass
class FakeLimiter:
    """Records how each attempt was settled; answers Blocked while `blocked_for` is set."""

    blocked_for: int | None = None
    settled: list[tuple[str, str, str]] = field(default_factory=list)

    def begin(self, email: str, ip: str) -> Attempt | Blocked:
        if self.blocked_for is not None:
            return Blocked(self.blocked_for)
        return Attempt(email, ip, charged=True)

    def failed(self, attempt: Attempt) -> None:
        self.settled.append(("failed", attempt.email, attempt.ip))

    def succeeded(self, attempt: Attempt) -> None:
        self.settled.append(("succeeded", attempt.email, attempt.ip))

    def abandoned(self, attempt: Attempt) -> None:
        self.settled.append(("abandoned", attempt.email, attempt.ip))


@dataclass
class FakeVersions:
    """`common.revocation.TokenVersions` in memory: the newest version published per user."""

    published: dict[int, int] = field(default_factory=dict)

    def publish(self, user_id: int, version: int, ttl_seconds: int) -> bool:
        self.published[user_id] = version
        return True


@dataclass
class FakeDirectory:
    ids: set[int] = field(default_factory=set)

    def add(self, user_id: int) -> None:
        self.ids.add(user_id)


@dataclass
class FakeMailer:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send_later(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))
