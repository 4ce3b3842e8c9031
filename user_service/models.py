"""The user database's SQLAlchemy 2 model (the schema itself is owned by the Alembic migrations), and the
typed inputs of the rules (parsed from requests by `validation.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from common.identity import ROLES

__all__ = [
    "ROLES",
    "Account",
    "Base",
    "Credentials",
    "PasswordChange",
    "Registration",
    "ResetConfirmation",
    "User",
    "UserQuery",
]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(32), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, server_default="user")
    token_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), onupdate=func.now()
    )


@dataclass(frozen=True)
class Account:
    """A user row as the rules see it; `token_version` rises whenever older tokens must stop working."""

    id: int
    username: str
    email: str
    role: str
    password_hash: str
    token_version: int = 0

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email, "role": self.role}


@dataclass(frozen=True)
class Registration:
    username: str
    email: str
    password: str


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


@dataclass(frozen=True)
class PasswordChange:
    current: str
    new: str


@dataclass(frozen=True)
class ResetConfirmation:
    token: str
    new_password: str


@dataclass(frozen=True)
class UserQuery:
    text: str | None
    role: str | None
    limit: int
    offset: int
