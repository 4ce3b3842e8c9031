"""Tracing decides once per request whether it is sampled, and an unsampled one costs no span anywhere.

The OpenTelemetry SDK is real (its samplers, its TracerProvider); spans go to the SDK's in-memory
exporter instead of an OTLP collector (none installs here; the integration suite uses a fake one).
SQL runs on a real SQLAlchemy engine over SQLite in memory and Redis calls through a real redis-py
client towards a closed port (the hook's work happens before and after the network), so nothing here
needs a server and the suite runs in milliseconds.
"""

from __future__ import annotations

import io
import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from redis.backoff import NoBackoff
from redis.retry import Retry

from common import tracing, tracing_sdk
from common.logs import configure_logging, flush_access_lines
from common.settings import BaseServiceSettings
from common.web import init_web

TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
SAMPLED, UNSAMPLED = f"00-{TRACE_ID}-{PARENT_ID}-01", f"00-{TRACE_ID}-{PARENT_ID}-00"
Traced = Callable[[sampling.Sampler], InMemorySpanExporter]


@pytest.fixture
def traced() -> Iterator[Traced]:
    def install(sampler: sampling.Sampler) -> InMemorySpanExporter:
        exporter = InMemorySpanExporter()
        provider = tracing_sdk.sdk_provider(Resource.create({"service.name": "test"}), sampler)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracing.install(provider)
        return exporter

    yield install
    tracing.uninstall()


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


@pytest.mark.parametrize(
    "sampler",
    [
        sampling.ParentBasedTraceIdRatio(0.1),
        sampling.TraceIdRatioBased(0.25),
        sampling.ParentBased(sampling.ALWAYS_ON),
        sampling.ParentBased(sampling.ALWAYS_OFF),
        sampling.ALWAYS_ON,
    ],
    ids=lambda s: s.get_description(),
)
def test_the_decision_at_the_root_is_the_sdk_samplers_own(sampler: sampling.Sampler) -> None:
    parent_based, decides = tracing_sdk.decision_rules(sampler)
    assert parent_based == isinstance(sampler, sampling.ParentBased)
    ids = [random.getrandbits(128) or 1 for _ in range(2000)]
    ours = [decides(trace_id) for trace_id in ids]
    sdks = [sampler.should_sample(None, trace_id, "request").decision.is_sampled() for trace_id in ids]
    assert ours == sdks


def test_a_root_sampled_on_its_trace_id_keeps_that_id_in_the_sdk(traced: Traced) -> None:
    """The SDK samples the root on the trace id `enter` decided on (it does not roll the ratio again)."""
    exporter = traced(sampling.ParentBasedTraceIdRatio(0.5))
    decided, recorded = 0, 0
    for _ in range(200):
        entered = tracing.enter(None, None, "GET")
        decided += entered.span is not None
        recorded += tracing.recording()
        tracing.leave(entered)
    assert 0 < decided < 200
    assert recorded == decided == len(exporter.get_finished_spans())


def test_an_unsampled_request_builds_no_span_yet_logs_and_passes_on_its_trace(traced: Traced) -> None:
    exporter = traced(sampling.ParentBasedTraceIdRatio(1.0))
    entered = tracing.enter(UNSAMPLED, "vendor=abc", "GET")
    try:
        assert entered.span is None and not tracing.recording()
        trace_id, span_id = tracing.current_ids() or ("", "")
        assert trace_id == TRACE_ID and span_id not in (PARENT_ID, "0" * 16)
        outgoing = tracing.with_trace_headers({"Accept": "*/*", "Traceparent": "00-client-chosen"})
        assert outgoing == {
            "Accept": "*/*",
            "traceparent": f"00-{TRACE_ID}-{span_id}-00",
            "tracestate": "vendor=abc",
        }
        with tracing.span("child", "CLIENT", **{"peer": "x"}) as child:
            assert child is None
    finally:
        tracing.leave(entered)
    assert tracing.current_ids() is None
    assert exporter.get_finished_spans() == ()


def test_a_sampled_request_makes_a_server_span_that_continues_the_callers_trace(traced: Traced) -> None:
    exporter = traced(sampling.ParentBasedTraceIdRatio(0.0))  # the caller's flag decides, not the ratio
    entered = tracing.enter(SAMPLED, None, "GET")
    try:
        assert tracing.recording()
        with tracing.span("GET booking_service", "CLIENT") as call:
            downstream = tracing.carrier()
        ids = tracing.current_ids()
        tracing.describe(entered.span, "GET", "/api/x/{id}", "/api/x/7", 503, "req-1")
    finally:
        tracing.leave(entered)
    call_span, server = exporter.get_finished_spans()
    assert call is not None and call_span.parent.span_id == server.context.span_id
    assert server.parent.span_id == int(PARENT_ID, 16) and hex_ids(server)[0] == TRACE_ID
    assert ids == hex_ids(server), "log lines name the server span"
    assert downstream["traceparent"] == f"00-{TRACE_ID}-{hex_ids(call_span)[1]}-01"
    assert server.name == "GET /api/x/{id}" and server.kind is SpanKind.SERVER
    assert server.attributes["http.response.status_code"] == 503
    assert server.attributes["http.request.id"] == "req-1"
    assert server.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize(
    "header",
    [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        f"00-{TRACE_ID}-0000000000000000-01",  # all-zero parent id
        f"ff-{TRACE_ID}-{PARENT_ID}-01",  # forbidden version
        f"00-{TRACE_ID}-{PARENT_ID}-01-extra",  # version 00 has four fields
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        "00-" + "a" * 600,
        "garbage",
    ],
)
def test_an_invalid_traceparent_starts_a_new_trace(traced: Traced, header: str) -> None:
    exporter = traced(sampling.ParentBased(sampling.ALWAYS_ON))
    tracing.leave(tracing.enter(header, None, "GET"))
    (span,) = exporter.get_finished_spans()
    assert span.parent is None and hex_ids(span)[0] != TRACE_ID


def statements_in_a_request(header: str) -> None:
    engine = sa.create_engine("sqlite://")
    entered = tracing.enter(header, None, "GET")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")  # no parameters
            conn.execute(sa.text("INSERT INTO t VALUES (:x)"), [{"x": 1}, {"x": 2}])  # executemany
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 2
            with pytest.raises(sa.exc.OperationalError):
                conn.execute(sa.text("SELECT * FROM no_such_table"))
        client = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.ConnectionError):
            client.get("user:42:email")
        with pytest.raises(redis.ConnectionError):
            client.pipeline(transaction=False).get("a").incr("b").execute()
    finally:
        tracing.leave(entered)
        engine.dispose()


def test_sql_and_redis_calls_of_an_unsampled_request_make_no_span(traced: Traced) -> None:
    exporter = traced(sampling.ParentBased(sampling.ALWAYS_ON))
    statements_in_a_request(UNSAMPLED)
    assert exporter.get_finished_spans() == ()


def test_sql_and_redis_calls_of_a_sampled_request_are_its_children(traced: Traced) -> None:
    exporter = traced(sampling.ParentBased(sampling.ALWAYS_OFF))
    statements_in_a_request(SAMPLED)
    *children, server = exporter.get_finished_spans()
    by_name: dict[str, Any] = {span.name: span for span in children}
    names = sorted(span.name for span in children)
    assert names == ["CREATE", "GET", "INSERT", "PIPELINE", "SELECT", "SELECT", "SELECT"], names
    assert all(s.parent.span_id == server.context.span_id and s.kind is SpanKind.CLIENT for s in children)
    sql = [s for s in children if s.name == "SELECT"]
    assert {s.attributes["db.system"] for s in sql} == {"sqlite"}
    assert [s.status.status_code for s in sql] == [StatusCode.UNSET, StatusCode.UNSET, StatusCode.ERROR]
    assert by_name["GET"].attributes["db.statement"] == "GET ?", "the command, never its values"
    assert by_name["GET"].attributes["db.system"] == "redis"
    assert by_name["GET"].status.status_code is StatusCode.ERROR
    assert by_name["PIPELINE"].attributes["db.statement"] == "GET ?\nINCRBY ? ?"


def test_hooks_come_out_when_tracing_is_uninstalled(traced: Traced) -> None:
    from common import tracing_hooks

    traced(sampling.ALWAYS_ON)
    assert hasattr(redis.Redis.execute_command, "__wrapped__")
    assert sa.event.contains(sa.Engine, "do_execute", tracing_hooks._SQL_LISTENERS["do_execute"])
    tracing.uninstall()
    assert not hasattr(redis.Redis.execute_command, "__wrapped__")
    assert not sa.event.contains(sa.Engine, "do_execute", tracing_hooks._SQL_LISTENERS["do_execute"])


def access_lines(app: Flask, header: str) -> list[dict[str, Any]]:
    stream = io.StringIO()
    configure_logging("booking_service")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_hrp_ecs", False))
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        assert app.test_client().get("/api/things/7", headers={"traceparent": header}).status_code == 200
        flush_access_lines()  # written in batches by a background thread; now, for the test
    finally:
        logging.getLogger().removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines() if '"access"' in line]


def test_a_flask_app_logs_the_trace_of_sampled_and_unsampled_requests(traced: Traced) -> None:
    exporter = traced(sampling.ParentBased(sampling.ALWAYS_ON))
    app = Flask("booking_service")
    init_web(app, BaseServiceSettings(service_name="booking_service"))
    tracing.init_request_spans(app, lambda: "/api/things/<int:thing_id>")
    app.add_url_rule("/api/things/<int:thing_id>", "thing", lambda thing_id: {"id": thing_id})
    (unsampled,) = access_lines(app, UNSAMPLED)
    assert exporter.get_finished_spans() == ()
    (sampled,) = access_lines(app, SAMPLED)
    (server,) = exporter.get_finished_spans()
    assert unsampled["trace"]["id"] == sampled["trace"]["id"] == TRACE_ID
    assert sampled["span"]["id"] == hex_ids(server)[1] and unsampled["span"]["id"] != PARENT_ID
    assert server.name == "GET /api/things/<int:thing_id>"
    assert tracing.current_ids() is None, "nothing stays current after the request"
