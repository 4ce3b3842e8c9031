"""Settings of the Socket.IO process (`booking_service.realtime`), read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field

from common.settings import BaseServiceSettings, split_csv


class RealtimeSettings(BaseServiceSettings):
    service_name: str = "booking_realtime"
    redis_url: str = "redis://127.0.0.1:16379/0"
    # Read only, to refuse watching properties that do not exist.
    booking_db_url: str = "mysql+pymysql://app:app@127.0.0.1:13306/bookings"
    realtime_max_subscriptions: int = 100
    # An Engine.IO session without an authenticated Socket.IO connection is closed after this long.
    realtime_auth_deadline_seconds: float = Field(default=5.0, gt=0)
    # Per connection: events a second, the burst above that, and the refused events (one forgiven a
    # second) after which a flooding connection is closed.
    realtime_events_per_second: float = Field(default=20.0, gt=0)
    realtime_event_burst: int = Field(default=40, ge=1)
    realtime_flood_refusals: int = Field(default=40, ge=1)
    # Engine.IO heartbeat: the server pings every interval and drops a client whose pong is `timeout`
    # late; a client drops a server silent for interval + timeout (5 s). A frozen instance is cut off by
    # the watchdog (watchdog.py) 0.5 s after its heartbeat stops, so pings no longer carry failover: they
    # find dead clients and keep nginx's 5 s tunnel read timeout (the backstop, infra/nginx_conf.py) from
    # firing on a quiet healthy tunnel, with 3 s to spare for a busy loop. At 0.5 s (when nginx cut
    # tunnels after 0.8 s) they cost 350-500 us of CPU per client and second, ~40 us per notification
    # delivered in the 1,000-client bench (README, "Realtime failover").
    realtime_ping_interval_seconds: float = Field(default=2.0, gt=0)
    realtime_ping_timeout_seconds: float = Field(default=3.0, gt=0)
    # Browser origins allowed besides the same origin (CORS_ORIGINS, comma-separated; "*" = any).
    cors_origins: str = ""
    # "gevent" under `gunicorn -k gevent`; "threading" only for in-process tests.
    socketio_async_mode: Literal["gevent", "threading"] = "gevent"
    socketio_max_message_bytes: int = 64 * 1024
    # Where nginx reaches this instance (its upstream address), beaten into Redis for the watchdog
    # (heartbeat.py): SERVICE_ADDRESS (default: the container's address) and SERVICE_PORT; no port, no beat.
    service_address: str = ""
    service_port: int | None = None

    def origin_policy(self) -> Any:
        """What engine.io's `cors_allowed_origins` takes: "*" or a check of the handshake's Origin."""
        extra = frozenset(split_csv(self.cors_origins))
        if "*" in extra:
            return "*"

        def allowed(origin: str, environ: Mapping[str, Any]) -> bool:
            return origin in extra or is_same_origin(origin, environ)

        return allowed


def same_origins(environ: Mapping[str, Any]) -> set[str]:
    """The origin of the request itself, as seen directly or through a proxy's forwarded headers."""
    scheme = environ.get("HTTP_X_FORWARDED_PROTO", environ.get("wsgi.url_scheme", "http")).split(",")[0]
    hosts = {environ.get("HTTP_HOST", ""), environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip()}
    return {f"{scheme.strip()}://{host}" for host in hosts if host}


def is_same_origin(origin: str, environ: Mapping[str, Any]) -> bool:
    if origin in same_origins(environ):
        return True
    # A proxy forwarding `Host $host` drops the port: then only host names can be compared. Acceptable
    # because a socket is authorised by its JWT, never by ambient cookies.
    host = environ.get("HTTP_HOST", "")
    return bool(host) and ":" not in host and urlsplit(origin).hostname == host.lower()
