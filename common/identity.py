"""Who is calling, as every layer sees it: plain data, no Flask (service layers import this, not `common.auth`)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("user", "host", "admin")  # the users table's ck_users_role check lists the same three
TOKEN_ISSUER = "home-rental-platform"  # the JWT `iss` user_service signs and every verifier expects
TOKEN_KEY_ID = "user-service-1"  # the JWT `kid` of the signing key


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
