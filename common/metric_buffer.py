"""Hot-path metric updates buffered in process and written to prometheus-client every half second.

In multiprocess mode every `inc` and `observe` writes the worker's mmap file under a lock: 3-7 µs each
here, so a request's counter, histogram and upstream counter cost ~20 µs, a tenth of the gateway's own
CPU per request. Buffered, a request costs a lock and a dict update per metric (~1 µs); a daemon thread
of the worker (a `Flusher`, which sleeps without waking while nothing is pending) applies the sums
(counters and gauges by `inc(total)`, a histogram by adding to its bucket and sum values, which is what
its `observe` does one at a time). `/metrics` and process exit flush first,
so a scrape sees at most half a second's delay from the other workers and nothing is lost on exit.
"""

from __future__ import annotations

import atexit
import bisect
import os
import threading
from collections.abc import Callable
from typing import Any

from common.flusher import Flusher

FLUSH_SECONDS = 0.5

_lock = threading.Lock()
_adds: dict[Any, float] = {}  # counter or gauge child -> pending amount
_observations: dict[Any, list[float]] = {}  # histogram child -> [count per bucket ..., sum]


def adder(child: Any) -> Callable[..., None]:
    """`add(amount=1)` for a counter or gauge child (gauges may take negative amounts)."""

    def add(amount: float = 1.0) -> None:
        with _lock:
            _adds[child] = _adds.get(child, 0.0) + amount
        _flusher.poke()

    return add


def observer(child: Any) -> Callable[[float], None]:
    """`observe(seconds)` for a histogram child."""
    bounds = list(child._upper_bounds)
    width = len(bounds) + 1

    def observe(amount: float) -> None:
        index = bisect.bisect_left(bounds, amount)  # the first bucket whose bound is >= amount
        with _lock:
            pending = _observations.get(child)
            if pending is None:
                pending = _observations[child] = [0.0] * width
            pending[index] += 1
            pending[-1] += amount
        _flusher.poke()

    return observe


def flush() -> None:
    global _adds, _observations
    with _lock:
        adds, observations = _adds, _observations
        _adds, _observations = {}, {}
    for child, amount in adds.items():
        child.inc(amount)
    for child, pending in observations.items():
        for index, count in enumerate(pending[:-1]):
            if count:
                child._buckets[index].inc(count)
        child._sum.inc(pending[-1])


def _pending() -> bool:
    return bool(_adds or _observations)


def _after_fork_in_child() -> None:
    """A forked worker starts with nothing pending (the parent's sums are the parent's)."""
    global _lock, _adds, _observations
    _lock, _adds, _observations = threading.Lock(), {}, {}


_flusher = Flusher(flush, _pending, FLUSH_SECONDS, "metrics-flush")
os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(flush)
