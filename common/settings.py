"""Typed settings read from the environment, one subclass per service."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.identity import TOKEN_ISSUER

DEFAULT_SECRET_KEY = "dev-insecure-secret-key"


class ConfigurationError(RuntimeError):
    """The settings are unsafe or incomplete for the chosen environment."""


def read_key(inline: str | None, path: str | None) -> str | None:
    """A PEM key given inline wins over one given as a file path."""
    if inline:
        return inline.replace("\\n", "\n")
    if path:
        return Path(path).read_text()
    return None


class BaseServiceSettings(BaseSettings):
    """Settings every process shares; services subclass and add their own fields."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = "development"
    service_name: str = "service"
    log_level: str = "INFO"
    secret_key: str = DEFAULT_SECRET_KEY
    max_body_bytes: int = 1024 * 1024
    jwt_issuer: str = TOKEN_ISSUER
    jwt_public_key: str | None = None
    jwt_public_key_file: str | None = None
    # Below the gateway's 5 s read timeout: a runaway statement ends as a 503 before the gateway gives up.
    db_statement_timeout: float = 3.0

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> BaseServiceSettings:
        if self.env == "production" and self.secret_key == DEFAULT_SECRET_KEY:
            raise ConfigurationError("SECRET_KEY must be set to a non-default value when ENV=production")
        return self

    @property
    def public_key_pem(self) -> str | None:
        return read_key(self.jwt_public_key, self.jwt_public_key_file)

    def require_public_key(self) -> str:
        pem = self.public_key_pem
        if not pem:
            raise ConfigurationError("JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE must be set")
        return pem


def split_csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
