"""Sends a request to a healthy instance of a service: balancing, breakers, timeouts and retries."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

from gateway.breaker import BreakerBoard, CircuitBreaker
from gateway.failures import UpstreamError, UpstreamFailure, classify
from service_discovery import Instance, Registry, RoundRobin

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
BACKOFF_BASE_SECONDS = 0.005


@dataclass(frozen=True)
class OutgoingRequest:
    method: str
    path: str  # path and query string, already encoded
    headers: Mapping[str, str]
    body: bytes

    @property
    def idempotent(self) -> bool:
        if self.method in IDEMPOTENT_METHODS:
            return True
        return self.method == "POST" and "Idempotency-Key" in self.headers


class UpstreamClient:
    """One pooled HTTP session shared by every request of a process."""

    def __init__(
        self,
        registry: Registry,
        breakers: BreakerBoard,
        *,
        connect_timeout: float = 0.5,
        read_timeout: float = 5.0,
        max_retries: int = 2,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = registry
        self.breakers = breakers
        self._timeout = (connect_timeout, read_timeout)
        self._max_attempts = 1 + max_retries
        self._balancer = RoundRobin()
        self._sleep = sleep
        self._session = _bare_session()
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def send(self, service: str, outgoing: OutgoingRequest) -> requests.Response:
        """The first usable response (body not yet read), or an UpstreamError saying what went wrong."""
        candidates = self._candidates(service)
        failure, attempts = UpstreamFailure.ALL_OPEN, 0
        for instance in candidates:
            breaker = self.breakers.get(instance.id)
            if attempts >= self._max_attempts or not breaker.try_acquire():
                continue
            if attempts:
                self._backoff(attempts)
            attempts += 1
            try:
                return self._attempt(instance, breaker, outgoing)
            except requests.RequestException as exc:
                failure = classify(exc)
                log.warning("%s %s on %s: %s", outgoing.method, service, instance.base_url, failure.value)
                # Unsent requests may go elsewhere; possibly applied ones only when idempotent.
                if failure is not UpstreamFailure.CONNECT and not outgoing.idempotent:
                    break
        raise UpstreamError(failure, service)

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
        return candidates

    def _attempt(
        self, instance: Instance, breaker: CircuitBreaker, outgoing: OutgoingRequest
    ) -> requests.Response:
        try:
            response = self._session.request(
                outgoing.method,
                instance.base_url + outgoing.path,
                headers=dict(outgoing.headers),
                data=outgoing.body or None,
                stream=True,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException:
            breaker.record_failure()
            raise
        if response.status_code >= 500:
            breaker.record_failure()
        else:
            breaker.record_success()
        return response

    def _backoff(self, attempt: int) -> None:
        self._sleep(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))

    def close(self) -> None:
        self._session.close()
        self.registry.close()


def _bare_session() -> requests.Session:
    """A session that adds nothing of its own: no default headers, no env proxies, and no cookie jar,
    since one session serves every user and must never replay one user's cookies for another."""
    session = requests.Session()
    session.trust_env = False
    session.headers.clear()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session
