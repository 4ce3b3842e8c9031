"""The watchdog's judgement (`Beats`) across a Redis outage, on a fake clock: silence counts only over
time the watchdog could see. The real heartbeat, Redis and `ss -K` are in tests/integration."""

from __future__ import annotations

from booking_service.realtime.watchdog import Beats

A, B = b"10.0.0.1:5000", b"10.0.0.2:5000"


def beating(beats: Beats, start: float, counters: dict[bytes, int], seconds: float, who: tuple[bytes, ...]):
    """Polls every 0.1 s for `seconds` from `start`, the instances in `who` bumping their counters."""
    now = start
    while now < start + seconds:
        for address in who:
            counters[address] = counters.get(address, 0) + 1
        beats.update({address: str(n).encode() for address, n in counters.items()}, now)
        now = round(now + 0.1, 3)
    return now


def test_an_instance_silent_while_another_beats_is_frozen() -> None:
    beats, counters = Beats(silent_after=0.5), {}
    now = beating(beats, 0.0, counters, 1.0, (A, B))
    now = beating(beats, now, counters, 0.6, (A,))
    assert beats.frozen(now - 0.1) == [B.decode()]


def test_after_an_outage_the_instance_that_reconnects_a_poll_later_is_not_judged() -> None:
    beats, counters = Beats(silent_after=0.5), {}
    now = beating(beats, 0.0, counters, 1.0, (A, B))
    for _ in range(30):  # three seconds of failed reads while Redis is down
        beats.lost_sight()
        now = round(now + 0.1, 3)
    beats.update({A: b"1"}, now)  # Redis back, empty: A's heartbeat reconnected first
    assert beats.frozen(now) == []
    beats.update({A: b"2", B: b"1"}, now + 0.1)  # B's one poll later
    assert beats.frozen(now + 0.1) == []


def test_an_instance_frozen_through_a_redis_restart_is_still_judged() -> None:
    beats, counters = Beats(silent_after=0.5), {}
    now = beating(beats, 0.0, counters, 1.0, (A, B))
    beats.lost_sight()
    restarted: dict[bytes, int] = {}
    end = beating(beats, now + 2.0, restarted, 0.7, (A,))  # only A ever beats again
    assert beats.frozen(end - 0.1) == [B.decode()]
    assert beats.frozen(now + 2.3) == []  # not before it was silent for 0.5 s of sight


def test_a_counter_that_vanishes_without_a_failed_read_starts_its_silence_then() -> None:
    beats, counters = Beats(silent_after=0.5), {}
    now = beating(beats, 0.0, counters, 1.0, (A, B))  # B's last beat seen at 0.9
    for step in range(5):  # Redis restarted between two polls: A back at once, B's beats 0.5 s later
        beats.update({A: str(step + 1).encode()}, round(now + 0.1 * step, 3))
    assert beats.frozen(round(now + 0.45, 3)) == []  # 0.55 s after B's last beat, 0.45 s after it vanished
    beats.update({A: b"6", B: b"1"}, round(now + 0.5, 3))
    assert beats.frozen(round(now + 0.5, 3)) == []
