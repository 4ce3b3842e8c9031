"""What the user rules need from the outside world, as protocols: `repository.SqlUnitOfWork` implements
them on PostgreSQL (primary/replica routing in `database.py`), `tests/support/user_fakes.py` in memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from user_service.models import Account, UserQuery


class DuplicateUserError(Exception):
    """The email or the username (case-insensitively) is taken."""


class UserRepository(Protocol):
    def add(self, username: str, email: str, password_hash: str, role: str = "user") -> int:
        """The new id; raises DuplicateUserError (the unique indexes decide, so races are safe)."""
        ...

    def get(self, user_id: int) -> Account | None:
        """As the primary has it now: a password check or a refresh must see a change made a moment ago."""
        ...

    def by_email(self, email: str) -> Account | None: ...

    def update(self, user_id: int, values: Mapping[str, Any], *, end_sessions: bool) -> Account | None:
        """Sets `values` (raising the token version with `end_sessions`); the account after, or None.
        Raises DuplicateUserError when a new username or email is taken."""
        ...

    def promote(self, user_id: int, from_role: str, to_role: str) -> Account | None:
        """`to_role` if the role is `from_role` now (any other role is kept), in one statement; the token
        version rises either way. The account after, or None."""
        ...

    def public_profile(self, user_id: int) -> dict[str, Any] | None: ...
    def public_page(self, limit: int, offset: int) -> list[dict[str, Any]]: ...
    def search(self, query: UserQuery) -> list[dict[str, Any]]: ...


class UnitOfWork(Protocol):
    users: UserRepository


class LoginGate(Protocol):
    """The login limiter (`limiter.LoginLimiter`): `begin` answers an Attempt or a Blocked."""

    def begin(self, email: str, ip: str) -> Any: ...
    def failed(self, attempt: Any) -> None: ...
    def succeeded(self, attempt: Any) -> None: ...
    def abandoned(self, attempt: Any) -> None: ...


class VersionPublisher(Protocol):
    """`common.revocation.TokenVersions`: tells every verifier the user's oldest valid token version."""

    def publish(self, user_id: int, version: int, ttl_seconds: int) -> object: ...


class Directory(Protocol):
    def add(self, user_id: int) -> None: ...
