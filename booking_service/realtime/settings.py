"""Settings of the Socket.IO process (`booking_service.realtime`), read from the environment."""

from __future__ import annotations

from typing import Literal

from common.settings import BaseServiceSettings, split_csv


class RealtimeSettings(BaseServiceSettings):
    service_name: str = "booking_realtime"
    redis_url: str = "redis://127.0.0.1:16379/0"
    realtime_max_subscriptions: int = 100
    # Comma-separated allowed browser origins; empty = same origin only; "*" = any.
    socketio_cors_origins: str = ""
    # "gevent" under `gunicorn -k gevent`; "threading" only for in-process tests.
    socketio_async_mode: Literal["gevent", "threading"] = "gevent"
    socketio_max_message_bytes: int = 64 * 1024

    @property
    def cors_origins(self) -> list[str] | str | None:
        origins = split_csv(self.socketio_cors_origins)
        if not origins:
            return None
        return "*" if "*" in origins else origins
