"""Gateway settings, read from the environment (see docs/CONVENTIONS.md)."""

from __future__ import annotations

from typing import Literal

from common import ports
from common.settings import BaseServiceSettings, split_csv


class GatewaySettings(BaseServiceSettings):
    service_name: str = "gateway"
    user_service_urls: str = ports.instance_urls("user_service")
    booking_service_urls: str = ports.instance_urls("booking_service")
    reports_service_urls: str = ports.instance_urls("etl_reports")
    discovery_backend: Literal["static", "consul", "dns"] = "static"
    consul_host: str = "127.0.0.1"
    consul_port: int = 8500
    health_check_interval: float = 0.5
    health_check_timeout: float = 0.5
    redis_url: str | None = None
    # Public property reads answered from the gateway's own copies, retired by booking_service's pub/sub
    # (gateway/copies.py); needs redis_url.
    answer_copies: bool = True
    rate_limit: str = "300/minute"
    user_rate_limit: str = "300/minute"
    rate_limit_enabled: bool = True
    trusted_proxy_count: int = 1
    trusted_proxies: str = "127.0.0.1"
    upstream_connect_timeout: float = 0.5
    upstream_read_timeout: float = 5.0
    # GET and HEAD are answered (or refused with a 504) within this: nginx takes a gateway silent on a
    # read for 1.5 s as frozen, so a healthy gateway must never be that slow.
    upstream_read_deadline: float = 1.2
    upstream_max_retries: int = 2
    # An idempotent request unanswered this long is also sent to another instance (retry budget).
    upstream_hedge_after: float = 0.5
    upstream_pool_size: int = 32
    breaker_failure_threshold: int = 5
    breaker_reset_timeout: float = 2.0
    cors_origins: str = f"http://localhost:{ports.NGINX_HTTP},{ports.PUBLIC_URL}"

    def service_urls(self) -> dict[str, list[str]]:
        return {
            "user_service": split_csv(self.user_service_urls),
            "booking_service": split_csv(self.booking_service_urls),
            "etl_reports": split_csv(self.reports_service_urls),
        }

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(split_csv(self.cors_origins))
