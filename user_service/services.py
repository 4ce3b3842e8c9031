"""User rules: registration, login, profile, listing and roles. Typed inputs in, domain exceptions
(`user_service.errors`) out; no HTTP here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.identity import Identity
from common.revocation import TokenVersions
from user_service import errors, repository
from user_service.database import UserDatabase
from user_service.directory import UserDirectory
from user_service.limiter import Blocked, LoginLimiter
from user_service.models import Credentials, Registration
from user_service.passwords import Passwords
from user_service.tokens import TokenSigner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserDeps:
    db: UserDatabase
    passwords: Passwords
    signer: TokenSigner
    limiter: LoginLimiter
    versions: TokenVersions | None = None
    directory: UserDirectory | None = None


def register(deps: UserDeps, new: Registration) -> None:
    password_hash = deps.passwords.hash(new.password)
    try:
        user_id = repository.add_user(deps.db, new.username, new.email, password_hash)
    except repository.DuplicateUserError:
        raise errors.UserExists from None
    if deps.directory is not None:
        deps.directory.add(user_id)
    log.info("user registered", extra={"user.id": str(user_id)})


def login(deps: UserDeps, creds: Credentials, client_ip: str) -> str:
    """A signed token for valid credentials; the same refusal (and cost) for unknown email or bad password."""
    attempt = deps.limiter.begin(creds.email, client_ip)
    if isinstance(attempt, Blocked):
        raise errors.LoginThrottled(attempt.retry_after)
    record = repository.login_record(deps.db, creds.email)
    verified = deps.passwords.verify(record.password_hash if record else None, creds.password)
    if record is None or not verified:
        deps.limiter.failed(attempt)
        raise errors.InvalidCredentials
    deps.limiter.succeeded(attempt)
    if deps.passwords.needs_rehash(record.password_hash):
        repository.set_password_hash(deps.db, record.id, deps.passwords.hash(creds.password))
    return deps.signer.issue(record.id, record.role, record.token_version)


def profile(deps: UserDeps, user_id: int) -> dict[str, Any]:
    user = repository.public_profile(deps.db, user_id)
    if user is None:
        raise errors.UserNotFound
    return user


def list_users(deps: UserDeps, limit: int, offset: int) -> list[dict[str, Any]]:
    return repository.public_users(deps.db, limit, offset)


def change_role(deps: UserDeps, user_id: int, role: str) -> dict[str, Any]:
    user = repository.set_role(deps.db, user_id, role)
    if user is None:
        raise errors.UserNotFound
    _publish_version(deps, user_id, user.pop("token_version"))
    log.info("role changed to %s", role, extra={"user.target_id": str(user_id)})
    return user


def logout(deps: UserDeps, identity: Identity) -> None:
    """Ends every session of the user: all their tokens stop working within the revocation bound."""
    version = repository.revoke_tokens(deps.db, identity.user_id)
    if version is None:
        raise errors.UserNotFound
    _publish_version(deps, identity.user_id, version)


def refresh(deps: UserDeps, identity: Identity) -> str:
    """A fresh token for a live session, with the role the user has now."""
    record = repository.token_record(deps.db, identity.user_id)
    if record is None or identity.token_version < record.token_version:
        raise errors.InvalidSession
    return deps.signer.issue(identity.user_id, record.role, record.token_version)


def _publish_version(deps: UserDeps, user_id: int, version: int) -> None:
    if deps.versions is not None:
        deps.versions.publish(user_id, version, deps.signer.ttl_seconds)
