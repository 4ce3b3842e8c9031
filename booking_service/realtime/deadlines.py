"""Actions due at a time, each under a key that cancels or replaces it, run by one background task.

One task and a heap instead of a sleeping greenlet per connection: a client that reconnects in a loop
must not leave a timer behind for every token it ever presented (those can sleep for an hour).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)
Action = Callable[[], None]


class Deadlines:
    def __init__(
        self,
        spawn: Callable[[Action], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._spawn = spawn  # runs a due action on its own, so a slow one delays no other
        self._clock = clock
        self._heap: list[tuple[float, int, Hashable]] = []
        self._live: dict[Hashable, tuple[int, Action]] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._live)

    def set(self, key: Hashable, delay: float, action: Action) -> None:
        """Runs `action` after `delay` seconds unless `key` is cancelled or set again first."""
        seq = next(self._seq)
        self._live[key] = (seq, action)
        heapq.heappush(self._heap, (self._clock() + max(0.0, delay), seq, key))
        if len(self._heap) > 2 * len(self._live) + 64:
            self._compact()

    def cancel(self, key: Hashable) -> None:
        self._live.pop(key, None)

    def run_due(self) -> int:
        """Starts every action whose time has come; returns how many."""
        now, started = self._clock(), 0
        while self._heap and self._heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._heap)
            entry = self._live.get(key)
            if entry is None or entry[0] != seq:
                continue  # cancelled or replaced
            del self._live[key]
            self._spawn(_logged(entry[1]))
            started += 1
        return started

    def run_forever(self, sleep: Callable[[float], object], tick: float) -> None:
        while True:
            self.run_due()
            sleep(tick)

    def _compact(self) -> None:
        live = {(seq, key) for key, (seq, _) in self._live.items()}
        self._heap = [item for item in self._heap if (item[1], item[2]) in live]
        heapq.heapify(self._heap)


def _logged(action: Action) -> Action:
    def run() -> None:
        try:
            action()
        except Exception as exc:
            log.error("scheduled socket action failed: %s", type(exc).__name__, exc_info=exc)

    return run
