"""The gateway's retry budget and its in-process rate limiter (store-less: no server needed)."""

from __future__ import annotations

from gateway.ratelimit import Limit, SharedRateLimiter
from gateway.upstream import RetryBudget
from tests.support.clock import FakeClock


def test_retry_budget_allows_at_most_a_tenth_of_requests_plus_its_reserve() -> None:
    budget = RetryBudget(0.1, reserve=10.0)
    retries = 0
    for _ in range(1000):  # every request fails and asks for a retry
        budget.deposit()
        retries += budget.withdraw()
    assert 100 <= retries <= 110


def test_retry_budget_refuses_once_spent() -> None:
    budget = RetryBudget(0.1, reserve=2.0)
    assert budget.withdraw() and budget.withdraw()
    assert not budget.withdraw()


def test_limit_parses_the_limits_notation() -> None:
    assert Limit.parse("300/minute") == Limit(300, 60)
    assert Limit.parse("5 per second") == Limit(5, 1)


def test_limiter_admits_exactly_the_limit_per_window_then_says_when_to_retry() -> None:
    clock = FakeClock(60 * 16_667 + 20.0)  # 20 s into a minute window
    limiter = SharedRateLimiter(lambda: None, clock=clock)
    limit = Limit(30, 60)
    verdicts = [limiter.hit("ip", "10.0.0.1", limit) for _ in range(32)]
    assert verdicts[:30] == [None] * 30
    assert verdicts[30:] == [40, 40]
    assert limiter.hit("ip", "10.0.0.2", limit) is None, "another key has its own budget"
    clock.now += 40  # the next window
    assert limiter.hit("ip", "10.0.0.1", limit) is None


def test_limiter_keeps_scopes_apart() -> None:
    limiter = SharedRateLimiter(lambda: None, clock=FakeClock())
    limit = Limit(1, 60)
    assert limiter.hit("user", "7", limit) is None
    assert limiter.hit("ip", "7", limit) is None
    assert limiter.hit("user", "7", limit) is not None
