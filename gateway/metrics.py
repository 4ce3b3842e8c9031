"""The gateway's metrics: requests labelled by the public route template, upstream calls, breakers.

`/api/*` is served by the plain WSGI proxy (gateway/proxy.py), not by a Flask view, so it is observed
by wrapping that callable: a request is labelled by the template of the public route table (the
OpenAPI document's paths, `/api/bookings/properties/{id}`), never by its raw path, so the label set
stays bounded whatever paths clients send. When tracing, the request is entered (sampled or not,
common/tracing.py) while the proxy runs, so the access line and the upstream calls belong to it.
Flask's own routes (health, docs) are observed by `common.metrics`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge

from common import metric_buffer, tracing
from common.metrics import observe
from gateway.breaker import BreakerState
from gateway.docs import load_spec
from gateway.routing import canonical_path

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
UNKNOWN_ROUTE = "/api/{unknown}"
_ROUTE_MEMO_LIMIT = 4096

UPSTREAM_CALLS = Counter(
    "gateway_upstream_requests",
    "Attempts sent to a service instance, by outcome (status class, or connect/timeout/broken).",
    ["service", "upstream", "outcome"],  # `instance` is Prometheus' own target label
)
UPSTREAM_RETRIES = Counter(
    "gateway_upstream_retries", "Attempts beyond a request's first (retries and hedges).", ["service"]
)
BREAKER_STATE = Gauge(
    "gateway_breaker_state",
    "Circuit breaker per upstream instance: 0 closed, 1 half-open, 2 open (the worst of the workers).",
    ["upstream"],
    multiprocess_mode="livemax",
)
RATE_LIMITED = Counter(
    "gateway_rate_limited", "Requests refused by the gateway's rate limits (429), by scope.", ["scope"]
)
ANSWER_COPIES = Counter(
    "gateway_answer_copy_lookups",
    "booking_service reads (property searches and properties, a reader's booking or list) looked up in the "
    "gateway's own copies: hit, miss or bypass (not subscribed).",
    ["outcome"],
)
BREAKER_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


@cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for template in load_spec()["paths"]:
        pattern = re.escape(template).replace(r"\{id\}", "[^/]+")
        pattern = re.sub(r"\\\{[a-zA-Z_]+\\\}", "[^/]+", pattern)
        compiled.append((re.compile(pattern + "/?"), template))
    return tuple(compiled)


_memo: dict[str, str] = {}


def route_template(path: str) -> str:
    """The public template matching `path`; paths seen before cost one dict lookup."""
    template = _memo.get(path)
    if template is None:
        canonical = canonical_path(path) or path
        template = next((t for pattern, t in _templates() if pattern.fullmatch(canonical)), UNKNOWN_ROUTE)
        if len(_memo) >= _ROUTE_MEMO_LIMIT:  # ids make paths unbounded; the memo must not be
            _memo.clear()
        _memo[path] = template
    return template


def observed_proxy(proxy: Wsgi) -> Wsgi:
    """`proxy` (gateway/proxy.py's ProxyApp) with RED metrics and, when tracing, a server span."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/api/") or path.startswith("/api/docs"):
            return proxy(environ, start_response)  # the Flask app's routes, observed by its hooks
        started, answered = time.perf_counter(), []

        def recording_start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answered.append(status)
            return start_response(status, headers, *exc_info)

        method, route = environ.get("REQUEST_METHOD", "GET"), route_template(path)
        if not tracing.enabled:
            body = proxy(environ, recording_start)
        else:
            entered = tracing.enter(environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_TRACESTATE"), method)
            try:
                body = proxy(environ, recording_start)
            finally:
                if entered.span is not None:
                    tracing.describe(entered.span, method, route, path, _status_of(answered))
                tracing.leave(entered)
        observe(route, method, _status_of(answered), started)
        return body

    return app


def _status_of(answered: list[str]) -> int:
    return int(answered[-1][:3]) if answered else 500


_answer_copies = {o: metric_buffer.adder(ANSWER_COPIES.labels(o)) for o in ("hit", "miss", "bypass")}


def answer_copy_lookup(outcome: str) -> None:
    _answer_copies[outcome]()


def breaker_changed(instance: str, state: BreakerState) -> None:
    BREAKER_STATE.labels(instance).set(BREAKER_VALUES[state])


_upstream_children: dict[tuple[str, str, str], Callable[[], None]] = {}


def upstream_outcome(service: str, instance: str, outcome: str) -> None:
    key = (service, instance, outcome)
    inc = _upstream_children.get(key)
    if inc is None:
        inc = _upstream_children[key] = metric_buffer.adder(UPSTREAM_CALLS.labels(service, instance, outcome))
    inc()
