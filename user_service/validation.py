"""Input rules for the user API; each failure is a 400 that says what is wrong."""

from __future__ import annotations

import re
from typing import Any

from common import inputs
from common.errors import BadRequest
from user_service.models import (
    ROLES,
    Credentials,
    PasswordChange,
    Registration,
    ResetConfirmation,
    UserQuery,
)

USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,32}")
EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_EMAIL_LENGTH = 254
PASSWORD_LENGTH = (8, 128)
MAX_PAGE = 1000
MAX_OFFSET = 10_000_000
DEFAULT_PAGE = 100
MAX_QUERY_LENGTH = 100  # the admins' user search text
MAX_FIELD_LENGTH = 1000  # longer than any valid username, email, password or role


def required_string(body: dict[str, Any], field: str) -> str:
    if field not in body or body[field] is None:
        raise BadRequest(f"{field} is required")
    value = body[field]
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if len(value) > MAX_FIELD_LENGTH:
        raise BadRequest(f"{field} must be at most {MAX_FIELD_LENGTH} characters")
    if not inputs.storable(value):
        raise BadRequest(f"{field} contains characters that are not allowed")
    return value


def valid_username(raw: str) -> str:
    username = raw.strip()
    if not USERNAME.fullmatch(username):
        raise BadRequest("username must be 3-32 characters: letters, digits, '_', '.' or '-'")
    return username


def valid_email(raw: str) -> str:
    email = raw.strip().lower()  # after lower(): the Kelvin sign becomes a "k", hence the ASCII check
    if len(email) > MAX_EMAIL_LENGTH or not raw.isascii() or not EMAIL.fullmatch(email):
        raise BadRequest("email is not a valid email address")
    return email


def valid_password(password: str) -> str:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise BadRequest(f"password must be {low}-{high} characters")
    return password


def registration(body: dict[str, Any]) -> Registration:
    username, email, password = (required_string(body, f) for f in ("username", "email", "password"))
    return Registration(valid_username(username), valid_email(email), valid_password(password))


def credentials(body: dict[str, Any]) -> Credentials:
    email, password = (required_string(body, f) for f in ("email", "password"))
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:  # no account can have it; keeps rate-limit keys bounded
        raise BadRequest("email is not a valid email address")
    return Credentials(email, password)


def profile_changes(body: dict[str, Any]) -> dict[str, str]:
    changes = {}
    if body.get("username") is not None:
        changes["username"] = valid_username(required_string(body, "username"))
    if body.get("email") is not None:
        changes["email"] = valid_email(required_string(body, "email"))
    if not changes:
        raise BadRequest("username or email is required")
    return changes


def password_change(body: dict[str, Any]) -> PasswordChange:
    current = required_string(body, "currentPassword")
    return PasswordChange(current, valid_password(required_string(body, "newPassword")))


def reset_email(body: dict[str, Any]) -> str:
    email = required_string(body, "email").strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise BadRequest("email is not a valid email address")
    return email


def reset_confirmation(body: dict[str, Any]) -> ResetConfirmation:
    token = required_string(body, "token")
    return ResetConfirmation(token.strip(), valid_password(required_string(body, "newPassword")))


def user_query(args: dict[str, str]) -> UserQuery:
    limit, offset = page(args)
    text = inputs.text(args.get("q", ""), "q", max_length=MAX_QUERY_LENGTH, allow_empty=True).strip()
    chosen = role({"role": args["role"]}) if args.get("role") else None
    return UserQuery(text or None, chosen, limit, offset)


def role(body: dict[str, Any]) -> str:
    value = required_string(body, "role").strip()
    if value not in ROLES:
        raise BadRequest(f"role must be one of: {', '.join(ROLES)}")
    return value


def page(args: dict[str, str]) -> tuple[int, int]:
    """`(limit, offset)` from the query string: limit 1..1000 (default 100), offset 0..10,000,000."""
    limit = _query_int(args, "limit", DEFAULT_PAGE)
    offset = _query_int(args, "offset", 0)
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be an integer between 1 and {MAX_PAGE}")
    if offset < 0:
        raise BadRequest("offset must be a non-negative integer")
    if offset > MAX_OFFSET:
        raise BadRequest(f"offset must be at most {MAX_OFFSET}")
    return limit, offset


def _query_int(args: dict[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    return inputs.int_text(
        raw, name, low=-inputs.MAX_ID, high=inputs.MAX_ID, message=f"{name} must be an integer"
    )
