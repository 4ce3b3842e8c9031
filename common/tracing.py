"""OpenTelemetry traces: off unless an OTLP endpoint is configured through the standard `OTEL_*` variables.

On (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, `OTEL_SDK_DISABLED` not
`true`, `OTEL_TRACES_EXPORTER` not `none`): each inbound request gets a server span that continues a W3C
`traceparent`, SQLAlchemy and Redis calls get client spans (the contrib instrumentations), and callers
add spans for upstream calls, Socket.IO emits and ETL batches. Sampling follows `OTEL_TRACES_SAMPLER`
(production: `parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1`, README).

The SDK is set up by `init_tracing`, which the app factories call; servers call the factory in each
worker after forking (granian's `--factory`, gunicorn without `--preload`), and the set-up is per
process id, so a batch processor thread is never inherited through a fork. Off, the hot path pays
one boolean check (`enabled`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

enabled = False
UNTRACED_PATHS = frozenset({"/metrics", "/health", "/ready"})  # scrapes and probes: noise, not traffic
_set_up_in: int | None = None
_tracer: Any = None
_otel: Any = None  # the API modules, bound once by init_tracing (not imported per call on the hot path)


def configured(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def init_tracing(service_name: str) -> bool:
    """Sets the SDK up once in this process when configured; returns whether tracing is on."""
    global enabled, _set_up_in, _tracer
    if not configured():
        return False
    if _set_up_in == os.getpid():
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    resource = Resource.create({"service.name": name, "process.pid": os.getpid()})
    provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER(_ARG)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _bind_api()
    _instrument_libraries(_ChildrenOfSampledProvider(provider))
    _tracer = provider.get_tracer("home-rental-platform")
    _set_up_in, enabled = os.getpid(), True
    return True


def _bind_api() -> None:
    global _otel
    from types import SimpleNamespace

    from opentelemetry import context, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode

    _otel = SimpleNamespace(
        context=context, propagate=propagate, trace=trace, SpanKind=SpanKind, error=Status(StatusCode.ERROR)
    )


def _in_unsampled_trace() -> bool:
    current = _otel.trace.get_current_span()
    return bool(current.get_span_context().is_valid and not current.is_recording())


class _ChildrenOfSampledProvider:
    """Hands the library instrumentations tracers whose spans exist only inside a sampled trace: in the
    other nine traces of ten a SQL statement or Redis call costs no span at all (the SDK would build and
    drop one, ~10 us each), and a call outside any request is not traced either."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return _ChildrenOfSampledTracer(self._provider.get_tracer(*args, **kwargs))


class _ChildrenOfSampledTracer:
    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Any:
        parent = _otel.trace.get_current_span(context)
        if not parent.is_recording():
            return _otel.trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextlib.contextmanager
    def start_as_current_span(
        self, name: str, context: Any = None, *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        if not _otel.trace.get_current_span(context).is_recording():
            yield _otel.trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as current:
            yield current


def _instrument_libraries(provider: Any) -> None:
    """SQL statements and Redis calls get client spans; engines and clients created from here on (the
    factories build them after this call). A library an image does not ship (the gateway has no
    SQLAlchemy) is skipped."""
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        RedisInstrumentor().instrument(tracer_provider=provider)
    except ImportError:
        pass
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses are unchanged.
        SQLAlchemyInstrumentor().instrument(
            tracer_provider=provider, enable_commenter=False, skip_dep_check=True
        )
    except ImportError:
        pass


def init_request_spans(app: Flask, route_of: Callable[[], str]) -> None:
    """A server span per request, current for the whole request (log lines carry its ids); named by the
    route template once the route is known. Call right after `init_web`, before other hooks."""
    if not enabled:
        return
    from flask import Response, g, request

    api = _otel

    @app.before_request
    def _start_span() -> None:
        if request.path in UNTRACED_PATHS:
            return
        parent = api.propagate.extract(request.headers)
        span = _tracer.start_span(request.method, context=parent, kind=api.SpanKind.SERVER)
        g.otel_span, g.otel_token = span, api.context.attach(api.trace.set_span_in_context(span, parent))

    @app.after_request
    def _describe_span(response: Response) -> Response:
        span = g.get("otel_span")
        if span is not None and span.is_recording():
            route = route_of()
            span.update_name(f"{request.method} {route}")
            span.set_attributes(
                {
                    "http.request.method": request.method,
                    "http.route": route,
                    "url.path": request.path,
                    "http.response.status_code": response.status_code,
                    "http.request.id": g.get("request_id", ""),
                }
            )
            if response.status_code >= 500:
                span.set_status(api.error)
        return response

    @app.teardown_request
    def _end_span(_error: BaseException | None) -> None:
        span, token = g.pop("otel_span", None), g.pop("otel_token", None)
        if span is not None:
            span.end()
        if token is not None:
            api.context.detach(token)


@contextlib.contextmanager
def server_span(environ: Mapping[str, Any], method: str, route: str) -> Iterator[Any]:
    """A server span for a request served outside Flask (a plain WSGI callable), continuing the
    `traceparent` it carries; current while the block runs. Only call when `enabled`."""
    carried = {
        name: environ[key]
        for name, key in (("traceparent", "HTTP_TRACEPARENT"), ("tracestate", "HTTP_TRACESTATE"))
        if key in environ
    }
    parent = _otel.propagate.extract(carried)
    with _tracer.start_as_current_span(
        f"{method} {route}", context=parent, kind=_otel.SpanKind.SERVER
    ) as current:
        if current.is_recording():
            current.set_attributes(
                {"http.request.method": method, "http.route": route, "url.path": environ.get("PATH_INFO", "")}
            )
        yield current


def describe_response(status: int) -> None:
    """Sets the status of the current server span."""
    current = _otel.trace.get_current_span()
    if current.is_recording():
        current.set_attribute("http.response.status_code", status)
        if status >= 500:
            current.set_status(_otel.error)


def with_trace_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` plus the current span's `traceparent` (replacing any the client sent) when tracing."""
    if not enabled:
        return headers
    carrier = {k: v for k, v in headers.items() if k.lower() not in ("traceparent", "tracestate")}
    _otel.propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def span(name: str, kind: str = "INTERNAL", **attributes: Any) -> Iterator[Any]:
    """A child of the current span (a root span outside any); nothing inside an unsampled trace, whose
    children would be built and dropped (its context still travels: the parent's stays current)."""
    if not enabled or _in_unsampled_trace():
        yield None
        return
    with _tracer.start_as_current_span(
        name, kind=_otel.SpanKind[kind], attributes=attributes or None
    ) as current:
        yield current


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as ECS writes them, or None."""
    if not enabled:
        return None
    context = _otel.trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def carrier() -> dict[str, str]:
    """The current context as W3C headers (to ride along a message), empty when not tracing."""
    if not enabled:
        return {}
    found: dict[str, str] = {}
    _otel.propagate.inject(found)
    return found


@contextlib.contextmanager
def continued(
    headers: Mapping[str, str], name: str, kind: str = "CONSUMER", **attributes: Any
) -> Iterator[Any]:
    """A span that continues the context carried by `headers` (a message from another process)."""
    if not enabled:
        yield None
        return
    parent = _otel.propagate.extract(dict(headers))
    with _tracer.start_as_current_span(
        name, context=parent, kind=_otel.SpanKind[kind], attributes=attributes or None
    ) as current:
        yield current
