"""Fixed-window rate limits counted in process and shared across gateway processes through Redis.

The common case costs no network round trip: a hit is counted locally and pushed to Redis by a
background thread every `sync_interval` seconds (INCRBY on each window's key, every key in one
pipelined round trip), which also brings back what the other processes counted. Only a key's first hit
of a window in a process and the last `slack` hits of a window go to Redis synchronously, so a client
near its limit is judged on the shared count. The bound: a limit shared by P processes can be exceeded
by at most what the other P-1 processes admitted in one sync interval (never more than P times the
limit, since each process alone never admits more than the limit). Redis down: each process still
enforces the limit on its own counts (a client could then get P times the limit), never an outage.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from limits import parse

from common.cooldown import Cooldown
from gateway.metrics import RATE_LIMITED

log = logging.getLogger(__name__)

REDIS_TIMEOUTS = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}
KEY_PREFIX = "gateway:rl"


@dataclass(frozen=True)
class Limit:
    amount: int
    period: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`300/minute`, `10 per second` … (the `limits` package's notation)."""
        item = parse(text)
        return cls(item.amount, item.get_expiry())

    @property
    def slack(self) -> int:
        """Hits at the end of a window that are checked against Redis before they are admitted."""
        return max(1, self.amount // 10)


@dataclass
class _Window:
    limit: Limit
    expires_at: float
    shared: int = 0  # the count Redis last reported, our own pushed hits included
    pending: int = 0  # hits admitted here and not yet pushed

    @property
    def used(self) -> int:
        return self.shared + self.pending


RedisFactory = Callable[[], "redis.Redis | None"]


def redis_factory(url: str | None) -> RedisFactory:
    client = redis.Redis.from_url(url, **REDIS_TIMEOUTS) if url else None  # connects lazily
    return lambda: client


class SharedRateLimiter:
    def __init__(
        self,
        store: RedisFactory,
        *,
        sync_interval: float = 0.1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sync_interval = sync_interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._syncer: threading.Thread | None = None
        self._store_down = Cooldown(1.0)

    def hit(self, scope: str, key: str, limit: Limit) -> int | None:
        """Counts one request; None when admitted, else the seconds until the window ends (Retry-After)."""
        retry_after = self._hit(scope, key, limit)
        if retry_after is not None:
            RATE_LIMITED.labels(scope).inc()
        return retry_after

    def _hit(self, scope: str, key: str, limit: Limit) -> int | None:
        now = self._clock()
        start = int(now // limit.period) * limit.period
        redis_key = f"{KEY_PREFIX}:{scope}:{key}:{start}"
        retry_after = max(1, math.ceil(start + limit.period - now))
        with self._lock:
            window = self._windows.get(redis_key)
            learned = window is not None
            if window is None:  # the first hit of a window here asks Redis what the others counted
                window = self._windows[redis_key] = _Window(limit, start + limit.period)
            if window.used >= limit.amount:
                return retry_after
            if learned and limit.amount - window.used > limit.slack:
                window.pending += 1
                self._ensure_syncer()
                return None
            to_push, window.pending = window.pending + 1, 0
        shared = self._push(redis_key, to_push, limit.period)
        with self._lock:
            if shared is None:  # store unavailable: judge on what this process counted
                window.pending += to_push
                return None if window.used <= limit.amount else retry_after
            window.shared = max(window.shared, shared)
            return None if shared <= limit.amount else retry_after

    def sync(self) -> None:
        """Pushes pending hits and learns the shared counts in one round trip; drops ended windows."""
        now = self._clock()
        with self._lock:
            for key in [k for k, w in self._windows.items() if w.expires_at <= now]:
                del self._windows[key]
            batch = [(k, w, w.pending) for k, w in self._windows.items() if w.pending]
            for _, window, _ in batch:
                window.pending = 0
        if not batch:
            return
        counts = self._push_many([(key, count, window.limit.period) for key, window, count in batch])
        with self._lock:
            for (_, window, count), shared in zip(batch, counts, strict=True):
                if shared is None:
                    window.pending += count
                else:
                    window.shared = max(window.shared, shared)

    def _push(self, key: str, count: int, period: int) -> int | None:
        return self._push_many([(key, count, period)])[0]

    def _push_many(self, pushes: list[tuple[str, int, int]]) -> list[int | None]:
        """INCRBY (and a first EXPIRE) per key, all in one pipeline; None for each when the store is down."""
        client = self._store()
        if client is None or self._store_down.active:
            return [None] * len(pushes)
        try:
            with client.pipeline(transaction=False) as pipe:
                for key, count, period in pushes:
                    pipe.incrby(key, count)
                    pipe.expire(key, period + 1, nx=True)
                replies = pipe.execute()
            return [int(shared) for shared in replies[::2]]
        except (redis.RedisError, OSError) as exc:
            # One line per outage second, not a traceback per request.
            log.warning("rate-limit store unavailable, limits counted per process: %s", type(exc).__name__)
            self._store_down.start()
            return [None] * len(pushes)

    def _ensure_syncer(self) -> None:
        if self._syncer is None:  # started on first use, in the worker process (never before a fork)
            self._syncer = threading.Thread(target=self._sync_forever, name="rate-limit-sync", daemon=True)
            self._syncer.start()

    def _sync_forever(self) -> None:
        while True:
            time.sleep(self._sync_interval)
            try:
                self.sync()
            except Exception:  # the syncer must outlive any surprise; hits are still counted locally
                log.exception("rate-limit sync failed")
