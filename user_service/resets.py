"""One-time password reset links without a table: the link is signed over the user's current password
hash and token version, so it stops working the moment the password changes (or any session ends)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

TOKEN = re.compile(r"([1-9][0-9]{0,9})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})", re.ASCII)


@dataclass(frozen=True)
class ResetClaim:
    user_id: int
    expires: int
    signature: str


class ResetTokens:
    def __init__(self, secret: str, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(self, user_id: int, password_hash: str, token_version: int) -> str:
        expires = int(self._clock()) + self._ttl
        return f"{user_id}.{expires}.{self._sign(user_id, expires, password_hash, token_version)}"

    def claim(self, token: str) -> ResetClaim | None:
        """The user id a well-formed, unexpired token names (its signature is checked by `matches`)."""
        match = TOKEN.fullmatch(token)
        if match is None:
            return None
        claim = ResetClaim(int(match[1]), int(match[2]), match[3])
        return claim if claim.expires >= self._clock() else None

    def matches(self, claim: ResetClaim, password_hash: str, token_version: int) -> bool:
        expected = self._sign(claim.user_id, claim.expires, password_hash, token_version)
        return hmac.compare_digest(expected, claim.signature)

    def _sign(self, user_id: int, expires: int, password_hash: str, token_version: int) -> str:
        payload = f"password-reset|{user_id}|{expires}|{password_hash}|{token_version}".encode()
        digest = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
