"""Per-connection event budget: a token bucket for events, and a second one for refusals.

A connection may send `rate` events a second with bursts of `burst`; an event beyond that is refused.
Refusals drain their own bucket (`flood_refusals`, one forgiven per second): a connection that empties
it keeps flooding and is closed. The same bucket, spent in bytes, paces how fast a WebSocket is read.
Pure code, no clock of its own: callers pass `now` (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REFUSALS_FORGIVEN_PER_SECOND = 1.0


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    capacity: float  # the most tokens it holds (the burst)
    now: float  # when it was created (full)
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and capacity >= 1")
        self.tokens = self.capacity
        self.stamp = self.now

    def take(self, now: float) -> bool:
        """Spends one token if there is one; a clock that goes backwards adds nothing."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def spend(self, now: float, amount: float) -> float:
        """Spends `amount` even if it runs into debt; returns the seconds until the debt is paid off."""
        self._refill(now)
        self.tokens -= amount
        return max(0.0, -self.tokens / self.rate)

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now


class EventBudget:
    """What one connection may still send; `flooding` once it has used up its refusals."""

    def __init__(self, rate: float, burst: int, flood_refusals: int, now: float) -> None:
        self._events = TokenBucket(rate, burst, now)
        self._refusals = TokenBucket(REFUSALS_FORGIVEN_PER_SECOND, flood_refusals, now)
        self.flooding = False

    def allow(self, now: float) -> bool:
        if self._events.take(now):
            return True
        if not self._refusals.take(now):
            self.flooding = True
        return False
