"""Refreshes the gateway's copies ahead of their expiry, off the request path.

A copy answered in the last part of its life (gateway/copies.py `REFRESH_AHEAD_SHARE`) is asked for again
on a background thread, with the headers of the request that found it (so a reader's copy is refreshed
with that reader's own token), and kept through the same `AnswerCopies.keep` as any answer: with epochs
taken before it was sent, so a refresh that overlapped a retirement keeps nothing. The reader is answered
from the copy at once. Without it, each copy's expiry cost one reader a hop to booking_service (and often
MariaDB): at 50 % of the mixed maximum, a third of the requests slower than the p99 bound were such misses
(bench/README.md).

Bounded: one refresh in flight per copy, and none for RETRY_SECONDS after one that failed or was not kept
(a failing service is not asked once per read); at most MAX_PENDING keys tracked at once (more are skipped:
the copy expires and the next reader misses, as before); REFRESH_THREADS threads, started on first use
(after the fork).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)
REFRESH_THREADS = 2
MAX_PENDING = 64
RETRY_SECONDS = 1.0


class AheadRefresher:
    def __init__(
        self,
        threads: int = REFRESH_THREADS,
        max_pending: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threads, self._max_pending, self._clock = threads, max_pending, clock
        self._held: dict[str, float] = {}  # key -> until when no refresh of it starts (inf: in flight)
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, key: str, refresh: Callable[[], bool]) -> bool:
        """Runs `refresh` (which says whether it kept a new copy) on a background thread, unless `key` is
        held (in flight, or failed a moment ago) or too many keys are; whether it will run."""
        now = self._clock()
        with self._lock:
            if self._held.get(key, 0.0) > now:
                return False
            if len(self._held) >= self._max_pending:
                self._held = {k: until for k, until in self._held.items() if until > now}
                if len(self._held) >= self._max_pending:
                    return False
            self._held[key] = math.inf
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, "copy-refresh")
        self._pool.submit(self._run, key, refresh)
        return True

    def in_flight(self) -> int:
        with self._lock:
            return sum(until == math.inf for until in self._held.values())

    def _run(self, key: str, refresh: Callable[[], bool]) -> None:
        kept = False
        try:
            kept = refresh()
        except Exception as error:  # the copy simply expires; the next reader's miss asks again
            log.warning("copy refresh failed: %s: %s", type(error).__name__, error)
        finally:
            with self._lock:
                if kept:
                    self._held.pop(key, None)
                else:
                    self._held[key] = self._clock() + RETRY_SECONDS
