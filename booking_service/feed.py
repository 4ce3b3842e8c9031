"""Every property notification, numbered and kept: one Redis stream per property in the standalone Redis.

`publish` is one Lua call that gives the notification the next id (Redis time in ms and a sequence, one
counter for every stream, so ids are unique and ordered across properties), appends it to the property's
stream (capped at `STREAM_MAX_ENTRIES`, entries older than `KEEP_DAYS` trimmed) and publishes it on the
Socket.IO queue channel with the id inside. Appending and publishing in one script means the queue
delivers notifications in id order, which is what lets a rejoining client ask for "everything after id X"
(`since`) without gaps or repeats. The same streams are the users' inboxes (`booking_service/inbox.py`).
Clients receive `{"update": ..., "id": "...", "propertyId": N}`; the entry also records who acted
(`actor`, never sent to clients) so a user's inbox leaves out their own actions.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError

from common import tracing

KEY_PREFIX = "realtime:feed:"
LAST_ID_KEY = "realtime:feed-last-id"
TOKEN_PREFIX = "realtime:feed-sent:"
KEEP_DAYS = 30
STREAM_MAX_ENTRIES = 200  # per property (approximate trimming: Redis may keep a few more)
QUEUE_CHANNEL = "flask-socketio"  # Flask-SocketIO's default channel, the realtime listeners' one
UPDATE_EVENT = "notification_update"
FEED_HOST_ID = "notification-feed"  # any id but a listener's own, so every listener delivers it
_ID = re.compile(r"([0-9]{1,15})-([0-9]{1,19})")
_MARK = "\u0000id\u0000"  # where the script writes the id into the queue message (its first string)

# KEYS: stream, last id, this publish's token. ARGV: update JSON, actor, max entries, keep seconds, channel,
# message head, tail. A token already used returns its id: redis-py resends a command whose reply was lost
# (connection reset, timeout) and the notification must not go out twice.
_PUBLISH = """
local done = redis.call('GET', KEYS[3])
if done then return done end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq = 0
local function after(id)
  if not id then return end
  local id_ms, id_seq = string.match(id, '^(%d+)-(%d+)$')
  id_ms = tonumber(id_ms)
  if ms < id_ms or (ms == id_ms and seq <= tonumber(id_seq)) then ms = id_ms; seq = tonumber(id_seq) + 1 end
end
after(redis.call('GET', KEYS[2]))
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] then after(top[1][1]) end
local id = string.format('%.0f-%.0f', ms, seq)
redis.call('SET', KEYS[2], id)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'u', ARGV[1], 'a', ARGV[2])
redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%.0f', ms - tonumber(ARGV[4]) * 1000))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. id .. ARGV[7])
redis.call('SET', KEYS[3], id, 'EX', 60)
return id
"""


class BadFeedId(ValueError):
    """Not a notification id."""


def id_key(text: str) -> tuple[int, int]:
    """An id as a sortable pair; raises BadFeedId for anything else (bounded: ≤ 35 characters)."""
    match = _ID.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadFeedId(text)
    return int(match[1]), int(match[2])


def room_for(property_id: int) -> str:
    """The Socket.IO room of a property, shared by the feed and the realtime server."""
    return f"property:{property_id}"


def stream_key(property_id: int) -> str:
    return f"{KEY_PREFIX}{property_id}"


@dataclass(frozen=True)
class Notification:
    id: str
    property_id: int
    update: Any
    actor: int | None = None

    def payload(self) -> dict[str, Any]:
        """What clients receive: the seed's `update`, plus the id and the property it belongs to."""
        return {"id": self.id, "propertyId": self.property_id, "update": self.update}

    @property
    def at_ms(self) -> int:
        return id_key(self.id)[0]

    @property
    def order(self) -> tuple[int, int]:
        return id_key(self.id)


def queue_message(property_id: int, update: Any) -> tuple[str, str]:
    """The Socket.IO queue message (python-socketio's pub/sub format, JSON) split where the id goes."""
    message: dict[str, Any] = {
        "method": "emit",
        "event": UPDATE_EVENT,
        "data": [{"id": _MARK, "propertyId": property_id, "update": update}],
        "binary": False,
        "namespace": "/",
        "room": room_for(property_id),
        "skip_sid": None,
        "callback": None,
        "host_id": FEED_HOST_ID,
    }
    if tracing.enabled:  # the realtime listener continues the publisher's trace (notifications.py)
        message["otel"] = tracing.carrier()
    head, _, tail = json.dumps(message, separators=(",", ":")).partition(json.dumps(_MARK))
    return head + '"', '"' + tail


def _script_input(
    property_id: int, update: Any, actor: int | None, token: str | None
) -> tuple[list[str], list[Any]]:
    head, tail = queue_message(property_id, update)
    args = [json.dumps(update, separators=(",", ":")), "" if actor is None else str(actor),
            STREAM_MAX_ENTRIES, KEEP_DAYS * 86_400, QUEUE_CHANNEL, head, tail]  # fmt: skip
    keys = [stream_key(property_id), LAST_ID_KEY, f"{TOKEN_PREFIX}{token or uuid.uuid4().hex}"]
    return keys, args


def _text(result: Any) -> str:
    return result.decode() if isinstance(result, bytes) else str(result)


def entry_to_notification(property_id: int, entry: tuple[Any, dict[Any, Any]]) -> Notification:
    raw_id, fields = entry
    text = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
    actor = fields.get(b"a", b"")
    return Notification(text, property_id, json.loads(fields[b"u"]), int(actor) if actor else None)


class NotificationFeed:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._publish = client.register_script(_PUBLISH)

    def publish(
        self, property_id: int, update: Any, actor: int | None = None, token: str | None = None
    ) -> str:
        """Numbers, keeps and sends one notification; returns its id. Raises on a Redis failure.
        The same `token` publishes once (a retry returns the first id)."""
        keys, args = _script_input(property_id, update, actor, token)
        return _text(self._publish(keys=keys, args=args))

    def publish_with(
        self, messages: Sequence[tuple[str, bytes]], events: Sequence[tuple[int, Any, int | None]]
    ) -> list[str]:
        """PUBLISHes `messages` (channel, payload), then `events` (property id, update, actor) as
        `publish` does, in one pipelined round trip; returns the events' ids. Raises on a Redis failure."""
        inputs = [_script_input(property_id, update, actor, None) for property_id, update, actor in events]
        with self._redis.pipeline(transaction=False) as pipe:
            for channel, payload in messages:
                pipe.publish(channel, payload)
            for keys, args in inputs:
                pipe.evalsha(self._publish.sha, len(keys), *keys, *args)
            results = pipe.execute(raise_on_error=False)[len(messages) :]
        ids = []
        for (keys, args), result in zip(inputs, results, strict=True):
            if isinstance(result, NoScriptError):  # Redis restarted or flushed its scripts: load, run
                result = self._publish(keys=keys, args=args)
            elif isinstance(result, Exception):
                raise result
            ids.append(_text(result))
        return ids

    def newest_id(self, property_id: int) -> str:
        """The id of the property's latest notification ("0-0" when it has none)."""
        top = self._redis.xrevrange(stream_key(property_id), count=1)
        return entry_to_notification(property_id, top[0]).id if top else "0-0"

    def since(self, property_id: int, after: str, limit: int) -> list[Notification]:
        """The property's notifications after `after`, oldest first; the newest `limit` if there are more."""
        entries = self._redis.xrevrange(stream_key(property_id), "+", f"({after}", count=limit)
        return [entry_to_notification(property_id, entry) for entry in reversed(entries)]

    def latest(
        self, property_ids: list[int], before: str | None, oldest_ms: int, limit: int
    ) -> dict[int, list[Notification]]:
        """Per property, up to `limit` notifications newer than `oldest_ms` and older than `before`,
        newest first: one pipelined round trip."""
        newest = f"({before}" if before else "+"
        with self._redis.pipeline(transaction=False) as pipe:
            for property_id in property_ids:
                pipe.xrevrange(stream_key(property_id), newest, str(oldest_ms), count=limit)
            results = pipe.execute()
        return {
            property_id: [entry_to_notification(property_id, entry) for entry in entries]
            for property_id, entries in zip(property_ids, results, strict=True)
        }
