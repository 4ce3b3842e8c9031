"""Pure-logic parts of the gateway: breaker state machine, route table, idempotency, failure table."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from gateway.breaker import BreakerState, CircuitBreaker
from gateway.failures import FAILURE_RESPONSES, UpstreamError, UpstreamFailure
from gateway.routing import canonical_path, requires_token, service_for
from gateway.transport import ConnectionPool, TransportError
from gateway.upstream import OutgoingRequest
from service_discovery import Instance, RoundRobin
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


def test_breaker_opens_only_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=2.0, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.try_acquire()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.available() and not breaker.try_acquire()


def test_breaker_half_opens_after_cooldown_and_lets_one_trial_through(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=2.0, clock=clock)
    breaker.record_failure()
    clock.now += 1.9
    assert not breaker.try_acquire()
    clock.now += 0.2
    assert breaker.available()
    assert breaker.try_acquire()
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.try_acquire(), "a second request must wait for the trial's outcome"
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.try_acquire()


def test_failed_trial_reopens_for_a_full_cooldown(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=5, reset_timeout=2.0, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 2.0
    assert breaker.try_acquire()
    breaker.record_failure()  # one failure in half-open is enough
    assert breaker.state is BreakerState.OPEN
    clock.now += 1.0
    assert not breaker.try_acquire()
    clock.now += 1.0
    assert breaker.try_acquire()


def test_trial_that_never_reports_does_not_block_forever(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=2.0, clock=clock)
    breaker.record_failure()
    clock.now += 2.0
    assert breaker.try_acquire()
    clock.now += 2.0
    assert breaker.try_acquire()


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/users/login", "user_service"),
        ("/api/users/register", "user_service"),
        ("/api/users/profile", "user_service"),
        ("/api/users/allusers", "user_service"),
        ("/api/users/7/role", "user_service"),
        ("/api/bookings/properties", "booking_service"),
        ("/api/bookings/book", "booking_service"),
        ("/api/bookings/booking/3", "booking_service"),
        ("/api/cancel-booking/3", "booking_service"),
        ("/api/bookings", "booking_service"),
        ("/api/other/thing", None),
        ("/api/usersX/login", None),
        ("/health", None),
    ],
)
def test_route_table_sends_each_path_to_its_service(path: str, service: str | None) -> None:
    assert service_for(path) == service


@pytest.mark.parametrize(
    ("method", "path", "protected"),
    [
        ("PUT", "/api/bookings/book", True),  # a method the manifest does not list, on a token path
        ("PUT", "/api/bookings/properties", True),  # beside the public GET, POST needs a token
        ("HEAD", "/api/bookings/properties/2", False),  # HEAD follows a public GET
        ("HEAD", "/api/bookings/mine", True),
        ("OPTIONS", "/api/bookings/book", False),  # preflights carry no credentials
        ("GET", "/api/bookings/book/extra", False),  # not a route: the service answers 404
    ],
)
def test_edge_token_rules_beyond_the_manifest(method: str, path: str, protected: bool) -> None:
    """Each manifest entry is checked in tests/contract/test_gateway_openapi.py; these are the rules
    the compiled table adds around them."""
    assert requires_token(path, method) is protected


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/api/bookings/book", "/api/bookings/book"),
        ("/api/bookings//book", "/api/bookings/book"),
        ("//api///cancel-booking//3", "/api/cancel-booking/3"),
        ("/api/users/profile/../allusers", None),
        ("/api/users/./profile", None),
        ("/api/users/..", None),
        ("/api/bookings/properties/a..b", "/api/bookings/properties/a..b"),
    ],
)
def test_paths_are_canonical_before_any_rule_sees_them(raw: str, canonical: str | None) -> None:
    assert canonical_path(raw) == canonical


@pytest.mark.parametrize(
    ("method", "headers", "idempotent"),
    [
        ("GET", {}, True),
        ("PUT", {}, True),
        ("DELETE", {}, True),
        ("POST", {}, False),
        ("PATCH", {}, False),
        ("POST", {"Idempotency-Key": "k1"}, True),
    ],
)
def test_only_idempotent_requests_count_as_retryable(
    method: str, headers: dict[str, str], idempotent: bool
) -> None:
    assert OutgoingRequest(method, "/api/x", headers, b"").idempotent is idempotent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pool(port: int) -> ConnectionPool:
    return ConnectionPool("127.0.0.1", port, connect_timeout=0.5, read_timeout=0.2, max_idle=2)


def _failure_of(pool: ConnectionPool) -> UpstreamFailure:
    with pytest.raises(TransportError) as caught:
        pool.request("GET", "/", {}, b"").read()
    return caught.value.failure


def test_refused_connection_is_classified_as_never_sent() -> None:
    assert _failure_of(_pool(_closed_port())) is UpstreamFailure.CONNECT


def test_silence_after_the_request_is_a_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert _failure_of(_pool(listener.getsockname()[1])) is UpstreamFailure.TIMEOUT


def test_an_answer_that_breaks_off_is_broken() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def answer_half() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            conn.close()

        threading.Thread(target=answer_half, daemon=True).start()
        assert _failure_of(_pool(listener.getsockname()[1])) is UpstreamFailure.BROKEN


def test_failure_table_covers_every_failure_with_a_json_error() -> None:
    assert set(FAILURE_RESPONSES) == set(UpstreamFailure)
    unavailable = UpstreamError(UpstreamFailure.ALL_OPEN, "booking_service").to_api_error()
    assert (unavailable.status, unavailable.message) == (503, "Service unavailable")
    assert UpstreamError(UpstreamFailure.TIMEOUT, "x").to_api_error().status == 504
    assert UpstreamError(UpstreamFailure.BROKEN, "x").to_api_error().status == 502


def test_round_robin_rotates_the_starting_instance() -> None:
    balancer = RoundRobin()
    a, b, c = (Instance("127.0.0.1", port) for port in (1, 2, 3))
    orders = [balancer.order("svc", [a, b, c]) for _ in range(4)]
    assert [o[0] for o in orders] == [a, b, c, a]
    assert all(sorted(o, key=lambda i: i.port) == [a, b, c] for o in orders)
    assert balancer.order("svc", []) == []


def test_instance_from_url() -> None:
    instance = Instance.from_url("http://127.0.0.1:8201")
    assert (instance.address, instance.port, instance.base_url) == (
        "127.0.0.1",
        8201,
        "http://127.0.0.1:8201",
    )
    with pytest.raises(ValueError):
        Instance.from_url("127.0.0.1:8201")


def test_a_pooled_connection_the_server_closed_is_never_reused() -> None:
    """Issue #15 item 10: a server may close a keep-alive connection right after answering (granian does
    when the app left the body unread); the next request must go on a new connection, not be lost."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def answer_then_close() -> None:
            for _ in range(2):
                conn, _ = listener.accept()
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                conn.close()

        threading.Thread(target=answer_then_close, daemon=True).start()
        pool = _pool(listener.getsockname()[1])
        assert pool.request("POST", "/", {}, b"{}").read() == b"ok"
        time.sleep(0.05)  # the server's FIN arrives
        assert pool.request("POST", "/", {}, b"{}").read() == b"ok"
