"""The in-process copies (common.near_cache) against the session stack's real Redis pub/sub."""

from __future__ import annotations

import time
from typing import Any

import pytest

from common.near_cache import MAX_ENTRIES, NearCache
from tests.support.faults import wait_until

CHANNEL = "hrp:test:near"


def subscribed(url: str) -> NearCache:
    near: NearCache = NearCache(url, channel=CHANNEL)
    near.epoch()  # starts the listener
    assert wait_until(lambda: near.epoch() is not None, 5), "subscription never confirmed"
    return near


def unsubscribed_but_trusted(**options: Any) -> NearCache:
    """A confirmed subscription without one: only what `put` keeps is looked at. The tests read `_epoch`:
    `epoch()` would start the listener, whose failure to connect would end the trust mid-test."""
    near: NearCache = NearCache("redis://127.0.0.1:1/0", channel=CHANNEL, **options)
    near._live = True
    return near


def test_a_copy_is_served_until_another_instance_publishes_an_invalidation(stack: Any) -> None:
    mine, other = subscribed(stack.env["REDIS_URL"]), subscribed(stack.env["REDIS_URL"])
    mine.put(mine.epoch(), "list:all", b"[1]")
    assert mine.get("list:all") == b"[1]"
    other.publish_invalidation()
    assert wait_until(lambda: mine.get("list:all") is None, 2, interval=0.01)


def test_a_read_that_straddles_an_invalidation_is_not_kept(stack: Any) -> None:
    mine, other = subscribed(stack.env["REDIS_URL"]), subscribed(stack.env["REDIS_URL"])
    epoch = mine.epoch()  # the read starts ...
    other.publish_invalidation()  # ... a writer commits meanwhile ...
    assert wait_until(lambda: mine.epoch() != epoch, 2, interval=0.01)
    mine.put(epoch, "item:7", b"old")  # ... and the read finishes with pre-change data
    assert mine.get("item:7") is None


def test_without_a_confirmed_subscription_nothing_is_kept() -> None:
    near: NearCache = NearCache("redis://127.0.0.1:1/0", channel=CHANNEL)  # nothing listens there
    epoch = near.epoch()
    time.sleep(0.3)
    assert epoch is None and near.epoch() is None
    near.put(near.epoch(), "list:all", b"[1]")
    assert near.get("list:all") is None


def test_an_outage_is_warned_of_once_not_on_every_retry(caplog: Any) -> None:
    caplog.set_level("WARNING", logger="common.near_cache")
    near: NearCache = NearCache("redis://127.0.0.1:1/0", channel=CHANNEL)  # refused: retried every 0.5 s
    near.epoch()
    time.sleep(1.8)
    lost = [r for r in caplog.records if r.getMessage().startswith("near-cache subscription lost")]
    assert len(lost) == 1


@pytest.mark.parametrize(("chance", "lifetime"), [(0.0, 5.0), (0.5, 3.75), (1.0, 2.5)])
def test_copies_expire_within_their_max_age_each_after_its_own_share_of_it(
    stack: Any, chance: float, lifetime: float
) -> None:
    """Copies filled together (after an invalidation) must not all expire together: each lives between
    half of `max_age` (spread 0.5) and all of it, never longer."""
    now = [0.0]
    near: NearCache = NearCache(
        stack.env["REDIS_URL"], channel=CHANNEL, max_age=5.0, clock=lambda: now[0], chance=lambda: chance
    )
    near.epoch()
    assert wait_until(lambda: near.epoch() is not None, 5)
    near.put(near.epoch(), "list:all", b"[1]")
    now[0] = lifetime - 0.1
    assert near.get("list:all") == b"[1]"
    now[0] = lifetime + 0.1
    assert near.get("list:all") is None


def test_copies_filled_together_expire_at_different_times() -> None:
    now = [0.0]
    near = unsubscribed_but_trusted(max_age=5.0, clock=lambda: now[0])
    epoch = near._epoch
    for key in range(200):
        near.put(epoch, str(key), b"x")
    now[0] = 3.75
    left = sum(near.get(str(key)) is not None for key in range(200))
    assert 40 < left < 160, left


def test_one_key_is_retired_on_every_instance_and_the_others_stay(stack: Any) -> None:
    mine, other = subscribed(stack.env["REDIS_URL"]), subscribed(stack.env["REDIS_URL"])
    epoch = mine.epoch()
    mine.put(epoch, "7", "booking 7")
    mine.put(epoch, "8", "booking 8")
    other.publish_invalidation("7")
    assert wait_until(lambda: mine.get("7") is None, 2, interval=0.01)
    assert mine.get("8") == "booking 8"


def test_no_copy_of_a_key_is_kept_while_it_settles_after_a_change(stack: Any) -> None:
    """For replica-served reads: just after a change the replica may still hold the old row."""
    now = [100.0]
    near: NearCache = NearCache(stack.env["REDIS_URL"], channel=CHANNEL, settle=2.0, clock=lambda: now[0])
    near.epoch()
    assert wait_until(lambda: near.epoch() is not None, 5)
    near.retire("7")
    now[0] = 101.9
    near.put(near.epoch(), "7", "read from a replica 1.9 s after the change")
    near.put(near.epoch(), "8", "another key")
    assert near.get("7") is None and near.get("8") == "another key"
    now[0] = 102.1
    near.put(near.epoch(), "7", "settled")
    assert near.get("7") == "settled"


def test_keys_retired_long_ago_do_not_make_every_key_settle_when_the_log_fills() -> None:
    """Keys retired once and never copied again (a cancelled booking nobody reads) stay in the log of
    settling keys until it is full; then the settled ones are forgotten, not every key made to settle."""
    now = [100.0]
    near = unsubscribed_but_trusted(settle=0.5, clock=lambda: now[0])
    for key in range(MAX_ENTRIES):
        near.retire(f"cancelled {key}")
    now[0] = 101.0
    near.retire("7")  # the log is full: the settled keys make room
    near.put(near._epoch, "8", "another key, kept")
    near.put(near._epoch, "7", "a key still settling, not kept")
    assert near.get("8") == "another key, kept" and near.get("7") is None


def test_when_keys_settling_at_once_are_too_many_to_remember_every_key_settles() -> None:
    now = [100.0]
    near = unsubscribed_but_trusted(settle=0.5, clock=lambda: now[0])
    for key in range(MAX_ENTRIES + 1):
        near.retire(f"changed {key}")
    near.put(near._epoch, "8", "not kept: which keys settle is forgotten")
    assert near.get("8") is None
    now[0] = 100.6
    near.put(near._epoch, "8", "kept once every key settled")
    assert near.get("8") == "kept once every key settled"


def test_a_read_that_straddles_another_keys_retirement_is_kept() -> None:
    near = unsubscribed_but_trusted()
    epoch = near._epoch  # a read of booking 8 starts ...
    near.retire("7")  # ... booking 7 changes meanwhile ...
    near.put(epoch, "8", "booking 8")  # ... the read of 8 is still right
    near.put(epoch, "7", "booking 7 from before its change")
    assert near.get("8") == "booking 8" and near.get("7") is None


def test_a_read_that_straddles_its_own_keys_retirement_on_another_instance_is_not_kept(stack: Any) -> None:
    mine, other = subscribed(stack.env["REDIS_URL"]), subscribed(stack.env["REDIS_URL"])
    epoch = mine.epoch()
    other.publish_invalidation("7")
    assert wait_until(lambda: mine.epoch() != epoch, 2, interval=0.01)
    mine.put(epoch, "7", "booking 7 from before its change")
    assert mine.get("7") is None
    mine.put(mine.epoch(), "7", "booking 7 read after it")
    assert mine.get("7") == "booking 7 read after it"


def test_when_the_retired_keys_are_too_many_to_remember_reads_under_way_keep_nothing() -> None:
    near = unsubscribed_but_trusted()
    epoch = near._epoch
    for key in range(MAX_ENTRIES + 1):  # the log of retired keys is bounded: it is forgotten once full
        near.retire(f"other {key}")
    near.put(epoch, "8", "read while the log was forgotten")
    assert near.get("8") is None
    near.put(near._epoch, "8", "read afterwards")
    assert near.get("8") == "read afterwards"


def test_a_lost_subscription_keeps_reads_under_way_from_keeping_anything() -> None:
    near = unsubscribed_but_trusted()
    epoch = near._epoch
    near._set_live(False)
    near._set_live(True)  # confirmed again before the read ends
    near.put(epoch, "8", "read while the subscription was down")
    assert near.get("8") is None
