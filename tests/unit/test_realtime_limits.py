"""The Socket.IO process's abuse limits as pure code: token buckets, the per-connection event budget, the
deadline scheduler, the property-existence memory, the paced WebSocket reads and the event name read
from a packet's first bytes. A fake clock and a fake socket; no servers, milliseconds."""

from __future__ import annotations

import pytest

from booking_service.realtime.deadlines import Deadlines
from booking_service.realtime.guard import event_name
from booking_service.realtime.properties import (
    FOUND_TTL_SECONDS,
    MISSING_TTL_SECONDS,
    PropertyDirectory,
)
from booking_service.realtime.ratelimit import EventBudget, TokenBucket
from booking_service.realtime.transport import READ_AHEAD_MESSAGES, PacedSocket
from tests.support.clock import FakeClock


# ---- TokenBucket ------------------------------------------------------------------------------------
def test_a_full_bucket_allows_its_burst_then_refuses() -> None:
    bucket = TokenBucket(rate=20, capacity=40, now=0.0)
    assert [bucket.take(0.0) for _ in range(41)] == [True] * 40 + [False]


def test_tokens_come_back_at_the_rate_and_never_above_capacity() -> None:
    bucket = TokenBucket(rate=20, capacity=40, now=0.0)
    for _ in range(40):
        bucket.take(0.0)
    assert bucket.take(0.049) is False  # 0.98 of a token
    assert bucket.take(0.05) is True
    assert bucket.take(0.05) is False
    assert sum(bucket.take(3600.0) for _ in range(100)) == 40  # an hour idle still buys one burst


def test_sustained_rate_is_the_configured_rate() -> None:
    bucket = TokenBucket(rate=20, capacity=40, now=0.0)
    sent = [i / 1000 for i in range(10_000)]  # 1000 events a second for 10 s
    assert sum(bucket.take(t) for t in sent) == pytest.approx(40 + 20 * 10, abs=1)


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    bucket = TokenBucket(rate=20, capacity=2, now=10.0)
    assert bucket.take(10.0) and bucket.take(10.0)
    assert bucket.take(5.0) is False
    assert bucket.take(10.0) is False


def test_spending_bytes_runs_into_debt_paid_off_at_the_rate() -> None:
    bucket = TokenBucket(rate=1000, capacity=4000, now=0.0)
    assert bucket.spend(0.0, 4000) == 0.0
    assert bucket.spend(0.0, 500) == pytest.approx(0.5)
    assert bucket.spend(0.5, 0) == 0.0


@pytest.mark.parametrize(("rate", "capacity"), [(0, 10), (-1, 10), (1, 0)])
def test_a_bucket_that_could_never_allow_anything_is_refused(rate, capacity) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, capacity=capacity, now=0.0)


# ---- EventBudget ------------------------------------------------------------------------------------
def test_a_flood_is_refused_then_marked_flooding_after_its_refusals() -> None:
    budget = EventBudget(rate=20, burst=40, flood_refusals=40, now=0.0)
    verdicts = [budget.allow(0.0) for _ in range(80)]
    assert verdicts == [True] * 40 + [False] * 40
    assert not budget.flooding  # 40 refusals answered, none forgiven yet
    assert budget.allow(0.0) is False
    assert budget.flooding


def test_a_polite_client_at_the_rate_is_never_refused() -> None:
    budget = EventBudget(rate=20, burst=40, flood_refusals=40, now=0.0)
    assert all(budget.allow(i * 0.05) for i in range(2000))  # 20/s for 100 s
    assert not budget.flooding


def test_occasional_bursts_above_the_rate_are_forgiven() -> None:
    budget = EventBudget(rate=20, burst=40, flood_refusals=40, now=0.0)
    for minute in range(10):
        t = minute * 60.0
        refused = sum(not budget.allow(t) for _ in range(60))  # 60 at once, once a minute
        assert refused == 20
    assert not budget.flooding


def test_a_client_just_above_the_rate_is_closed_eventually() -> None:
    budget = EventBudget(rate=20, burst=40, flood_refusals=40, now=0.0)
    t = 0.0
    while not budget.flooding and t < 600:
        budget.allow(t)
        t += 1 / 25  # 25 events a second: 5 refused a second, 1 forgiven
    assert budget.flooding and 10 < t < 30


# ---- Deadlines --------------------------------------------------------------------------------------
def scheduler() -> tuple[Deadlines, FakeClock, list[str]]:
    clock, ran = FakeClock(1000.0), []
    return Deadlines(lambda action: action(), clock), clock, ran


def test_actions_run_when_due_and_only_once() -> None:
    deadlines, clock, ran = scheduler()
    deadlines.set("a", 5.0, lambda: ran.append("a"))
    deadlines.set("b", 1.0, lambda: ran.append("b"))
    clock.now += 0.99
    assert deadlines.run_due() == 0
    clock.now += 0.01
    deadlines.run_due()
    clock.now += 4.0
    deadlines.run_due()
    deadlines.run_due()
    assert ran == ["b", "a"]
    assert len(deadlines) == 0


def test_cancelled_or_replaced_actions_do_not_run() -> None:
    deadlines, clock, ran = scheduler()
    deadlines.set("a", 1.0, lambda: ran.append("first"))
    deadlines.set("a", 2.0, lambda: ran.append("second"))
    deadlines.set("b", 1.0, lambda: ran.append("b"))
    deadlines.cancel("b")
    deadlines.cancel("never-set")
    clock.now += 1.5
    deadlines.run_due()
    assert ran == []
    clock.now += 1.0
    deadlines.run_due()
    assert ran == ["second"]


def test_a_failing_action_does_not_stop_the_others() -> None:
    deadlines, _, ran = scheduler()
    deadlines.set("boom", 0.0, lambda: 1 / 0)
    deadlines.set("ok", 0.0, lambda: ran.append("ok"))
    deadlines.run_due()
    assert ran == ["ok"]


def test_cancelled_entries_do_not_pile_up() -> None:
    """A client reconnecting in a loop leaves an hour-long expiry behind each time; the heap stays small."""
    deadlines, _, _ = scheduler()
    for i in range(100_000):
        deadlines.set(("exp", i), 3600.0, lambda: None)
        deadlines.cancel(("exp", i))
    assert len(deadlines) == 0
    assert len(deadlines._heap) <= 64 + 1


# ---- PropertyDirectory ------------------------------------------------------------------------------
def directory(existing: set[int], **options) -> tuple[PropertyDirectory, FakeClock, list[int]]:
    clock, asked = FakeClock(1000.0), []

    def lookup(property_id: int) -> bool:
        asked.append(property_id)
        return property_id in existing

    return PropertyDirectory(lookup, clock, **options), clock, asked


def test_answers_are_remembered_for_their_ttl() -> None:
    properties, clock, asked = directory({7})
    assert properties.exists(7) and properties.exists(7)
    assert not properties.exists(8) and not properties.exists(8)
    assert asked == [7, 8]
    clock.now += MISSING_TTL_SECONDS
    assert not properties.exists(8)
    assert properties.exists(7)
    assert asked == [7, 8, 8]
    clock.now += FOUND_TTL_SECONDS
    assert properties.exists(7)
    assert asked == [7, 8, 8, 7]


def test_memory_is_bounded_oldest_first() -> None:
    properties, _, asked = directory(set(range(100)), max_entries=10)
    for property_id in range(20):
        properties.exists(property_id)
    properties.exists(19)
    properties.exists(0)
    assert asked == [*range(20), 0]
    assert len(properties._known) == 10


def test_a_database_failure_is_raised_not_guessed_and_not_remembered() -> None:
    calls = []

    def failing(property_id: int) -> bool:
        calls.append(property_id)
        raise ConnectionError("database down")

    properties = PropertyDirectory(failing)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            properties.exists(3)
    assert calls == [3, 3]


# ---- PacedSocket ------------------------------------------------------------------------------------
class FakeSocket:
    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.reads = 0
        self.shut = False

    def recv(self, size: int) -> bytes:
        self.reads += 1
        return self.chunk[:size]

    def shutdown(self, how: int) -> None:
        self.shut = True

    def getpeername(self) -> tuple[str, int]:
        return ("127.0.0.1", 1)


def paced(chunk: bytes, backlog: list, rate: float = 1000, burst: float = 4000):
    clock, slept = FakeClock(1000.0), []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    raw = FakeSocket(chunk)
    return PacedSocket(raw, TokenBucket(rate, burst, clock()), sleep, clock, backlog), raw, slept


def test_reads_within_the_burst_only_yield() -> None:
    sock, _, slept = paced(b"x" * 1000, [])
    assert [sock.recv(4096) for _ in range(4)] == [b"x" * 1000] * 4
    assert slept == [0.0] * 4


def test_reads_beyond_the_budget_sleep_off_their_debt() -> None:
    sock, _, slept = paced(b"x" * 1000, [])
    for _ in range(6):
        sock.recv(4096)
    assert slept[4:] == [pytest.approx(1.0), pytest.approx(1.0)]  # 1000 bytes at 1000 bytes a second


def test_no_read_while_the_backlog_is_full() -> None:
    backlog = ["message"] * READ_AHEAD_MESSAGES
    sock, raw, slept = paced(b"x", backlog)

    def drain_on_sleep(seconds: float) -> None:
        slept.append(seconds)
        backlog.pop()

    sock._sleep = drain_on_sleep
    assert sock.recv(10) == b"x"
    assert raw.reads == 1
    assert len(slept) == 2  # waited once for the backlog, then the read's own yield


def test_a_stopped_socket_reads_nothing_more_and_is_shut_for_reading() -> None:
    sock, raw, _ = paced(b"flood", [])
    assert sock.recv(10) == b"flood"
    sock.stop_reading()
    assert raw.shut
    assert sock.recv(10) == b""
    assert raw.reads == 1
    assert sock.getpeername() == ("127.0.0.1", 1)  # everything else is the socket's own


# ---- event names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("packet", "expected"),  # Socket.IO packets as engine.io hands them over (its `4` already gone)
    [
        ('2["get-notification",{"property_id":1}]', "get-notification"),
        ('217["join-room",{"property_id":1}]', "join-room"),
        ('2/,["leave-room",{}]', "leave-room"),
        ('2["broadcast_notification"]', "broadcast_notification"),
        ('0{"token":"x"}', None),
        ('3["get-notification"]', None),
        ('52-["get-notification",{"_placeholder":true,"num":0}]', None),
        ("2[1,2]", None),
        ('2/admin,["get-notification"]', None),
        (b'2["get-notification"]', None),
        ("", None),
    ],
)
def test_event_name_is_read_from_the_first_bytes(packet, expected) -> None:
    assert event_name(packet) == expected
