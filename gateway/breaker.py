"""A circuit breaker per upstream instance: consecutive failures open it, a cool-down half-opens it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed: everything passes. `failure_threshold` consecutive failures open it. After `reset_timeout`
    one trial request may pass (half-open): success closes it, failure opens it again.

    Callers decide what a failure is; the gateway counts 5xx, timeouts and connection errors, never 4xx.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self._on_change = on_change
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._changed_at = 0.0

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    def available(self) -> bool:
        """Whether a request could pass now (does not reserve the half-open trial)."""
        with self._lock:
            return self._state is BreakerState.CLOSED or self._cooled_down()

    def try_acquire(self) -> bool:
        """Reserve the right to send one request; in half-open only one trial per cool-down passes."""
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if not self._cooled_down():
                return False
            # Re-arming the timer lets exactly one trial through per cool-down, even if it never reports.
            before, self._state, self._changed_at = self._state, BreakerState.HALF_OPEN, self._clock()
        self._report(before, BreakerState.HALF_OPEN)
        return True

    def record_success(self) -> None:
        with self._lock:
            before, self._state, self._failures = self._state, BreakerState.CLOSED, 0
        self._report(before, BreakerState.CLOSED)

    def record_failure(self) -> None:
        with self._lock:
            before = self._state
            self._failures += 1
            tripped = self._failures >= self.failure_threshold
            if self._state is BreakerState.HALF_OPEN or tripped:
                self._state, self._changed_at = BreakerState.OPEN, self._clock()
            after = self._state
        self._report(before, after)

    def _report(self, before: BreakerState, after: BreakerState) -> None:
        if self._on_change is not None and after is not before:
            self._on_change(after)

    def _cooled_down(self) -> bool:
        return self._clock() - self._changed_at >= self.reset_timeout


class BreakerBoard:
    """One breaker per upstream instance id, created on first use."""

    def __init__(
        self,
        failure_threshold: int,
        reset_timeout: float,
        on_change: Callable[[str, BreakerState], None] | None = None,
    ) -> None:
        self._threshold, self._reset_timeout = failure_threshold, reset_timeout
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is None:
            with self._lock:
                breaker = self._breakers.get(key)
                if breaker is None:
                    breaker = self._breakers[key] = self._new(key)
        return breaker

    def _new(self, key: str) -> CircuitBreaker:
        if self._on_change is None:
            return CircuitBreaker(self._threshold, self._reset_timeout)
        report = self._on_change
        report(key, BreakerState.CLOSED)
        return CircuitBreaker(self._threshold, self._reset_timeout, on_change=lambda s: report(key, s))
