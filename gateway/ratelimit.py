"""Per-IP and per-user rate limits in Redis, shared by every gateway instance; Redis down → allow."""

from __future__ import annotations

import functools
import logging
import math
import time

from flask import Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded

from common.errors import error_response
from gateway.edge import caller_identity
from gateway.settings import GatewaySettings

REDIS_TIMEOUTS = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}


def client_ip() -> str:
    return request.remote_addr or "unknown"


def user_key() -> str:
    identity = caller_identity()
    return f"user:{identity.user_id}" if identity else "anonymous"


def init_rate_limits(app: Flask, settings: GatewaySettings) -> Limiter | None:
    if not settings.rate_limit_enabled:
        return None
    storage = settings.redis_url or "memory://"
    limiter = Limiter(
        key_func=client_ip,
        storage_uri=storage,
        storage_options=REDIS_TIMEOUTS if storage.startswith("redis") else {},
        strategy="fixed-window",
        key_prefix="gateway",
        headers_enabled=False,  # Retry-After is set on 429s only, see _too_many_requests
        swallow_errors=True,  # a rate-limit store outage must not become an API outage
        application_limits=[
            ApplicationLimit(settings.rate_limit, key_function=client_ip, scope="ip"),
            ApplicationLimit(
                settings.user_rate_limit,
                key_function=user_key,
                scope="user",
                exempt_when=lambda: caller_identity() is None,
            ),
        ],
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, functools.partial(_too_many_requests, limiter))
    # Flask-Limiter logs a full traceback per request while Redis is down; one line is enough.
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, _OneLineErrors) for f in limiter_log.filters):
        limiter_log.addFilter(_OneLineErrors())
    return limiter


def _too_many_requests(limiter: Limiter, error: RateLimitExceeded) -> Response:
    try:
        reset_at = limiter.current_limit.reset_at if limiter.current_limit else 0
    except Exception:  # the store vanished between the hit and this lookup
        reset_at = 0
    window = error.limit.limit.get_expiry()
    retry_after = min(max(1, math.ceil(reset_at - time.time())), window) if reset_at else window
    return error_response(429, "Too many requests", headers={"Retry-After": str(retry_after)})


class _OneLineErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
