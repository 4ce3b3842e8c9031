"""Self-service account rules: edit profile, change or reset a password, delete the account, become a
host, and the admins' user search. No HTTP here; every change that alters what a token may do raises the
user's token version (common/revocation.py), so older tokens stop working everywhere within 1 s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.identity import Identity
from user_service import account_repository as accounts
from user_service import errors
from user_service.mail import Mailer
from user_service.models import PasswordChange, ResetConfirmation, UserQuery
from user_service.repository import DuplicateUserError
from user_service.resets import ResetTokens
from user_service.services import UserDeps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountDeps:
    users: UserDeps
    mailer: Mailer
    resets: ResetTokens
    public_url: str


def update_profile(deps: AccountDeps, identity: Identity, changes: dict[str, str]) -> dict[str, Any]:
    try:
        user = accounts.update_profile(deps.users.db, identity.user_id, changes)
    except DuplicateUserError:
        raise errors.UserExists from None
    if user is None:
        raise errors.UserNotFound
    return user


def change_password(deps: AccountDeps, identity: Identity, change: PasswordChange) -> str:
    """Every other session ends; the caller gets a fresh token (returned) so this page stays signed in."""
    record = _verified(deps, identity.user_id, change.current)
    new_hash = deps.users.passwords.hash(change.new)
    version = accounts.replace_password(deps.users.db, identity.user_id, new_hash)
    token = _reissue(deps, identity.user_id, record.role, version)
    log.info("password changed", extra={"user.id": str(identity.user_id)})
    return token


def request_reset(deps: AccountDeps, email: str) -> None:
    """Mails a one-time link when the email is registered; the caller cannot tell whether it is."""
    record = accounts.account_by_email(deps.users.db, email)
    if record is None or record.password_hash == accounts.UNUSABLE_PASSWORD:
        return
    token = deps.resets.issue(record.id, record.password_hash, record.token_version)
    link = f"{deps.public_url.rstrip('/')}/#/reset?token={token}"
    minutes = deps.resets.ttl_seconds // 60
    deps.mailer.send_later(record.email, "Reset your Home Rental password", _reset_mail(link, minutes))
    log.info("password reset link sent", extra={"user.id": str(record.id)})


def confirm_reset(deps: AccountDeps, reset: ResetConfirmation) -> None:
    claim = deps.resets.claim(reset.token)
    record = accounts.account(deps.users.db, claim.user_id) if claim else None
    if (
        claim is None
        or record is None
        or not deps.resets.matches(claim, record.password_hash, record.token_version)
    ):
        raise errors.ResetLinkInvalid
    version = accounts.replace_password(
        deps.users.db, record.id, deps.users.passwords.hash(reset.new_password)
    )
    _publish(deps, record.id, version)
    log.info("password reset", extra={"user.id": str(record.id)})


def delete_account(deps: AccountDeps, identity: Identity, password: str) -> None:
    """Bookings keep the user id; the user row loses name, email and password (see user_service/README)."""
    _verified(deps, identity.user_id, password)
    version = accounts.anonymise(deps.users.db, identity.user_id)
    _publish(deps, identity.user_id, version)
    log.info("account deleted and anonymised", extra={"user.id": str(identity.user_id)})


def become_host(deps: AccountDeps, identity: Identity) -> tuple[str, str]:
    """(role, fresh token): the old tokens, with the old role, stop working."""
    promoted = accounts.promote_to_host(deps.users.db, identity.user_id)
    if promoted is None:
        raise errors.UserNotFound
    role, version = promoted
    log.info("became a host", extra={"user.id": str(identity.user_id)})
    return role, _reissue(deps, identity.user_id, role, version)


def search_users(deps: AccountDeps, query: UserQuery) -> list[dict[str, Any]]:
    return accounts.search_users(deps.users.db, query.text, query.role, query.limit, query.offset)


def _verified(deps: AccountDeps, user_id: int, password: str) -> accounts.AccountRecord:
    record = accounts.account(deps.users.db, user_id)
    if record is None:
        raise errors.UserNotFound
    if not deps.users.passwords.verify(record.password_hash, password):
        raise errors.WrongPassword
    return record


def _reissue(deps: AccountDeps, user_id: int, role: str, version: int | None) -> str:
    if version is None:
        raise errors.UserNotFound
    _publish(deps, user_id, version)
    return deps.users.signer.issue(user_id, role, version)


def _publish(deps: AccountDeps, user_id: int, version: int | None) -> None:
    if version is not None and deps.users.versions is not None:
        deps.users.versions.publish(user_id, version, deps.users.signer.ttl_seconds)


def _reset_mail(link: str, minutes: int) -> str:
    return (
        "Someone asked to reset the password of your Home Rental account.\n\n"
        f"Open this link within {minutes} minutes to choose a new password (it works once):\n{link}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.\n"
    )
