"""In-process copies of hot reads (booking_service's encoded property reads and bookings, user_service's
public profiles), retired on every instance by a Redis pub/sub message: one key, or every copy.

A cache hit then costs no network round trip and no database or JSON work. Copies are served only while this
process holds a confirmed subscription: when the connection drops, every copy is dropped and reads go
back to Redis Cluster until the subscription is confirmed again, so a missed message cannot leave a
stale copy behind. A read stores its result only if its key (or every copy) was not retired while it
was computed, so an answer built from pre-change data is never kept; the retirement of another key does
not cost it its copy (any retirement on the channel used to: under the mixed workload at ~1,100 req/s,
the gateway missed 16.6 % of its lookups instead of 18.2 % once its copies had expired, bench/README.md).
Copies also expire after `max_age` seconds, a bound that holds even if Redis were to drop a message, and a
frozen Redis (no answer to the listener's pings for 3 s) counts as a lost subscription. Each copy lives
a random part of `max_age` (between `1 - spread` and all of it): copies filled together, as every one is
after an invalidation, would otherwise expire together, and their readers would all miss at once (a
stall of 50-200 ms of the whole stack under load, measured with the gateway's copies).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

import redis

log = logging.getLogger(__name__)
V = TypeVar("V")
R = TypeVar("R")  # what a read-through returns: V, or V | None

EVERYTHING = b"*"
RECONNECT_SECONDS = 0.5
PING_SECONDS = 1.0
SILENCE_SECONDS = 3.0
MAX_ENTRIES = 4096
# Retires every copy of a property read: booking_service's own, and the gateway's copies of its answers.
PROPERTY_CHANNEL = "hrp:props:invalidated"
# On a service's answer to a GET: the gateway may answer the same request from its own copy until the
# change named here is announced: "properties" (PROPERTY_CHANNEL: every property read) or "booking <key>"
# (BOOKING_CHANNEL, that key: one booking or one guest's list; the copy is for the same reader only).
# Set only while the service announces those changes. The gateway never relays it to clients.
COPY_HEADER = "X-Near-Copy"
COPY_UNTIL_PROPERTIES_CHANGE = "properties"
COPY_UNTIL_BOOKING_CHANGES = "booking "
BOOKING_CHANNEL = "hrp:bookings:changed"
# On a write's answer: the BOOKING_CHANNEL keys the write retired, space-separated, so the gateway that
# relays it retires exactly those copies before the writer is answered. The gateway never relays it either.
RETIRED_HEADER = "X-Near-Retired"


def _ignore(_outcome: str) -> None:
    return None


class NearCache(Generic[V]):
    """`observe` hears "hit", "miss" or "bypass" (not subscribed: copies untrusted) for each lookup.

    `settle`: for reads served by an asynchronous replica, no copy of a key is kept for this long after
    the key was retired. A read just after a change may still find the replica's row from before it;
    without the cache that answer would be one stale response, kept it would be stale for `max_age`.
    """

    def __init__(
        self,
        redis_url: str | None,
        *,
        channel: str,
        max_age: float = 5.0,
        settle: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[str], None] = _ignore,
        spread: float = 0.5,
        chance: Callable[[], float] = random.random,
    ):
        self._redis_url = redis_url
        self._channel = channel
        self._max_age = max_age
        self._settle = settle
        self._clock = clock
        self._observe = observe
        self._spread, self._chance = spread, chance
        self._entries: dict[str, tuple[V, float]] = {}  # key -> (copy, when it expires)
        self._retired_at: dict[str | None, float] = {}  # key (None: every key) -> when, within `settle`
        self._epoch = 0  # counts retirements and subscription changes
        self._key_retired: dict[str, int] = {}  # key -> the epoch its last retirement began
        self._all_retired = 0  # the epoch every copy was last retired (or which keys were, forgotten)
        self._live = False
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._publisher: redis.Redis | None = None

    @property
    def enabled(self) -> bool:
        return self._redis_url is not None

    def epoch(self) -> int | None:
        """The token a read passes to `put`, taken before it reads; None while copies cannot be trusted
        (not subscribed)."""
        self._ensure_listener()
        return self._epoch if self._live else None

    def get(self, key: str) -> V | None:
        if not self._live:
            self._observe("bypass")
            return None
        entry = self._entries.get(key)
        if entry is None or self._clock() > entry[1]:
            self._observe("miss")
            return None
        self._observe("hit")
        return entry[0]

    def seconds_left(self, key: str) -> float:
        """How long the copy of `key` has still to live (0 without one): a caller may refresh it ahead."""
        entry = self._entries.get(key)
        return 0.0 if entry is None else max(0.0, entry[1] - self._clock())

    def read_through(self, key: str, read: Callable[[], R]) -> R:
        """This process's copy of `key`, else `read()`, kept unless an invalidation came meanwhile (or
        the key is settling); a None answer is never kept."""
        epoch = self.epoch()
        if (copy := self.get(key)) is not None:
            return cast(R, copy)
        found = read()
        if found is not None:
            self.put(epoch, key, cast(V, found))
        return found

    def put(self, epoch: int | None, key: str, value: V) -> None:
        with self._lock:
            if epoch is None or not self._live or self._retired_since(epoch, key):
                return
            if self._retired_at and self._settling(key):
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            lifetime = self._max_age * (1.0 - self._spread * self._chance())
            self._entries[key] = (value, self._clock() + lifetime)

    def publish_invalidation(self, key: str | None = None) -> None:
        """Tells every instance (this one included) to drop its copy of `key`, or every copy; never
        raises."""
        message = self.announcement(key)
        if message is None:
            return
        try:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(
                    self._redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
                )
            self._publisher.publish(*message)
        except (redis.RedisError, OSError) as exc:
            # The others stop trusting their copies only when their own subscription breaks; until
            # then `max_age` bounds what they serve.
            log.error("near-cache invalidation not published: %s", type(exc).__name__)

    def announcement(self, key: str | None = None) -> tuple[str, bytes] | None:
        """Drops this process's copy of `key` (or all) and returns the (channel, payload) that tells the
        other instances, for a caller that publishes it with other commands; None when disabled."""
        self.retire(key)
        if not self.enabled:
            return None
        return self._channel, EVERYTHING if key is None else key.encode()

    def retire(self, key: str | None = None) -> None:
        """Drops `key`'s copy (or all); reads of it (or of any key) under way when it happens keep nothing."""
        with self._lock:
            self._epoch += 1
            if key is None:
                self._entries.clear()
                self._forget_retired_keys()
            else:
                self._entries.pop(key, None)
                if len(self._key_retired) >= MAX_ENTRIES:
                    self._forget_retired_keys()
                self._key_retired[key] = self._epoch
            if self._settle > 0:
                now = self._clock()
                if len(self._retired_at) >= MAX_ENTRIES:
                    self._forget_settled(now)  # keys retired once and never copied again stay listed
                if len(self._retired_at) >= MAX_ENTRIES:
                    self._retired_at.clear()
                    key = None  # forgetting which keys settle: let every key settle instead
                self._retired_at[key] = now

    def _retired_since(self, epoch: int, key: str) -> bool:
        return self._all_retired > epoch or self._key_retired.get(key, 0) > epoch

    def _forget_retired_keys(self) -> None:
        """Every read under way keeps nothing, as after the retirement of every copy."""
        self._key_retired.clear()
        self._all_retired = self._epoch

    def _forget_settled(self, now: float) -> None:
        self._retired_at = {k: when for k, when in self._retired_at.items() if now - when < self._settle}

    def _settling(self, key: str) -> bool:
        now = self._clock()
        for name in (key, None):
            when = self._retired_at.get(name)
            if when is not None:
                if now - when < self._settle:
                    return True
                del self._retired_at[name]
        return False

    def _ensure_listener(self) -> None:
        if self._listener is None and self.enabled:
            with self._lock:
                if self._listener is None:  # started in the worker on first use, never before a fork
                    self._listener = threading.Thread(
                        target=self._listen_forever, name="near-cache", daemon=True
                    )
                    self._listener.start()

    def _listen_forever(self) -> None:
        warned = False  # of this outage: one warning, not one per retry while Redis stays away
        while True:
            try:
                self._listen()
            except Exception as exc:  # any failure: stop trusting copies, then subscribe again
                warned = warned and not self._live
                if not warned:
                    log.warning("near-cache subscription lost: %s", type(exc).__name__)
                    warned = True
            self._set_live(False)
            time.sleep(RECONNECT_SECONDS)

    def _listen(self) -> None:
        """Pings every second; silence for SILENCE_SECONDS (a frozen Redis) counts as a lost subscription."""
        client = redis.Redis.from_url(
            self._redis_url, socket_connect_timeout=1.0, socket_timeout=SILENCE_SECONDS
        )
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self._channel)
            heard = pinged = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=PING_SECONDS)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    if message["type"] == "subscribe":
                        self._set_live(True)
                    elif message["type"] == "message":
                        data = message["data"]
                        self.retire(None if data == EVERYTHING else data.decode("utf-8", "replace"))
                if now - heard > SILENCE_SECONDS:
                    raise TimeoutError("no answer from Redis")
                if now - pinged >= PING_SECONDS:
                    pubsub.ping()
                    pinged = now
        finally:
            pubsub.close()
            client.close()

    def _set_live(self, live: bool) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._forget_retired_keys()
            self._live = live
