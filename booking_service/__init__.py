"""Booking service (REST): properties, bookings without double booking, Redis Cluster cache."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from booking_service import metrics
from booking_service.bookings.views import BookingViews, EncodedBooking
from booking_service.cache import PropertyCache, cluster_client_factory
from booking_service.db import SqlUnitOfWork, build_engine, build_read_engine
from booking_service.metrics import init_booking_metrics
from booking_service.settings import BookingSettings
from common.auth import init_auth
from common.errors import register_database_outage
from common.health import health_blueprint
from common.logs import configure_logging
from common.metrics import init_observability
from common.near_cache import BOOKING_CHANNEL, PROPERTY_CHANNEL, NearCache
from common.tracing import init_tracing
from common.web import init_web


def create_app(config: BookingSettings | None = None) -> Flask:
    """Builds the app; connections are opened lazily on first use, never here."""
    from booking_service.api import api, register_domain_errors
    from booking_service.feed import NotificationFeed
    from booking_service.notifications import Notifier, feed_client
    from booking_service.properties.storage import LocalPhotoStore
    from booking_service.properties.views import PropertyViews
    from booking_service.subscriptions import SubscriptionStore, connect_redis
    from booking_service.users import RedisUserDirectory

    settings = config or BookingSettings()
    configure_logging(settings.service_name, settings.log_level)
    init_tracing(settings.service_name)
    app = Flask(__name__)
    init_web(app, settings)
    init_observability(app)
    register_database_outage(app)
    register_domain_errors(app)
    users = RedisUserDirectory(settings.redis_url)
    # Tokens of user ids that never existed are refused here, not only at the gateway.
    init_auth(app, settings.require_public_key(), settings.jwt_issuer, settings.redis_url, users=users)

    engine = build_engine(
        settings.booking_db_url,
        connect_timeout=settings.db_connect_timeout,
        pool_size=settings.db_pool_size,
        statement_timeout=settings.db_statement_timeout,
    )
    read_engine = build_read_engine(
        settings.booking_db_url,
        connect_timeout=settings.db_connect_timeout,
        pool_size=settings.db_pool_size,
        statement_timeout=settings.db_statement_timeout,
    )
    init_booking_metrics(app, engine, read_engine)
    nodes = settings.cluster_nodes
    factory = cluster_client_factory(nodes, settings.redis_cluster_password) if nodes else None
    cache = PropertyCache(factory, settings.cache_ttl_seconds)
    near: NearCache[bytes] = NearCache(
        settings.redis_url, channel=PROPERTY_CHANNEL, observe=metrics.near_property_lookup
    )
    booking_copies: NearCache[EncodedBooking | bytes] = NearCache(
        settings.redis_url if settings.booking_copy_seconds > 0 else None,
        channel=BOOKING_CHANNEL,
        max_age=settings.booking_copy_seconds,
        observe=metrics.near_booking_lookup,
    )

    def properties_changed() -> None:
        cache.invalidate()
        near.publish_invalidation()

    uow = SqlUnitOfWork(
        engine, Notifier(settings.redis_url), properties_changed, read_engine, booking_copies=booking_copies
    )
    app.extensions["settings"] = settings
    app.extensions["engine"] = engine
    app.extensions["cache"] = cache
    app.extensions["uow"] = uow
    app.extensions["user_directory"] = users
    # The realtime process's per-user watch lists, read here for GET /api/bookings/watching.
    redis_url = settings.redis_url
    app.extensions["subscriptions"] = SubscriptionStore(connect_redis(redis_url)) if redis_url else None
    app.extensions["feed"] = NotificationFeed(feed_client(redis_url)) if redis_url else None  # the inbox
    app.extensions["photo_store"] = photos = LocalPhotoStore(settings.photo_dir)
    app.extensions["property_views"] = PropertyViews(uow, cache, near, photos)
    app.extensions["booking_views"] = BookingViews(uow, booking_copies)

    def mariadb_check() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    checks = {"mariadb": mariadb_check, "redis_cluster": cache.ping}
    app.register_blueprint(health_blueprint(checks, required=frozenset({"mariadb"})))
    app.register_blueprint(api)
    return app
