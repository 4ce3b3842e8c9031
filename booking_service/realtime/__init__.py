"""Socket.IO process of booking_service: the seed's notification events over one gevent worker.

Run: `gunicorn -k gevent -w 1 --no-control-socket --bind HOST:PORT 'booking_service.realtime:create_app()'`.
Flask-SocketIO allows a single worker per process (sessions are in memory), so scale by instances behind
nginx `ip_hash`; instances share rooms through the standalone Redis message queue and subscriptions.
WebSocket upgrades are served by simple-websocket on the gunicorn socket (no gevent-websocket needed).
Each open socket holds one greenlet of gunicorn's gevent pool, so `--worker-connections` (default 1000)
caps the clients per instance: raise it for more.
"""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from booking_service.notifications import queue_manager
from booking_service.realtime.events import RealtimeEvents
from booking_service.realtime.settings import RealtimeSettings
from booking_service.subscriptions import SubscriptionStore, connect_redis
from common.auth import TokenVerifier
from common.health import health_blueprint
from common.logs import configure_logging
from common.web import init_web

__all__ = ["RealtimeSettings", "create_app"]


def create_app(config: RealtimeSettings | None = None) -> Flask:
    """Builds the app; Redis is contacted on first use (first client, first event, /ready)."""
    settings = config or RealtimeSettings()
    configure_logging(settings.service_name, settings.log_level)
    app = Flask("booking_service.realtime")
    init_web(app, settings)
    store = SubscriptionStore(connect_redis(settings.redis_url), settings.realtime_max_subscriptions)
    socketio = SocketIO(
        app,
        async_mode=settings.socketio_async_mode,
        client_manager=queue_manager(settings.redis_url, write_only=False),
        cors_allowed_origins=settings.origin_policy(),
        max_http_buffer_size=settings.socketio_max_message_bytes,
        # One client's events run in order (get-notification, then join-room), never interleaved.
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    events = RealtimeEvents(
        socketio, store, TokenVerifier(settings.require_public_key(), settings.jwt_issuer)
    )
    events.register()
    app.extensions["realtime_events"] = events
    app.register_blueprint(health_blueprint({"redis": store.ping}))
    return app
