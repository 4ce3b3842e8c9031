"""Self-service account rules: edit profile, change or reset a password, delete the account, become a
host, and the admins' user search. No HTTP here; every change that alters what a token may do raises the
user's token version (common/revocation.py), so older tokens stop working everywhere within 1 s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common.identity import Identity
from user_service import errors
from user_service.mail import Mailer
from user_service.models import Account, PasswordChange, ResetConfirmation, UserQuery
from user_service.ports import DuplicateUserError
from user_service.resets import ResetTokens
from user_service.services import UserDeps, publish_version

log = logging.getLogger(__name__)
UNUSABLE_PASSWORD = "!deleted"  # not an argon2 hash: every verify fails


@dataclass(frozen=True)
class AccountDeps:
    users: UserDeps
    mailer: Mailer
    resets: ResetTokens
    public_url: str


def update_profile(deps: AccountDeps, identity: Identity, changes: dict[str, str]) -> dict[str, Any]:
    try:
        account = deps.users.uow.users.update(identity.user_id, changes, end_sessions=False)
    except DuplicateUserError:
        raise errors.UserExists from None
    if account is None:
        raise errors.UserNotFound
    return account.public()


def change_password(deps: AccountDeps, identity: Identity, change: PasswordChange) -> str:
    """Every other session ends; the caller gets a fresh token (returned) so this page stays signed in."""
    _verified(deps, identity.user_id, change.current)
    token = _reissue(deps, _new_password(deps, identity.user_id, change.new))
    log.info("password changed", extra={"user.id": str(identity.user_id)})
    return token


def request_reset(deps: AccountDeps, email: str) -> None:
    """Mails a one-time link when the email is registered; the caller cannot tell whether it is."""
    record = deps.users.uow.users.by_email(email)
    if record is None or record.password_hash == UNUSABLE_PASSWORD:
        return
    token = deps.resets.issue(record.id, record.password_hash, record.token_version)
    link = f"{deps.public_url.rstrip('/')}/#/reset?token={token}"
    minutes = deps.resets.ttl_seconds // 60
    deps.mailer.send_later(record.email, "Reset your Home Rental password", _reset_mail(link, minutes))
    log.info("password reset link sent", extra={"user.id": str(record.id)})


def confirm_reset(deps: AccountDeps, reset: ResetConfirmation) -> None:
    claim = deps.resets.claim(reset.token)
    record = deps.users.uow.users.get(claim.user_id) if claim else None
    if (
        claim is None
        or record is None
        or not deps.resets.matches(claim, record.password_hash, record.token_version)
    ):
        raise errors.ResetLinkInvalid
    _sessions_ended(deps, _new_password(deps, record.id, reset.new_password))
    log.info("password reset", extra={"user.id": str(record.id)})


def delete_account(deps: AccountDeps, identity: Identity, password: str) -> None:
    """Bookings keep the user id; the user row loses name, email and password (see user_service/README)."""
    _verified(deps, identity.user_id, password)
    user_id = identity.user_id
    anonymous = {
        "username": f"deleted_{user_id}",
        "email": f"deleted-{user_id}@deleted.invalid",
        "password_hash": UNUSABLE_PASSWORD,
        "role": "user",
    }
    _sessions_ended(deps, deps.users.uow.users.update(user_id, anonymous, end_sessions=True))
    log.info("account deleted and anonymised", extra={"user.id": str(identity.user_id)})


def become_host(deps: AccountDeps, identity: Identity) -> tuple[str, str]:
    """(role, fresh token): the old tokens, with the old role, stop working."""
    promoted = deps.users.uow.users.promote(identity.user_id, from_role="user", to_role="host")
    token = _reissue(deps, promoted)
    log.info("became a host", extra={"user.id": str(identity.user_id)})
    return promoted.role, token  # type: ignore[union-attr]  # _reissue raised if None


def search_users(deps: AccountDeps, query: UserQuery) -> list[dict[str, Any]]:
    return deps.users.uow.users.search(query)


def _verified(deps: AccountDeps, user_id: int, password: str) -> Account:
    account = deps.users.uow.users.get(user_id)
    if account is None:
        raise errors.UserNotFound
    if not deps.users.passwords.verify(account.password_hash, password):
        raise errors.WrongPassword
    return account


def _new_password(deps: AccountDeps, user_id: int, password: str) -> Account | None:
    """New hash and a new token version: every session ends."""
    new_hash = deps.users.passwords.hash(password)
    return deps.users.uow.users.update(user_id, {"password_hash": new_hash}, end_sessions=True)


def _sessions_ended(deps: AccountDeps, account: Account | None) -> Account:
    """Publishes the account's new token version: older tokens stop working everywhere."""
    if account is None:
        raise errors.UserNotFound
    publish_version(deps.users, account.id, account.token_version)
    return account


def _reissue(deps: AccountDeps, account: Account | None) -> str:
    """A token with the account's new token version (the older ones stop working)."""
    account = _sessions_ended(deps, account)
    return deps.users.signer.issue(account.id, account.role, account.token_version)


def _reset_mail(link: str, minutes: int) -> str:
    return (
        "Someone asked to reset the password of your Home Rental account.\n\n"
        f"Open this link within {minutes} minutes to choose a new password (it works once):\n{link}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.\n"
    )
