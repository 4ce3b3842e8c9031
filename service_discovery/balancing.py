"""Client-side load balancing over the healthy instances of a service."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class RoundRobin:
    """Hands out candidates in rotation; each call gets every candidate, the next one first."""

    def __init__(self) -> None:
        self._counters: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def order(self, key: str, candidates: Sequence[T]) -> list[T]:
        if not candidates:
            return []
        with self._lock:
            counter = self._counters.setdefault(key, itertools.count())
            start = next(counter) % len(candidates)
        return [*candidates[start:], *candidates[:start]]
