"""User rules: registration, login, profile, listing and roles. Typed inputs and a unit of work in
(`ports.py`), domain exceptions (`user_service.errors`) out; no HTTP here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.identity import Identity
from user_service import errors
from user_service.limiter import Blocked
from user_service.models import Credentials, Registration
from user_service.passwords import Passwords
from user_service.ports import Directory, DuplicateUserError, LoginGate, UnitOfWork, VersionPublisher
from user_service.tokens import TokenSigner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserDeps:
    uow: UnitOfWork
    passwords: Passwords
    signer: TokenSigner
    limiter: LoginGate
    versions: VersionPublisher | None = None
    directory: Directory | None = None


def register(deps: UserDeps, new: Registration) -> None:
    password_hash = deps.passwords.hash(new.password)
    try:
        user_id = deps.uow.users.add(new.username, new.email, password_hash)
    except DuplicateUserError:
        raise errors.UserExists from None
    if deps.directory is not None:
        deps.directory.add(user_id)
    log.info("user registered", extra={"user.id": str(user_id)})


def login(deps: UserDeps, creds: Credentials, client_ip: str) -> str:
    """A signed token for valid credentials; the same refusal (and cost) for unknown email or bad password."""
    attempt = deps.limiter.begin(creds.email, client_ip)
    if isinstance(attempt, Blocked):
        raise errors.LoginThrottled(attempt.retry_after)
    account = deps.uow.users.by_email(creds.email)
    try:
        verified = deps.passwords.verify(account.password_hash if account else None, creds.password)
    except errors.PasswordChecksBusy:
        deps.limiter.abandoned(attempt)  # nothing was checked: the attempt is no guess
        raise
    if account is None or not verified:
        deps.limiter.failed(attempt)
        raise errors.InvalidCredentials
    deps.limiter.succeeded(attempt)
    if deps.passwords.needs_rehash(account.password_hash):
        _rehash(deps, account.id, creds.password)
    return deps.signer.issue(account.id, account.role, account.token_version)


def _rehash(deps: UserDeps, user_id: int, password: str) -> None:
    """Stronger parameters for a password just verified; when the threads are busy, at a later login."""
    try:
        new_hash = deps.passwords.hash(password)
    except errors.PasswordChecksBusy:
        return
    deps.uow.users.update(user_id, {"password_hash": new_hash}, end_sessions=False)


def profile(deps: UserDeps, user_id: int) -> dict[str, Any]:
    user = deps.uow.users.public_profile(user_id)
    if user is None:
        raise errors.UserNotFound
    return user


def list_users(deps: UserDeps, limit: int, offset: int) -> list[dict[str, Any]]:
    return deps.uow.users.public_page(limit, offset)


def change_role(deps: UserDeps, user_id: int, role: str) -> dict[str, Any]:
    """The new role, and a new token version: tokens carrying the old role stop working."""
    account = deps.uow.users.update(user_id, {"role": role}, end_sessions=True)
    if account is None:
        raise errors.UserNotFound
    publish_version(deps, account.id, account.token_version)
    log.info("role changed to %s", role, extra={"user.target_id": str(user_id)})
    return account.public()


def logout(deps: UserDeps, identity: Identity) -> None:
    """Ends every session of the user: all their tokens stop working within the revocation bound."""
    account = deps.uow.users.update(identity.user_id, {}, end_sessions=True)
    if account is None:
        raise errors.UserNotFound
    publish_version(deps, account.id, account.token_version)


def refresh(deps: UserDeps, identity: Identity) -> str:
    """A fresh token for a live session, with the role the user has now."""
    account = deps.uow.users.get(identity.user_id)
    if account is None or identity.token_version < account.token_version:
        raise errors.InvalidSession
    return deps.signer.issue(identity.user_id, account.role, account.token_version)


def publish_version(deps: UserDeps, user_id: int, version: int) -> None:
    if deps.versions is not None:
        deps.versions.publish(user_id, version, deps.signer.ttl_seconds)
