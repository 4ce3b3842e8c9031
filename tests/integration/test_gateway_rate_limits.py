"""Per-user limits shared by gateway processes through the session stack's real Redis."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from gateway.ratelimit import Limit, SharedRateLimiter, redis_factory


@pytest.mark.parametrize("hits_per_sync", [1, 8, 30])
def test_two_processes_share_one_users_limit_within_the_stated_bound(stack: Any, hits_per_sync: int) -> None:
    """Two limiters stand for two gateway processes, syncing every `hits_per_sync` hits each (the
    background thread's interval, made explicit). Far from the limit hits are counted locally, near it
    they are checked against Redis: the pair admits the limit, and beyond it at most what the other
    process admitted in one sync interval."""
    store = redis_factory(stack.env["REDIS_URL"])
    first, second = (SharedRateLimiter(store, sync_interval=3600) for _ in range(2))
    user, limit = uuid.uuid4().hex, Limit(100, 3600)
    admitted = 0
    for i in range(400):
        limiter = first if i % 2 else second
        admitted += limiter.hit("user", user, limit) is None
        if i % (2 * hits_per_sync) == 2 * hits_per_sync - 1:
            first.sync()
            second.sync()
    assert 100 <= admitted <= 100 + hits_per_sync, admitted


def test_the_background_sync_shares_counts_without_being_asked(stack: Any) -> None:
    store = redis_factory(stack.env["REDIS_URL"])
    first = SharedRateLimiter(store, sync_interval=0.05)
    user, limit = uuid.uuid4().hex, Limit(1000, 3600)
    second = SharedRateLimiter(store, sync_interval=0.05)
    assert second.hit("user", user, limit) is None  # the window's first hit here: 1 in Redis
    assert all(first.hit("user", user, limit) is None for _ in range(600))
    time.sleep(0.5)  # first's syncer pushes its 600 hits
    assert second.hit("user", user, limit) is None
    time.sleep(0.5)  # second's syncer pushes that hit and learns 602
    verdicts = [second.hit("user", user, limit) for _ in range(500)]
    assert verdicts.count(None) == 1000 - 602, "only what is left of the shared limit is admitted"


def test_hits_counted_in_one_process_reach_the_other_through_redis(stack: Any) -> None:
    store = redis_factory(stack.env["REDIS_URL"])
    first, second = SharedRateLimiter(store), SharedRateLimiter(store)
    user, limit = uuid.uuid4().hex, Limit(50, 3600)
    assert all(first.hit("user", user, limit) is None for _ in range(40))
    first.sync()
    verdicts = [second.hit("user", user, limit) for _ in range(15)]
    assert verdicts.count(None) == 10, verdicts
