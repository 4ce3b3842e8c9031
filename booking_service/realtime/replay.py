"""Nothing lost across a reconnect: join-room with `after` (the last notification id the client saw)
replays what the property's feed holds after it, then live delivery continues — each notification once,
in id order.

While a connection's replay reads the feed, live notifications for it are held back (`ReplayLedger.hold`)
and sent after the replay, minus those it already contained; until the queue listener has passed the
replay's newest id, notifications it already replayed are not sent again (the listener may lag behind the
feed). The feed publishes in id order (one Lua call numbers and publishes), so both checks are a
comparison of ids. A join without `after` starts from the feed's newest id, read before entering the
room, and tells the client that position (`lastId` in join_response).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from booking_service.feed import UPDATE_EVENT, BadFeedId, NotificationFeed, id_key
from booking_service.notifications import TracedRedisManager

REPLAY_MAX = 50  # notifications replayed per property and join; more missed: the newest 50
ROOM_PREFIX = "property:"
Send = Callable[[str, dict[str, Any]], None]  # (sid, notification_update payload)


def joined(message: str, property_id: int, cursor: str) -> dict[str, Any]:
    """join_response after a join: the seed's message, plus the feed position the client now holds."""
    return {"message": message, "propertyId": property_id, "lastId": cursor}


def replay_cursor_from(payload: dict[str, Any]) -> str | None:
    """join-room's optional `after`: the last notification id the client saw. Raises BadFeedId."""
    after = payload.get("after")
    if after is None:
        return None
    id_key(after)
    return after


def update_id(payload: Any) -> tuple[int, int] | None:
    """The id of a notification_update payload from the feed; None for anything else."""
    try:
        return id_key(payload["id"]) if isinstance(payload, dict) and "id" in payload else None
    except BadFeedId:
        return None


@dataclass
class _Cursor:
    last: tuple[int, int]  # the newest id this connection has been sent (or need not be sent)
    held: list[dict[str, Any]] | None = field(default_factory=list)  # None: not replaying


class ReplayLedger:
    """Per (connection, property): what live delivery must hold back or skip. Empty in the steady state:
    a cursor lives from a join until the first live notification newer than its replay."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: dict[int, dict[str, _Cursor]] = {}  # property -> sid -> cursor
        self._rooms: dict[str, set[int]] = {}  # sid -> properties with a cursor

    def hold(self, sid: str, property_id: int, after: tuple[int, int]) -> None:
        with self._lock:
            cursor = self._cursors.setdefault(property_id, {}).get(sid)
            if cursor is None:
                self._cursors[property_id][sid] = _Cursor(after)
            else:  # joined again before the first live notification: keep what was sent
                cursor.last, cursor.held = max(cursor.last, after), []
            self._rooms.setdefault(sid, set()).add(property_id)

    def release(self, sid: str, property_id: int, replayed: list[dict[str, Any]], send: Send) -> int:
        """Sends the replay, then what was held back, each notification newer than the last sent; under
        the lock, so no live notification overtakes them. Returns how many were sent."""
        sent = 0
        with self._lock:
            cursor = self._cursors.get(property_id, {}).get(sid)
            if cursor is None:  # left or disconnected meanwhile
                return 0
            for payload in [*replayed, *(cursor.held or [])]:
                key = update_id(payload)
                if key is not None and key > cursor.last:
                    send(sid, payload)
                    cursor.last, sent = key, sent + 1
            cursor.held = None
        return sent

    def skipped(self, property_id: int, payload: Any) -> list[str]:
        """The connections a live notification must not go to now (held back or already replayed)."""
        key = update_id(payload)
        if key is None or property_id not in self._cursors:
            return []
        skip: list[str] = []
        with self._lock:
            cursors = self._cursors.get(property_id, {})
            for sid, cursor in list(cursors.items()):
                if cursor.held is not None:
                    cursor.held.append(payload)
                    skip.append(sid)
                elif key <= cursor.last:
                    skip.append(sid)
                else:  # the listener has passed the replay: from here on, ids only grow
                    self._forget(sid, property_id)
        return skip

    def drop(self, sid: str, property_id: int | None = None) -> None:
        with self._lock:
            for pid in [property_id] if property_id is not None else list(self._rooms.get(sid, ())):
                self._forget(sid, pid)

    def __len__(self) -> int:
        return sum(len(cursors) for cursors in self._cursors.values())

    def _forget(self, sid: str, property_id: int) -> None:
        cursors = self._cursors.get(property_id, {})
        cursors.pop(sid, None)
        if not cursors:
            self._cursors.pop(property_id, None)
        rooms = self._rooms.get(sid)
        if rooms is not None:
            rooms.discard(property_id)
            if not rooms:
                del self._rooms[sid]


class ReplayingRedisManager(TracedRedisManager):
    """The realtime process's queue listener: room deliveries of feed notifications skip the connections
    the ledger holds back or has already served."""

    ledger: ReplayLedger = ReplayLedger()  # replaced per server by `Rejoins`

    def _handle_emit(self, message: dict[str, Any]) -> None:
        room, data = message.get("room"), message.get("data")
        if message.get("event") == UPDATE_EVENT and isinstance(room, str) and room.startswith(ROOM_PREFIX):
            payload = data[0] if isinstance(data, list) and len(data) == 1 else None
            skip = self.ledger.skipped(int(room[len(ROOM_PREFIX) :]), payload) if payload else []
            if skip:
                message = {**message, "skip_sid": skip}
        super()._handle_emit(message)


class Rejoins:
    """join-room's replay: enter the room, replay what the feed holds after the client's cursor."""

    def __init__(self, feed: NotificationFeed, ledger: ReplayLedger, send: Send) -> None:
        self._feed = feed
        self.ledger = ledger
        self._send = send

    def join(
        self,
        sid: str,
        property_id: int,
        after: str | None,
        enter_room: Callable[[], None],
        confirm: Callable[[str], None],
    ) -> int:
        """Returns how many notifications were replayed; `confirm(cursor)` answers the join first."""
        newest = self._feed.newest_id(property_id)  # read before entering: nothing after it is missed
        cursor = newest if after is None else min(after, newest, key=id_key)  # a made-up future id
        self.ledger.hold(sid, property_id, id_key(cursor))
        try:
            enter_room()
            missed = self._feed.since(property_id, cursor, REPLAY_MAX)
        except BaseException:
            self.ledger.drop(sid, property_id)
            raise
        confirm(cursor)
        return self.ledger.release(sid, property_id, [item.payload() for item in missed], self._send)
