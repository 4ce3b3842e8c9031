"""Leave a failed dependency alone for a while: the one rule behind every "Redis (or a replica) is down,
do without it for N seconds" of the suite — the booking cache, the login limiter, the gateway's rate-limit
store, the token-version reader, the user service's replicas. Asking a dead server on every request
would cost each request a timeout and fill the log; N seconds later it is simply tried again.

Not a circuit breaker (gateway/breaker.py counts failures and lets one trial through): one failure
starts the pause, and when it ends every caller may try. A breaker library (pybreaker, circuitbreaker)
would wrap each call in a decorator and an exception of its own for what is a timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Cooldown:
    """`active` for `seconds` after `start()`. One float, written whole: safe across threads."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._until = float("-inf")

    @property
    def active(self) -> bool:
        """Whether the dependency is still being left alone."""
        return self._clock() < self._until

    def start(self) -> None:
        """The dependency just failed: leave it alone for `seconds` from now."""
        self._until = self._clock() + self.seconds
