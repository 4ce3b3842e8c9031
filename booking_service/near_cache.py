"""In-process copies of encoded property reads, retired on every instance by a Redis pub/sub message.

A cache hit then costs no network round trip and no JSON work. Copies are served only while this
process holds a confirmed subscription: when the connection drops, every copy is dropped and reads go
back to Redis Cluster until the subscription is confirmed again, so a missed message cannot leave a
stale copy behind. Each invalidation bumps a local epoch; a read stores its result only if the epoch
did not move while it was computed, so an answer built from pre-change data is never kept. Copies
also expire after `max_age` seconds, a bound that holds even if Redis were to drop a message, and a
frozen Redis (no answer to the listener's pings for 3 s) counts as a lost subscription.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from booking_service import metrics

log = logging.getLogger(__name__)

CHANNEL = "hrp:props:invalidated"
RECONNECT_SECONDS = 0.5
PING_SECONDS = 1.0
SILENCE_SECONDS = 3.0
MAX_ENTRIES = 4096


class NearCache:
    def __init__(
        self, redis_url: str | None, *, max_age: float = 5.0, clock: Callable[[], float] = time.monotonic
    ):
        self._redis_url = redis_url
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[str, tuple[bytes, float]] = {}
        self._epoch = 0
        self._live = False
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._publisher: redis.Redis | None = None

    @property
    def enabled(self) -> bool:
        return self._redis_url is not None

    def epoch(self) -> int | None:
        """The token a read passes to `put`; None while copies cannot be trusted (not subscribed)."""
        self._ensure_listener()
        return self._epoch if self._live else None

    def get(self, key: str) -> bytes | None:
        if not self._live:
            metrics.near_bypass()
            return None
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[1] > self._max_age:
            metrics.near_miss()
            return None
        metrics.near_hit()
        return entry[0]

    def put(self, epoch: int | None, key: str, value: bytes) -> None:
        with self._lock:
            if epoch is None or not self._live or epoch != self._epoch:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (value, self._clock())

    def publish_invalidation(self) -> None:
        """Tells every instance (this one included) to drop its copies; never raises."""
        self.retire()
        if not self.enabled:
            return
        try:
            if self._publisher is None:
                self._publisher = redis.Redis.from_url(
                    self._redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
                )
            self._publisher.publish(CHANNEL, b"1")
        except (redis.RedisError, OSError) as exc:
            # The others stop trusting their copies only when their own subscription breaks; until
            # then `max_age` bounds what they serve.
            log.error("near-cache invalidation not published: %s", type(exc).__name__)

    def retire(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def _ensure_listener(self) -> None:
        if self._listener is None and self.enabled:
            with self._lock:
                if self._listener is None:  # started in the worker on first use, never before a fork
                    self._listener = threading.Thread(
                        target=self._listen_forever, name="near-cache", daemon=True
                    )
                    self._listener.start()

    def _listen_forever(self) -> None:
        while True:
            try:
                self._listen()
            except Exception as exc:  # any failure: stop trusting copies, then subscribe again
                log.warning("near-cache subscription lost: %s", type(exc).__name__)
            self._set_live(False)
            time.sleep(RECONNECT_SECONDS)

    def _listen(self) -> None:
        """Pings every second; silence for SILENCE_SECONDS (a frozen Redis) counts as a lost subscription."""
        client = redis.Redis.from_url(
            self._redis_url, socket_connect_timeout=1.0, socket_timeout=SILENCE_SECONDS
        )
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(CHANNEL)
            heard = pinged = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=PING_SECONDS)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    if message["type"] == "subscribe":
                        self._set_live(True)
                    elif message["type"] == "message":
                        self.retire()
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
            self._live = live
