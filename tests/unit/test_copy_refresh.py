"""gateway/refresh.py: copies refreshed on background threads, one refresh per key at a time, none for a
moment after one that failed or kept nothing. Real threads; a settable clock for the hold."""

from __future__ import annotations

import threading

from gateway.refresh import RETRY_SECONDS, AheadRefresher
from tests.support.faults import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wait_done(refresher: AheadRefresher) -> None:
    """Until no refresh is in flight (each ends by holding its key or releasing it)."""
    assert wait_until(lambda: refresher.in_flight() == 0, 5, interval=0.005), "a refresh never finished"


def test_a_refresh_runs_off_the_caller_s_thread_and_once_per_key_while_in_flight() -> None:
    refresher, release, ran = AheadRefresher(), threading.Event(), []

    def refresh() -> bool:
        ran.append(threading.current_thread().name)
        release.wait(5)
        return True

    assert refresher.submit("a", refresh)
    assert not refresher.submit("a", refresh)  # in flight
    assert refresher.submit("b", refresh)  # another key
    release.set()
    wait_done(refresher)
    assert len(ran) == 2 and all(name.startswith("copy-refresh") for name in ran)
    assert refresher.submit("a", refresh)  # kept: the next one may start at once
    wait_done(refresher)


def test_a_failed_or_unkept_refresh_holds_its_key_for_a_moment() -> None:
    clock = Clock()
    refresher = AheadRefresher(clock=clock)

    def fails() -> bool:
        raise OSError("service down")

    for outcome in (fails, lambda: False):
        key = f"key-{outcome.__name__}"
        assert refresher.submit(key, outcome)
        wait_done(refresher)
        assert not refresher.submit(key, lambda: True)
        clock.now += RETRY_SECONDS + 0.01
        assert refresher.submit(key, lambda: True)
        wait_done(refresher)


def test_at_most_max_pending_keys_are_tracked_and_expired_holds_make_room() -> None:
    clock, release = Clock(), threading.Event()
    refresher = AheadRefresher(max_pending=3, clock=clock)
    assert all(refresher.submit(f"k{i}", lambda: release.wait(5) and False) for i in range(3))
    assert not refresher.submit("k3", lambda: True)  # three in flight
    release.set()
    wait_done(refresher)
    assert not refresher.submit("k3", lambda: True)  # all three held after keeping nothing
    clock.now += RETRY_SECONDS + 0.01
    assert refresher.submit("k3", lambda: True)
    wait_done(refresher)
