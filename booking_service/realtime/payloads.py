"""What the Socket.IO events accept: each payload field checked and bounded before it reaches a store."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from common.auth import bearer_token

MAX_PROPERTY_ID = 2**63 - 1
MAX_NOTIFICATION_BYTES = 8 * 1024
MAX_TOKEN_CHARS = 4096
_DIGITS = re.compile(r"[0-9]{1,19}")


class BadPayloadError(Exception):
    """The event's payload is not what the event needs."""


def property_id_from(payload: Any) -> int:
    """`payload["property_id"]` as a positive integer (an int, or a string of digits)."""
    if not isinstance(payload, dict):
        raise BadPayloadError("payload must be an object")
    value = payload.get("property_id")
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PROPERTY_ID:
        raise BadPayloadError("property_id must be a positive integer")
    return value


def notification_from(payload: dict[str, Any]) -> Any:
    value = payload.get("notification")
    if value is None or value == "" or value == {} or value == []:
        raise BadPayloadError("notification is missing")
    if len(json.dumps(value, separators=(",", ":"))) > MAX_NOTIFICATION_BYTES:
        raise BadPayloadError("notification is too large")
    return value


def token_from(auth: Any) -> str | None:
    """The JWT from the `auth` payload, else from the `Authorization` header; never from the URL."""
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token:
        token = bearer_token(request.headers.get("Authorization"))
    return token if isinstance(token, str) and 0 < len(token) <= MAX_TOKEN_CHARS else None
