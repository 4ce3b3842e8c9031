"""User service settings, read from the environment (see docs/CONVENTIONS.md)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field, model_validator

from common import ports
from common.identity import TOKEN_KEY_ID
from common.settings import BaseServiceSettings, ConfigurationError, read_key, split_csv
from user_service.limiter import LoginLimits
from user_service.passwords import WAIT_SECONDS


class UserSettings(BaseServiceSettings):
    service_name: str = "user_service"
    user_db_url: str = f"postgresql+psycopg://postgres@127.0.0.1:{ports.POSTGRES_PRIMARY}/users"
    user_db_replica_urls: str = ""
    redis_url: str | None = None
    jwt_private_key: str | None = None
    jwt_private_key_file: str | None = None
    jwt_key_id: str = TOKEN_KEY_ID
    jwt_ttl_seconds: int = 3600
    # Login limits (user_service/limiter.py says why these numbers): backoff per (email, client IP)
    # after LOGIN_FREE_FAILURES, ceilings per email and per client IP per LOGIN_WINDOW_SECONDS.
    login_free_failures: int = 5
    login_backoff_max_seconds: int = 300
    login_max_failures: int = 100
    login_max_failures_per_ip: int = 1000
    login_window_seconds: int = 3600
    trusted_proxies: str = "127.0.0.1"
    replica_retry_seconds: float = 5.0
    # Public profiles kept in process (retired on every instance by Redis pub/sub when the user row
    # changes) at most this long; 0 reads every profile from the database. Needs REDIS_URL.
    profile_copy_seconds: float = Field(default=5.0, ge=0)
    db_pool_size: int = 10
    # OWASP's argon2id baseline (19 MiB, t=2, p=1): one verify ≈ 18 ms CPU on the 2-core dev machines.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    # A hash or check not done within this answers 429 (user_service/passwords.py WAIT_SECONDS: why).
    password_wait_seconds: float = Field(default=WAIT_SECONDS, gt=0, le=60)
    # Password reset mail: no SMTP_HOST means links are logged as unsent (make run starts a local sink).
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "Home Rental <no-reply@home-rental.invalid>"
    public_url: str = ports.PUBLIC_URL
    password_reset_ttl_seconds: int = 1800

    @model_validator(mode="after")
    def _refuse_production_without_private_key(self) -> UserSettings:
        if self.env == "production" and not self.private_key_pem:
            raise ConfigurationError("JWT_PRIVATE_KEY(_FILE) must be set when ENV=production")
        if self.jwt_ttl_seconds <= 0 or self.login_window_seconds <= 0:
            raise ConfigurationError("JWT_TTL_SECONDS and LOGIN_WINDOW_SECONDS must be positive")
        if min(self.login_free_failures, self.login_backoff_max_seconds, self.login_max_failures,
               self.login_max_failures_per_ip) <= 0:  # fmt: skip
            raise ConfigurationError("LOGIN_* limits must be positive")
        return self

    @property
    def login_limits(self) -> LoginLimits:
        return LoginLimits(
            free_failures=self.login_free_failures,
            backoff_max_seconds=self.login_backoff_max_seconds,
            max_per_email=self.login_max_failures,
            max_per_ip=self.login_max_failures_per_ip,
            window_seconds=self.login_window_seconds,
        )

    @property
    def private_key_pem(self) -> str | None:
        return read_key(self.jwt_private_key, self.jwt_private_key_file)

    @property
    def replica_urls(self) -> list[str]:
        return split_csv(self.user_db_replica_urls)

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Addresses or CIDR ranges (scaled gateways in compose share a subnet, not fixed IPs)."""
        return tuple(ip_network(item, strict=False) for item in split_csv(self.trusted_proxies))
