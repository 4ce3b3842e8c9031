"""Who is calling, as every layer sees it: plain data, no Flask (service layers import this, not `common.auth`)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("user", "host", "admin")


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
