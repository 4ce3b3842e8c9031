"""Sends a request to a healthy instance of a service: balancing, breakers, timeouts and retries."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from common import tracing
from gateway.breaker import BreakerBoard, CircuitBreaker
from gateway.failures import UpstreamError, UpstreamFailure
from gateway.http1 import StreamedBody
from gateway.metrics import UPSTREAM_RETRIES, upstream_outcome
from gateway.transport import (
    ConnectionPool,
    Pending,
    TransportError,
    UpstreamResponse,
    first_answered,
)
from service_discovery import Instance, Registry, RoundRobin

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE_SECONDS = 0.005
# Statuses that say the instance itself is unwell; a 500 is one request's fault and never counts.
UNHEALTHY_STATUSES = frozenset({502, 503, 504})
SLOW_INSTANCE_SECONDS = 2.0
STATUS_CLASSES = {n: f"{n}xx" for n in range(1, 6)}


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    path: str  # path and query string, already encoded
    headers: Mapping[str, str]
    body: bytes | StreamedBody

    @property
    def idempotent(self) -> bool:
        if not isinstance(self.body, bytes):
            return False  # a streamed body is read from the client once: never resent, never hedged
        if self.method in IDEMPOTENT_METHODS:
            return True
        return self.method == "POST" and "Idempotency-Key" in self.headers


class UpstreamClient:
    """Keep-alive connection pools to every instance (no cookie jar, no proxies from the environment)."""

    def __init__(
        self,
        registry: Registry,
        breakers: BreakerBoard,
        *,
        connect_timeout: float = 0.5,
        read_timeout: float = 5.0,
        read_deadline: float | None = None,
        max_retries: int = 2,
        pool_size: int = 32,
        retry_ratio: float = 0.1,
        hedge_after: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = registry
        self.breakers = breakers
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._read_deadline = (
            read_deadline  # GET and HEAD; each pool applies it (ConnectionPool.answer_within)
        )
        self._pool_size = pool_size
        self._pools: dict[str, ConnectionPool] = {}
        self._pools_lock = threading.Lock()
        self._max_attempts = 1 + max_retries
        self._balancer = RoundRobin()
        self._retry_budget = RetryBudget(retry_ratio)
        self._hedge_after = hedge_after
        self._slow_until: dict[str, float] = {}
        self._sleep = sleep

    def send(self, service: str, outgoing: OutgoingRequest) -> UpstreamResponse:
        """The first usable response (body not yet read), or an UpstreamError saying what went wrong."""
        candidates = self._candidates(service)
        self._retry_budget.deposit()
        failure, attempts = UpstreamFailure.ALL_OPEN, 0
        if self._hedge_after and outgoing.idempotent and len(candidates) > 1:
            try:
                if tracing.recording():
                    with tracing.span(f"{outgoing.method} {service}", "CLIENT", **{"upstream.hedged": True}):
                        hedged = self._hedged(service, candidates, outgoing)
                else:
                    hedged = self._hedged(service, candidates, outgoing)
                if hedged is not None:
                    return hedged
            except TransportError as exc:
                failure = exc.failure
                log.warning("%s %s (hedged): %s", outgoing.method, service, failure.value)
                # A hedged read that timed out was already with two instances: a third try would
                # only outlast the caller's deadline (nginx's 1.5 s for a read).
                if failure is UpstreamFailure.TIMEOUT or not self._may_retry(failure, outgoing):
                    raise UpstreamError(failure, service) from exc
            attempts, candidates = 1, candidates[1:]
        for instance in candidates:
            breaker = self.breakers.get(instance.id)
            if attempts >= self._max_attempts or not breaker.try_acquire():
                continue
            if attempts:
                self._backoff(attempts)
                UPSTREAM_RETRIES.labels(service).inc()
            attempts += 1
            try:
                if tracing.recording():
                    with tracing.span(f"{outgoing.method} {service}", "CLIENT", **_span_attributes(instance)):
                        return self._attempt(service, instance, breaker, outgoing)
                return self._attempt(service, instance, breaker, outgoing)
            except TransportError as exc:
                failure = exc.failure
                log.warning("%s %s on %s: %s", outgoing.method, service, instance.base_url, failure.value)
                if not self._may_retry(failure, outgoing):
                    break
        raise UpstreamError(failure, service)

    def _may_retry(self, failure: UpstreamFailure, outgoing: OutgoingRequest) -> bool:
        """An unsent request may always go elsewhere. One that may have reached the instance (a timeout,
        a broken answer) is retried only when idempotent and within the budget, so an expensive request
        cannot multiply its own cost."""
        if failure is UpstreamFailure.CONNECT:
            return True
        return outgoing.idempotent and self._retry_budget.withdraw()

    def _candidates(self, service: str) -> list[Instance]:
        # Panic mode: when no instance passes its checks (say, all briefly slow to answer /health), try
        # them all rather than refuse; a dead one refuses at once and the breakers cut off the rest.
        instances = self.registry.healthy_instances(service) or self.registry.known_instances(service)
        if not instances:
            raise UpstreamError(UpstreamFailure.NO_INSTANCE, service)
        ordered = self._balancer.order(service, instances)
        candidates = [i for i in ordered if self.breakers.get(i.id).available()]
        if not candidates:
            raise UpstreamError(UpstreamFailure.ALL_OPEN, service)
        # Instances that recently left a request unanswered past the hedge delay go last (never out:
        # a loaded service must not eject itself); writes, which are never hedged, avoid them.
        now = time.monotonic()
        candidates.sort(key=lambda i: self._slow_until.get(i.id, 0.0) > now)
        return candidates

    def _hedged(
        self, service: str, candidates: list[Instance], outgoing: OutgoingRequest
    ) -> UpstreamResponse | None:
        """An idempotent request that is not answered within `hedge_after` is also sent to the next
        instance (within the retry budget); the first answer wins, the other is dropped. None when the
        first instance could not take the request at all (the caller tries the rest as usual)."""
        first = candidates[0]
        breaker = self.breakers.get(first.id)
        if not breaker.try_acquire():
            return None
        try:
            pending = self._start(service, first, breaker, outgoing)
        except TransportError as exc:
            if exc.failure is UpstreamFailure.CONNECT:
                return None
            raise
        assert self._hedge_after is not None
        if first_answered([pending], self._hedge_after) is not None:
            return self._finish(service, first, breaker, pending)
        self._slow_until[first.id] = time.monotonic() + SLOW_INSTANCE_SECONDS
        second = next((i for i in candidates[1:] if self.breakers.get(i.id).try_acquire()), None)
        if second is None or not self._retry_budget.withdraw():
            return self._finish(service, first, breaker, pending)
        UPSTREAM_RETRIES.labels(service).inc()
        try:
            backup = self._start(service, second, self.breakers.get(second.id), outgoing)
        except TransportError:
            return self._finish(service, first, breaker, pending)
        answer_within = self._pool(first).answer_within(outgoing.method)
        winner = first_answered([pending, backup], answer_within - self._hedge_after)
        if winner is None:
            pending.abandon()
            backup.abandon()
            breaker.record_failure()
            upstream_outcome(service, first.id, UpstreamFailure.TIMEOUT.name.lower())
            raise TransportError(UpstreamFailure.TIMEOUT, TimeoutError("neither instance answered"))
        loser = backup if winner is pending else pending
        loser.abandon()
        if winner is pending:
            return self._finish(service, first, breaker, winner)
        return self._finish(service, second, self.breakers.get(second.id), winner)

    def _start(
        self, service: str, instance: Instance, breaker: CircuitBreaker, outgoing: OutgoingRequest
    ) -> Pending:
        headers = tracing.with_trace_headers(outgoing.headers) if tracing.enabled else outgoing.headers
        try:
            return self._pool(instance).start(outgoing.method, outgoing.path, headers, outgoing.body)
        except TransportError as exc:
            breaker.record_failure()
            upstream_outcome(service, instance.id, exc.failure.name.lower())
            raise

    def _finish(
        self, service: str, instance: Instance, breaker: CircuitBreaker, pending: Pending
    ) -> UpstreamResponse:
        try:
            response = pending.response()
        except TransportError as exc:
            breaker.record_failure()
            upstream_outcome(service, instance.id, exc.failure.name.lower())
            raise
        if response.status in UNHEALTHY_STATUSES:
            breaker.record_failure()
        else:
            breaker.record_success()
        upstream_outcome(service, instance.id, STATUS_CLASSES.get(response.status // 100, "other"))
        return response

    def _attempt(
        self, service: str, instance: Instance, breaker: CircuitBreaker, outgoing: OutgoingRequest
    ) -> UpstreamResponse:
        return self._finish(service, instance, breaker, self._start(service, instance, breaker, outgoing))

    def _pool(self, instance: Instance) -> ConnectionPool:
        pool = self._pools.get(instance.id)
        if pool is None:
            with self._pools_lock:
                pool = self._pools.setdefault(
                    instance.id,
                    ConnectionPool(
                        instance.address,
                        instance.port,
                        connect_timeout=self._connect_timeout,
                        read_timeout=self._read_timeout,
                        read_deadline=self._read_deadline,
                        max_idle=self._pool_size,
                        https=instance.scheme == "https",
                    ),
                )
        return pool

    def _backoff(self, attempt: int) -> None:
        self._sleep(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))

    def close(self) -> None:
        for pool in list(self._pools.values()):
            pool.close()
        self.registry.close()


def _span_attributes(instance: Instance) -> dict[str, object]:
    return {"server.address": instance.address, "server.port": instance.port, "peer.instance": instance.id}


class RetryBudget:
    """Retries of possibly-delivered requests limited to `ratio` of requests (Finagle's retry budget):
    each request deposits `ratio` of a token, each retry spends a whole one; a small reserve lets a
    quiet instance still retry."""

    def __init__(self, ratio: float, reserve: float = 10.0) -> None:
        self._ratio = ratio
        self._cap = reserve
        self._tokens = reserve
        self._lock = threading.Lock()

    def deposit(self) -> None:
        with self._lock:
            self._tokens = min(self._cap, self._tokens + self._ratio)

    def withdraw(self) -> bool:
        with self._lock:
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True
