"""Self-service account rules: edit profile, change or reset a password, delete the account, become a
host, and the admins' user search. No HTTP here; every change that alters what a token may do raises the
user's token version (common/revocation.py), so older tokens stop working everywhere within 1 s."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from common import inputs
from common.auth import Identity
from common.errors import BadRequest, Conflict, Forbidden, NotFound
from user_service import account_repository as accounts
from user_service import validation
from user_service.mail import Mailer
from user_service.repository import DuplicateUserError
from user_service.resets import ResetTokens
from user_service.services import USER_EXISTS, USER_NOT_FOUND, UserDeps

log = logging.getLogger(__name__)

PROFILE_UPDATED = "Profile updated"
PASSWORD_CHANGED = "Password changed"
WRONG_PASSWORD = "Current password is incorrect"
RESET_SENT = "If that email is registered, a reset link is on its way"
RESET_DONE = "Password reset, you can log in now"
RESET_INVALID = "Invalid or expired reset link"
ACCOUNT_DELETED = "Account deleted"
NOW_HOST = "You are a host now"
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class AccountDeps:
    users: UserDeps
    mailer: Mailer
    resets: ResetTokens
    public_url: str


def update_profile(deps: AccountDeps, identity: Identity, body: dict[str, Any]) -> dict[str, Any]:
    changes = _profile_changes(body)
    try:
        user = accounts.update_profile(deps.users.db, identity.user_id, changes)
    except DuplicateUserError:
        raise Conflict(USER_EXISTS) from None
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return {**user, "message": PROFILE_UPDATED}


def change_password(deps: AccountDeps, identity: Identity, body: dict[str, Any]) -> dict[str, Any]:
    """Every other session ends; the caller gets a fresh token so this page stays signed in."""
    current = validation.required_string(body, "currentPassword")
    new = validation.valid_password(validation.required_string(body, "newPassword"))
    record = _verified(deps, identity.user_id, current)
    version = accounts.replace_password(deps.users.db, identity.user_id, deps.users.passwords.hash(new))
    token = _reissue(deps, identity.user_id, record.role, version)
    log.info("password changed", extra={"user.id": str(identity.user_id)})
    return {"message": PASSWORD_CHANGED, "token": token}


def request_reset(deps: AccountDeps, body: dict[str, Any]) -> None:
    """Mails a one-time link when the email is registered; the caller cannot tell whether it is."""
    email = validation.required_string(body, "email").strip().lower()
    if len(email) > validation.MAX_EMAIL_LENGTH:
        raise BadRequest("email is not a valid email address")
    record = accounts.account_by_email(deps.users.db, email)
    if record is None or record.password_hash == accounts.UNUSABLE_PASSWORD:
        return
    token = deps.resets.issue(record.id, record.password_hash, record.token_version)
    link = f"{deps.public_url.rstrip('/')}/#/reset?token={token}"
    minutes = deps.resets.ttl_seconds // 60
    deps.mailer.send_later(record.email, "Reset your Home Rental password", _reset_mail(link, minutes))
    log.info("password reset link sent", extra={"user.id": str(record.id)})


def confirm_reset(deps: AccountDeps, body: dict[str, Any]) -> None:
    raw = validation.required_string(body, "token")
    new = validation.valid_password(validation.required_string(body, "newPassword"))
    claim = deps.resets.claim(raw.strip())
    record = accounts.account(deps.users.db, claim.user_id) if claim else None
    if (
        claim is None
        or record is None
        or not deps.resets.matches(claim, record.password_hash, record.token_version)
    ):
        raise BadRequest(RESET_INVALID)
    version = accounts.replace_password(deps.users.db, record.id, deps.users.passwords.hash(new))
    _publish(deps, record.id, version)
    log.info("password reset", extra={"user.id": str(record.id)})


def delete_account(deps: AccountDeps, identity: Identity, body: dict[str, Any]) -> None:
    """Bookings keep the user id; the user row loses name, email and password (see user_service/README)."""
    _verified(deps, identity.user_id, validation.required_string(body, "password"))
    version = accounts.anonymise(deps.users.db, identity.user_id)
    _publish(deps, identity.user_id, version)
    log.info("account deleted and anonymised", extra={"user.id": str(identity.user_id)})


def become_host(deps: AccountDeps, identity: Identity) -> dict[str, Any]:
    promoted = accounts.promote_to_host(deps.users.db, identity.user_id)
    if promoted is None:
        raise NotFound(USER_NOT_FOUND)
    role, version = promoted
    log.info("became a host", extra={"user.id": str(identity.user_id)})
    return {"message": NOW_HOST, "role": role, "token": _reissue(deps, identity.user_id, role, version)}


def search_users(deps: AccountDeps, args: dict[str, str]) -> list[dict[str, Any]]:
    limit, offset = validation.page(args)
    query = inputs.text(args.get("q", ""), "q", max_length=MAX_QUERY_LENGTH, allow_empty=True).strip()
    role = args.get("role") or None
    if role is not None:
        role = validation.role({"role": role})
    return accounts.search_users(deps.users.db, query or None, role, limit, offset)


def _profile_changes(body: dict[str, Any]) -> dict[str, str]:
    changes = {}
    if body.get("username") is not None:
        changes["username"] = validation.valid_username(validation.required_string(body, "username"))
    if body.get("email") is not None:
        changes["email"] = validation.valid_email(validation.required_string(body, "email"))
    if not changes:
        raise BadRequest("username or email is required")
    return changes


def _verified(deps: AccountDeps, user_id: int, password: str) -> accounts.AccountRecord:
    record = accounts.account(deps.users.db, user_id)
    if record is None:
        raise NotFound(USER_NOT_FOUND)
    if not deps.users.passwords.verify(record.password_hash, password):
        raise Forbidden(WRONG_PASSWORD)
    return record


def _reissue(deps: AccountDeps, user_id: int, role: str, version: int | None) -> str:
    if version is None:
        raise NotFound(USER_NOT_FOUND)
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
