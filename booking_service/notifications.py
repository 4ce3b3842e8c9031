"""Property notifications: REST processes publish them (`Notifier`) through the notification feed
(`feed.py`: numbered, kept, and put on the Socket.IO Redis queue in one step).

The realtime process (`booking_service.realtime`) listens on the same Redis channel (`queue_manager`) and
delivers each event to the clients in the property's room, whichever instance they are connected to.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
import socketio

from booking_service.feed import QUEUE_CHANNEL, UPDATE_EVENT, NotificationFeed, room_for
from common import tracing

log = logging.getLogger(__name__)

__all__ = ["QUEUE_CHANNEL", "UPDATE_EVENT", "Notifier", "queue_manager", "room_for"]
NAMESPACE = "/"
# A dead or blackholed Redis must not stall the booking request that triggered the event.
EMITTER_REDIS_OPTIONS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
# The listener blocks on reads between messages, so it must have no read timeout (a timeout would
# make python-socketio reconnect with back-off and drop whatever is published meanwhile).
LISTENER_REDIS_OPTIONS = {"socket_connect_timeout": 2.0, "socket_keepalive": True}


class TracedRedisManager(socketio.RedisManager):
    """The queue message carries the publisher's trace context (beside the event, never inside the
    payload clients receive), and the realtime process emits it to the room inside a span continuing
    that trace: booking request → notification is one trace."""

    def _publish(self, data: Any) -> Any:
        if tracing.enabled and isinstance(data, dict):
            data = {**data, "otel": tracing.carrier()}
        return super()._publish(data)

    def _handle_emit(self, message: dict[str, Any]) -> None:
        if not tracing.enabled:
            return super()._handle_emit(message)
        name, carried = f"socketio emit {message.get('event')}", message.get("otel")
        with tracing.continued(carried, name) if isinstance(carried, dict) else tracing.span(name) as current:
            if current is not None:  # sampled where the event began: only then are attributes built
                current.set_attribute("socketio.room", str(message.get("room")))
            super()._handle_emit(message)


def queue_manager(
    redis_url: str, *, write_only: bool, manager: type[TracedRedisManager] = TracedRedisManager
) -> socketio.RedisManager:
    return manager(
        redis_url,
        channel=QUEUE_CHANNEL,
        write_only=write_only,
        logger=log,
        redis_options=dict(EMITTER_REDIS_OPTIONS if write_only else LISTENER_REDIS_OPTIONS),
    )


def feed_client(redis_url: str) -> redis.Redis:
    """Short timeouts: a dead or blackholed Redis must not stall the request that triggered the event."""
    return redis.Redis.from_url(redis_url, **EMITTER_REDIS_OPTIONS)


class Notifier:
    """Publishes `notification_update {"update": ..., "id": ..., "propertyId": ...}` to a property's room
    through the feed; never raises.

    Construction connects to nothing: the first publish opens the Redis connection. Without a
    `redis_url` the notifier is disabled and only logs at debug level.
    """

    def __init__(self, redis_url: str | None) -> None:
        self._feed = NotificationFeed(feed_client(redis_url)) if redis_url else None
        self._batches = threading.local()

    @contextmanager
    def batch(self, messages: Sequence[tuple[str, bytes]] = ()) -> Iterator[None]:
        """Holds back this thread's events until the block ends, then sends `messages` (channel,
        payload: say, a cache's invalidations) and the events in one pipelined round trip; never
        raises. After a commit, a booking's announcements cost one round trip instead of two or three."""
        events: list[tuple[int, Any, int | None]] = []
        outer, self._batches.events = getattr(self._batches, "events", None), events
        try:
            yield
        finally:
            self._batches.events = outer
            if self._feed is not None and (messages or events):
                try:
                    self._feed.publish_with(messages, events)
                except Exception as exc:
                    log.error("cannot publish %d notifications and %d messages: %s", len(events),
                              len(messages), type(exc).__name__)  # fmt: skip

    def property_event(self, property_id: int, update: dict[str, Any], actor: int | None = None) -> None:
        """`actor`: the user who caused it, left out of their own inbox (never sent to clients)."""
        if self._feed is None:
            log.debug("notifications disabled; dropped event for property %s", property_id)
            return
        if (held := getattr(self._batches, "events", None)) is not None:
            held.append((property_id, update, actor))
            return
        try:
            self._feed.publish(property_id, update, actor)
        except Exception as exc:
            log.error("cannot publish notification for property %s: %s", property_id, type(exc).__name__)

    def booking_event(
        self, event: str, property_id: int, start_date: Any, end_date: Any, actor: int | None = None
    ) -> None:
        """A booking was made (`"booked"`) or cancelled (`"cancelled"`); no user identity is sent."""
        update = {
            "propertyId": property_id,
            "event": event,
            "startDate": _iso(start_date),
            "endDate": _iso(end_date),
        }
        self.property_event(property_id, update, actor)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value
