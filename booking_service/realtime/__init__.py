"""Socket.IO process of booking_service: the seed's notification events over one gevent worker.

Run: `gunicorn -k gevent -w 1 --no-control-socket --bind HOST:PORT 'booking_service.realtime:create_app()'`.
Flask-SocketIO allows a single worker per process (sessions are in memory), so scale by instances behind
nginx `ip_hash`; instances share rooms through the standalone Redis message queue and subscriptions.
WebSocket upgrades are served by simple-websocket on the gunicorn socket (no gevent-websocket needed).
Each open socket holds one greenlet of gunicorn's gevent pool, so `--worker-connections` (default 1000)
caps the clients per instance: raise it for more.

Abuse limits (`guard.py`, defaults): a session must complete an authenticated connect within 5 s
(`REALTIME_AUTH_DEADLINE_SECONDS`); each connection may send 20 events/s with bursts of 40
(`REALTIME_EVENTS_PER_SECOND`, `REALTIME_EVENT_BURST`), an event beyond that is answered "Error" and after
40 refusals (`REALTIME_FLOOD_REFUSALS`, one forgiven a second) the connection is closed; a connection
ends when its token expires; get-notification and join-room need a property that exists (`properties.py`).
A WebSocket is read at most 32 KiB/s after a burst of one largest message, yielding between reads
(`transport.py`), so no client can keep the worker parsing its frames.
"""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from booking_service.feed import UPDATE_EVENT, NotificationFeed
from booking_service.notifications import queue_manager
from booking_service.realtime.events import REPLIES, RealtimeEvents
from booking_service.realtime.guard import ConnectionGuard, GuardLimits
from booking_service.realtime.heartbeat import advertised_address, start_heartbeat
from booking_service.realtime.metrics import count_deliveries
from booking_service.realtime.properties import PropertyDirectory, live_property_lookup, read_only_engine
from booking_service.realtime.replay import Rejoins, ReplayingRedisManager, ReplayLedger
from booking_service.realtime.settings import RealtimeSettings
from booking_service.realtime.transport import install_paced_websockets
from booking_service.subscriptions import SubscriptionStore, connect_redis
from booking_service.users import RedisUserDirectory
from common.auth import TokenVerifier
from common.health import health_blueprint
from common.logs import configure_logging
from common.metrics import init_observability
from common.revocation import TokenVersions
from common.tracing import init_tracing
from common.web import init_web

__all__ = ["RealtimeSettings", "create_app"]


def create_app(config: RealtimeSettings | None = None) -> Flask:
    """Builds the app; Redis is contacted on first use (first client, first event, /ready)."""
    settings = config or RealtimeSettings()
    if settings.socketio_async_mode == "gevent":
        untracked_greenlets()
    configure_logging(settings.service_name, settings.log_level)
    init_tracing(settings.service_name)
    app = Flask("booking_service.realtime")
    init_web(app, settings)
    init_observability(app)
    redis_client = connect_redis(settings.redis_url)
    store = SubscriptionStore(redis_client, settings.realtime_max_subscriptions)
    manager = queue_manager(settings.redis_url, write_only=False, manager=ReplayingRedisManager)
    manager.ledger = ledger = ReplayLedger()
    socketio = SocketIO(
        app,
        async_mode=settings.socketio_async_mode,
        client_manager=manager,
        cors_allowed_origins=settings.origin_policy(),
        max_http_buffer_size=settings.socketio_max_message_bytes,
        ping_interval=settings.realtime_ping_interval_seconds,
        ping_timeout=settings.realtime_ping_timeout_seconds,
        # One client's events run in order (get-notification, then join-room), never interleaved.
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    install_paced_websockets(socketio.server.eio, settings.socketio_max_message_bytes)
    count_deliveries(socketio)
    guard = ConnectionGuard(socketio, guard_limits(settings), REPLIES)
    guard.install()
    directory = PropertyDirectory(live_property_lookup(read_only_engine(settings.booking_db_url)))
    versions = TokenVersions(settings.redis_url)  # logout and role changes end connections
    verifier = TokenVerifier(
        settings.require_public_key(),
        settings.jwt_issuer,
        versions=versions,
        users=RedisUserDirectory(settings.redis_url),  # a token of a user that never existed is refused
    )
    feed = NotificationFeed(redis_client)

    def send(sid: str, payload: dict) -> None:
        socketio.server.emit(UPDATE_EVENT, payload, to=sid, namespace="/", ignore_queue=True)

    rejoins = Rejoins(feed, ledger, send)
    events = RealtimeEvents(socketio, store, verifier, directory, guard, rejoins, feed, versions)
    events.register()
    app.extensions["realtime_events"] = events
    app.register_blueprint(health_blueprint({"redis": store.ping}))
    if settings.service_port is not None:  # a served instance: the watchdog cuts it off if it freezes
        start_heartbeat(
            settings.redis_url, advertised_address(settings.service_address, settings.service_port)
        )
    return app


def untracked_greenlets() -> None:
    """gevent records the spawning stack of every greenlet by default; engine.io spawns one per ping per
    client (2,000 a second at 1,000 clients), and py-spy put 16 % of the idle worker's CPU there."""
    from gevent import config

    config.track_greenlet_tree = False


def guard_limits(settings: RealtimeSettings) -> GuardLimits:
    return GuardLimits(
        auth_deadline=settings.realtime_auth_deadline_seconds,
        events_per_second=settings.realtime_events_per_second,
        event_burst=settings.realtime_event_burst,
        flood_refusals=settings.realtime_flood_refusals,
    )
