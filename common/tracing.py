"""OpenTelemetry traces: off unless an OTLP endpoint is configured through the standard `OTEL_*` variables.

On (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, `OTEL_SDK_DISABLED` not
`true`, `OTEL_TRACES_EXPORTER` not `none`), each inbound request, and each message carrying a trace
context, is sampled or not once, where it arrives (`enter`): a W3C `traceparent`'s sampled flag is
honoured (parent-based samplers, such as production's `parentbased_traceidratio` with
`OTEL_TRACES_SAMPLER_ARG=0.1`, README), and at the root the sampler of `OTEL_TRACES_SAMPLER(_ARG)`
decides on the trace id. A sampled request gets an SDK server span, and client spans for its SQL
statements and Redis calls (common/tracing_hooks.py) and upstream calls, Socket.IO emits, ETL batches.
An unsampled one never reaches the SDK: its trace id and a span id are kept in a context variable, go
into its log lines, and travel downstream in a `traceparent` with flags 00, so every hop takes the same
decision; every hook returns after one context-variable read (`recording`).

The SDK is set up by `init_tracing`, which the app factories call; servers call the factory in each
worker after forking (granian's `--factory`, gunicorn without `--preload`), and the set-up is per
process id, so a batch processor thread is never inherited through a fork. Off, the hot path pays
one boolean check (`enabled`).
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

enabled = False
UNTRACED_PATHS = frozenset({"/metrics", "/health", "/ready"})  # scrapes and probes: noise, not traffic
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_MAX_HEADER = 512  # a W3C traceparent is 55 characters; tracestate is at most 32 short members
_ZERO_TRACE_ID, _ZERO_SPAN_ID = "0" * 32, "0" * 16
_set_up_in: int | None = None
_tracer: Any = None
_otel: Any = None  # the API modules, bound once by `install` (not imported per call on the hot path)
_parent_based = True
_root_decides: Callable[[int], bool] = bool


class _Unsampled:
    """An unsampled request or message being handled: the ids its log lines carry."""

    __slots__ = ("ids", "tracestate")

    def __init__(self, trace_id: str, tracestate: str | None) -> None:
        self.ids = (trace_id, format(random.getrandbits(64) or 1, "016x"))
        self.tracestate = tracestate


_RECORDING, _NOT_RECORDING = "recording", "not recording"  # an SDK span is current
# None: nothing traced here; an _Unsampled; or one of the two markers above.
_state: ContextVar[object] = ContextVar("hrp_trace_state", default=None)
# The trace id a sampled root was decided on, for the SDK to give it (common/tracing_sdk.py).
chosen_trace_id: ContextVar[int] = ContextVar("hrp_chosen_trace_id", default=0)


@dataclass(slots=True)
class Entered:
    """What `enter` made current; `span` is the SDK span of a sampled request (else None)."""

    span: Any
    otel_token: Any
    state_token: Token[object]


def configured(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def init_tracing(service_name: str) -> bool:
    """Sets the SDK up once in this process when configured; returns whether tracing is on."""
    global _set_up_in
    if not configured():
        return False
    if _set_up_in == os.getpid():
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from common.tracing_sdk import sdk_provider

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = sdk_provider(Resource.create({"service.name": name, "process.pid": os.getpid()}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    install(provider)
    _set_up_in = os.getpid()
    return True


def install(provider: Any) -> None:
    """Traces through `provider` from now on (init_tracing's, or a test's)."""
    global enabled, _tracer, _otel, _parent_based, _root_decides
    from types import SimpleNamespace

    from opentelemetry import context, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from common import tracing_hooks
    from common.tracing_sdk import decision_rules

    _otel = SimpleNamespace(
        context=context, propagate=propagate, trace=trace, SpanKind=SpanKind, error=Status(StatusCode.ERROR)
    )
    _parent_based, _root_decides = decision_rules(provider.sampler)
    _tracer = provider.get_tracer("home-rental-platform")
    tracing_hooks.install(_tracer)
    enabled = True


def uninstall() -> None:
    """Back to off (tests): the hooks come out, nothing is traced."""
    global enabled
    from common import tracing_hooks

    tracing_hooks.uninstall()
    enabled = False


def enter(traceparent: str | None, tracestate: str | None, name: str, kind: str = "SERVER") -> Entered:
    """Decides whether the request (or message) carrying these headers is sampled and makes its context
    current until `leave`; only a sampled one builds a span."""
    parent = _valid_parent(traceparent)
    if parent is None:  # a root (an invalid header starts a new trace, as the SDK's propagator does)
        trace_id = random.getrandbits(128) or 1
        if not _root_decides(trace_id):
            return Entered(None, None, _state.set(_Unsampled(format(trace_id, "032x"), None)))
        return _enter_sampled(None, trace_id, name, kind)
    sampled = int(parent[4], 16) & 1 if _parent_based else _root_decides(int(parent[2], 16))
    if not sampled:
        state = tracestate if tracestate and len(tracestate) <= _MAX_HEADER else None
        return Entered(None, None, _state.set(_Unsampled(parent[2], state)))
    headers = {"traceparent": parent[0]}
    if tracestate:
        headers["tracestate"] = tracestate
    return _enter_sampled(headers, 0, name, kind)


def _valid_parent(traceparent: str | None) -> re.Match[str] | None:
    """The W3C `traceparent` split into version, trace id, parent id and flags, or None when invalid."""
    if not traceparent or len(traceparent) > _MAX_HEADER:
        return None
    found = _TRACEPARENT.fullmatch(traceparent)
    if found is None or found[1] == "ff" or (found[1] == "00" and found[5]):
        return None
    return found if found[2] != _ZERO_TRACE_ID and found[3] != _ZERO_SPAN_ID else None


def _enter_sampled(parent: dict[str, str] | None, trace_id: int, name: str, kind: str) -> Entered:
    api = _otel
    context = api.propagate.extract(parent) if parent else api.context.Context()
    chosen = chosen_trace_id.set(trace_id)
    try:
        span = _tracer.start_span(name, context=context, kind=api.SpanKind[kind])
    finally:
        chosen_trace_id.reset(chosen)
    otel_token = api.context.attach(api.trace.set_span_in_context(span, context))
    return Entered(span, otel_token, _state.set(_RECORDING if span.is_recording() else _NOT_RECORDING))


def leave(entered: Entered) -> None:
    if entered.span is not None:
        entered.span.end()
        _otel.context.detach(entered.otel_token)
    _state.reset(entered.state_token)


def recording() -> bool:
    """Whether a sampled span is current: the hooks' one question before building anything."""
    return _state.get() is _RECORDING


def describe(span: Any, method: str, route: str, path: str, status: int, request_id: str = "") -> None:
    """Names a server span by its route template and sets what it answered."""
    if not span.is_recording():
        return
    span.update_name(f"{method} {route}")
    attributes = {"http.request.method": method, "http.route": route, "url.path": path}
    attributes["http.response.status_code"] = status
    if request_id:
        attributes["http.request.id"] = request_id
    span.set_attributes(attributes)
    if status >= 500:
        span.set_status(_otel.error)


def init_request_spans(app: Flask, route_of: Callable[[], str]) -> None:
    """Each request entered (sampled or not) for its whole life, so log lines carry its ids; a sampled
    one's span is named by the route template once known. Call right after `init_web`, before other hooks."""
    if not enabled:
        return
    from flask import Response, g, request

    @app.before_request
    def _enter() -> None:
        if request.path in UNTRACED_PATHS:
            return
        environ = request.environ
        g.otel = enter(environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_TRACESTATE"), request.method)

    @app.after_request
    def _describe(response: Response) -> Response:
        entered = g.get("otel")
        if entered is not None and entered.span is not None:
            route, status = route_of(), response.status_code
            describe(entered.span, request.method, route, request.path, status, g.get("request_id", ""))
        return response

    @app.teardown_request
    def _leave(_error: BaseException | None) -> None:
        entered = g.pop("otel", None)
        if entered is not None:
            leave(entered)


def carrier() -> dict[str, str]:
    """The current context as W3C headers (downstream calls, messages), empty when nothing is traced."""
    state = _state.get()
    if state is None:
        return {}
    if isinstance(state, _Unsampled):
        found = {"traceparent": f"00-{state.ids[0]}-{state.ids[1]}-00"}
        if state.tracestate:
            found["tracestate"] = state.tracestate
        return found
    found = {}
    _otel.propagate.inject(found)
    return found


def with_trace_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` plus the current context's `traceparent` (replacing any the client sent) when tracing."""
    if not enabled:
        return headers
    outgoing = {k: v for k, v in headers.items() if k.lower() not in TRACE_HEADERS}
    outgoing.update(carrier())
    return outgoing


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current context as ECS writes them, or None."""
    state = _state.get()
    if state is None:
        return None
    if isinstance(state, _Unsampled):
        return state.ids
    context = _otel.trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@contextlib.contextmanager
def span(name: str, kind: str = "INTERNAL", **attributes: Any) -> Iterator[Any]:
    """A child of the current sampled span, or a root (the sampler decides) outside any traced context;
    nothing inside an unsampled one (whose context stays current and travels on)."""
    state = _state.get() if enabled else _NOT_RECORDING
    if state is not None and state is not _RECORDING:
        yield None
        return
    with _tracer.start_as_current_span(
        name, kind=_otel.SpanKind[kind], attributes=attributes or None
    ) as current:
        token = _state.set(_RECORDING if current.is_recording() else _NOT_RECORDING)
        try:
            yield current if current.is_recording() else None
        finally:
            _state.reset(token)


@contextlib.contextmanager
def continued(headers: Mapping[str, str], name: str, kind: str = "CONSUMER") -> Iterator[Any]:
    """Handles a message from another process in the context its `headers` carry (sampled or not, as
    decided where it began); yields the span when sampled, else None."""
    if not enabled:
        yield None
        return
    entered = enter(headers.get("traceparent"), headers.get("tracestate"), name, kind)
    try:
        yield entered.span if entered.span is not None and entered.span.is_recording() else None
    finally:
        leave(entered)
