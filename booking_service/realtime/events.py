"""The seed's five Socket.IO events, plus connect-time JWT authentication and join-room's replay.

Every reply is `{"message": ...}` to the sender only (never through the Redis queue), with the seed's
texts byte for byte. Bad input, a property that does not exist (get-notification, join-room), or a Redis
or database failure answers "Error" to that client and never disconnects anyone.
The token comes in the Socket.IO `auth` payload, or an `Authorization: Bearer` header from non-browser
clients; a `token` in the URL is refused, since proxies and servers log URLs.
Additive fields (the seed's stay byte for byte): join-room takes an optional `after` (the last notification
id seen) and replays what was missed (`replay.py`); join_response carries `lastId`, the position the
client now holds; notification_update carries `id` and `propertyId` beside the seed's `update`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import jwt
import redis
from flask import request
from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room, leave_room
from sqlalchemy.exc import SQLAlchemyError

from booking_service.feed import BadFeedId, NotificationFeed
from booking_service.notifications import UPDATE_EVENT, room_for
from booking_service.realtime.guard import ConnectionGuard
from booking_service.realtime.payloads import BadPayloadError, notification_from, property_id_from, token_from
from booking_service.realtime.properties import PropertyDirectory
from booking_service.realtime.replay import Rejoins, joined, replay_cursor_from
from booking_service.subscriptions import Subscribe, SubscriptionStore
from common.auth import Identity, InvalidToken, TokenVerifier
from common.revocation import TokenVersions

log = logging.getLogger(__name__)

ERROR = "Error"
FORBIDDEN = "Forbidden"
# Each seed event and the event its replies (and its "Error") go back on.
REPLIES = {
    "get-notification": "notification_response",
    "stop-notification": "stop_notification_response",
    "join-room": "join_response",
    "leave-room": "leave_response",
    "broadcast_notification": UPDATE_EVENT,
    "broadcast-notification": UPDATE_EVENT,
}


REVOCATION_SWEEP_SECONDS = 2.0


def token_in_url() -> bool:
    return "token" in request.args


def expiry_of(token: str) -> float:
    """The `exp` of a token that has already been verified."""
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])


def reply(event: str, message: str) -> None:
    emit(event, {"message": message}, ignore_queue=True)


def replies_error(event: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Turns bad payloads and Redis failures into an "Error" reply on `event`."""

    def decorator(handler: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(handler)
        def wrapper(self: RealtimeEvents, *args: Any) -> None:
            try:
                handler(self, args[0] if args else None)
            except (BadPayloadError, BadFeedId) as exc:
                log.info("%s rejected: %s", event, exc)
                reply(event, ERROR)
            except redis.RedisError as exc:
                log.error("%s failed, Redis unavailable: %s", event, type(exc).__name__)
                reply(event, ERROR)
            except SQLAlchemyError as exc:
                log.error("%s failed, booking database unavailable: %s", event, type(exc).__name__)
                reply(event, ERROR)

        return wrapper

    return decorator


class RealtimeEvents:
    """Binds the handlers to one SocketIO server; identities live per connection (sid)."""

    def __init__(
        self,
        socketio: SocketIO,
        store: SubscriptionStore,
        verifier: TokenVerifier,
        directory: PropertyDirectory,
        guard: ConnectionGuard,
        rejoins: Rejoins,
        feed: NotificationFeed,
        versions: TokenVersions | None = None,
    ) -> None:
        self._socketio = socketio
        self._rejoins = rejoins
        self._feed = feed
        self._store = store
        self._verifier = verifier
        self._directory = directory
        self._guard = guard
        self._identities: dict[str, Identity] = {}
        self._tokens: dict[str, str] = {}
        self._sweeping = False
        self._versions = versions  # the verifier's: the sweep reads them for every connection at once

    def register(self) -> None:
        on = self._socketio.on_event
        on("connect", self.connect)
        on("disconnect", self.disconnect)
        on("get-notification", self.get_notification)
        on("stop-notification", self.stop_notification)
        on("join-room", self.join_property_room)
        on("leave-room", self.leave_property_room)
        for event in ("broadcast_notification", "broadcast-notification"):
            on(event, self.broadcast)
        self._socketio.on_error_default(self._unexpected)

    def connect(self, auth: Any = None) -> None:
        if token_in_url():
            raise ConnectionRefusedError("Send the token in the auth payload, not in the URL")
        token = token_from(auth)
        if token is None:
            raise ConnectionRefusedError("Authorization token is missing")
        try:
            identity = self._verifier.verify(token)
        except InvalidToken as exc:
            raise ConnectionRefusedError("Invalid or expired token") from exc
        if self._guard.barred(identity.user_id):
            raise ConnectionRefusedError("Too many events: try again later")
        sid: str = request.sid  # type: ignore[attr-defined]
        self._identities[sid], self._tokens[sid] = identity, token
        self._guard.authenticated(sid, identity.user_id, expiry_of(token))
        if not self._sweeping:
            self._sweeping = True
            self._socketio.start_background_task(self._sweep_revoked_forever)

    def disconnect(self, *_: Any) -> None:
        sid: str = request.sid  # type: ignore[attr-defined]
        self._identities.pop(sid, None)
        self._tokens.pop(sid, None)
        self._guard.released(sid)
        self._rejoins.ledger.drop(sid)

    def _identity(self) -> Identity:
        """The connection's identity, its token checked again: a logout or role change since connecting
        (which revokes the token) ends the connection at its next event."""
        sid: str = request.sid  # type: ignore[attr-defined]
        if not self._still_valid(sid):
            raise BadPayloadError("token revoked or expired")
        return self._identities[sid]

    def _still_valid(self, sid: str) -> bool:
        token = self._tokens.get(sid)
        if token is None:
            return False
        try:
            self._verifier.verify(token)
        except InvalidToken:
            self._guard.end(sid, "its token was revoked")
            return False
        return True

    def _sweep_revoked_forever(self) -> None:
        """A connection that sends nothing is checked too, so a revoked one stops receiving notifications
        within REVOCATION_SWEEP_SECONDS plus the verifiers' 1 s bound."""
        while True:
            self._socketio.sleep(REVOCATION_SWEEP_SECONDS)
            try:
                if self._versions is not None:  # one MGET, then each check below is answered in process
                    self._versions.refresh({identity.user_id for identity in self._identities.values()})
            except Exception:  # the sweep must outlive any surprise: each check below reads on its own
                log.exception("token versions not refreshed")
            for sid in list(self._tokens):
                try:
                    self._still_valid(sid)
                except Exception:  # the sweep must outlive any surprise (Redis down: tokens stay valid)
                    log.exception("revocation sweep failed")

    def _existing_property(self, payload: Any) -> int:
        property_id = property_id_from(payload)
        if not self._directory.exists(property_id):
            raise BadPayloadError("no such property")
        return property_id

    @replies_error("notification_response")
    def get_notification(self, payload: Any) -> None:
        property_id = self._existing_property(payload)
        outcome = self._store.subscribe(self._identity().user_id, property_id)
        if outcome is Subscribe.LIMIT_REACHED:
            raise BadPayloadError("subscription limit reached")
        if outcome is Subscribe.ALREADY:
            reply(
                "notification_response", f"Already watching notification for property with ID:{property_id}"
            )
        else:
            reply("notification_response", f"Subscribed to notification for property with ID:{property_id}")

    @replies_error("stop_notification_response")
    def stop_notification(self, payload: Any) -> None:
        property_id = property_id_from(payload)
        removed = self._store.unsubscribe(self._identity().user_id, property_id)
        self._leave(property_id)
        if removed:
            message = f"Stopped getting notification for property with ID: {property_id}"
        else:
            message = "No notification found for this property id"
        reply("stop_notification_response", message)

    @replies_error("join_response")
    def join_property_room(self, payload: Any) -> None:
        property_id = self._existing_property(payload)
        user_id = self._identity().user_id
        if not self._store.is_subscribed(user_id, property_id):
            message = f"User {user_id} is not subscribed to get notifications for room: {property_id}"
            reply("join_response", message)
            return
        after = replay_cursor_from(payload)
        message = f"Connected to room {property_id} for notifications"
        self._rejoins.join(
            request.sid,  # type: ignore[attr-defined]
            property_id,
            after,
            lambda: join_room(room_for(property_id)),
            lambda cursor: emit("join_response", joined(message, property_id, cursor), ignore_queue=True),
        )

    @replies_error("leave_response")
    def leave_property_room(self, payload: Any) -> None:
        property_id = property_id_from(payload)
        user_id = self._identity().user_id
        if not self._store.is_subscribed(user_id, property_id):
            message = f"User {user_id} did not get notification for property with ID: {property_id}"
            reply("leave_response", message)
            return
        self._leave(property_id)
        reply("leave_response", f"Left from room {property_id}")

    def _leave(self, property_id: int) -> None:
        leave_room(room_for(property_id))
        self._rejoins.ledger.drop(request.sid, property_id)  # type: ignore[attr-defined]

    @replies_error(UPDATE_EVENT)
    def broadcast(self, payload: Any) -> None:
        identity = self._identity()
        if not identity.is_admin:
            log.warning("broadcast refused for user %s (role %s)", identity.user_id, identity.role)
            reply(UPDATE_EVENT, FORBIDDEN)
            return
        property_id = property_id_from(payload)
        notification = notification_from(payload)
        try:
            self._feed.publish(property_id, notification, identity.user_id)
        except redis.RedisError as exc:  # no feed: this instance's clients still get it (without an id)
            log.error("broadcast not kept, Redis unavailable: %s", type(exc).__name__)
            self._socketio.emit(UPDATE_EVENT, {"update": notification}, to=room_for(property_id))
        log.info("admin %s broadcast to property %s", identity.user_id, property_id)

    def _unexpected(self, error: Exception) -> None:
        log.error("socket.io handler failed: %s", type(error).__name__, exc_info=error)
