"""Traces end to end: a booking sent through real nginx with a W3C `traceparent` is one trace from the
gateway through booking_service (its SQL) to the realtime process that emits the notification, and every
log line of it (nginx, gateway, booking_service) carries that trace id.

The spans are received by a fake OTLP/HTTP collector the test runs (tests/support/otlp_collector.py): no
OpenTelemetry collector or Jaeger is installable on these machines. Everything else is the real stack
(tests/integration/conftest.py: tracing on through the standard OTEL_* variables).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.data import booking_engine, day, insert_property
from tests.support.etl import run_cli
from tests.support.notification_client import NotificationClient
from tests.support.otlp_collector import FakeCollector, ReceivedSpan

pytestmark = pytest.mark.slow
SERVER, CLIENT = 2, 3  # OTLP span kinds


def traceparent() -> tuple[str, str, str]:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, parent_id, f"00-{trace_id}-{parent_id}-01"


def spans_when(
    collector: FakeCollector, trace_id: str, services: set[str], timeout: float = 15
) -> list[ReceivedSpan]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = collector.of_trace(trace_id)
        if services <= {span.service for span in spans}:
            return spans
        time.sleep(0.2)
    return collector.of_trace(trace_id)


def log_lines(paths: list[Path], trace_id: str, timeout: float = 10) -> dict[str, list[dict[str, Any]]]:
    """ECS lines carrying `trace_id`, by service (nginx writes flat keys, our services nested ones)."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, list[dict[str, Any]]] = {}
        for path in paths:
            for line in path.read_text(errors="replace").splitlines():
                if trace_id in line and line.startswith("{"):
                    doc = json.loads(line)
                    service = doc.get("service.name") or doc.get("service", {}).get("name")
                    found.setdefault(service, []).append(doc)
        if {"nginx", "gateway", "booking_service"} <= found.keys() or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def field(doc: dict[str, Any], dotted: str) -> Any:
    if dotted in doc:
        return doc[dotted]
    node: Any = doc
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@pytest.fixture(scope="module")
def booked(observed_stack: Any, otlp_collector: FakeCollector) -> dict[str, Any]:
    stack = observed_stack
    engine = booking_engine(stack)
    property_id = insert_property(engine, "Tracetown", 120, "traced")
    engine.dispose()
    trace_id, parent_id, header = traceparent()
    guest = 700000 + secrets.randbelow(100000)
    # A watcher on each realtime instance (a Socket.IO server listens to the queue once it has a client).
    watchers = [
        NotificationClient.connect(stack.url("booking_realtime", i), stack.token(guest + 1 + i))
        for i in (0, 1)
    ]
    for watcher in watchers:
        subscribed = watcher.message(
            "get-notification", {"property_id": property_id}, "notification_response"
        )
        assert subscribed.startswith("Subscribed"), subscribed
        joined = watcher.message("join-room", {"property_id": property_id}, "join_response")
        assert "joined" in joined.lower() or str(property_id) in joined, joined
    start = dt.date.today() + dt.timedelta(days=40)
    response = requests.post(
        f"{stack.nginx_url}/api/bookings/book",
        json={
            "userId": guest,
            "propertyId": property_id,
            "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=3)).isoformat(),
        },
        headers={"Authorization": f"Bearer {stack.token(guest)}", "traceparent": header},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    try:
        delivered = [w.wait_for("notification_update", timeout=10) for w in watchers]
    finally:
        for watcher in watchers:
            watcher.close()
    spans = spans_when(otlp_collector, trace_id, {"gateway", "booking_service", "booking_realtime"})
    return {"trace_id": trace_id, "parent_id": parent_id, "spans": spans, "delivered": delivered}


def test_the_gateway_continues_the_callers_trace(booked: dict[str, Any]) -> None:
    gateway = [s for s in booked["spans"] if s.service == "gateway" and s.kind == SERVER]
    assert len(gateway) == 1, booked["spans"]
    assert gateway[0].parent_span_id == booked["parent_id"]
    assert gateway[0].name == "POST /api/bookings/book"
    assert gateway[0].attributes["http.response.status_code"] == 201


def test_booking_service_span_is_a_child_of_the_gateways_upstream_call(booked: dict[str, Any]) -> None:
    spans = booked["spans"]
    calls = {s.span_id for s in spans if s.service == "gateway" and s.kind == CLIENT}
    served = [s for s in spans if s.service == "booking_service" and s.kind == SERVER]
    assert calls and served, spans
    assert served[0].parent_span_id in calls
    assert served[0].name == "POST /api/bookings/book"


def test_sql_statements_of_the_booking_are_spans_of_the_same_trace(booked: dict[str, Any]) -> None:
    sql = [s for s in booked["spans"] if s.service == "booking_service" and s.attributes.get("db.system")]
    statements = " ".join(s.name for s in sql).upper()
    assert "INSERT" in statements and "SELECT" in statements, [s.name for s in sql]


def test_the_notification_the_booking_triggers_is_in_the_same_trace(
    booked: dict[str, Any], otlp_collector: FakeCollector
) -> None:
    emits = [s for s in booked["spans"] if s.service == "booking_realtime" and "socketio emit" in s.name]
    assert emits, (
        sorted({s.service for s in booked["spans"]}),
        sorted({s.name for s in otlp_collector.spans if s.service == "booking_realtime"}),
    )
    ids = {s.span_id for s in booked["spans"] if s.service == "booking_service"}
    assert all(emit.parent_span_id in ids for emit in emits), "continued from the booking request's context"
    assert all(booked["delivered"]), "and each watcher got the notification"


def test_nginx_gateway_and_booking_service_log_the_trace_id(
    observed_stack: Any, booked: dict[str, Any]
) -> None:
    stack = observed_stack
    paths = [stack.root / "nginx" / "logs" / "access.log"]
    paths += [p for name in ("gateway", "booking_service") for p in stack.logs.glob(f"{name}-*.log")]
    found = log_lines(paths, booked["trace_id"])
    assert {"nginx", "gateway", "booking_service"} <= found.keys(), sorted(found)
    for service in ("nginx", "gateway", "booking_service"):
        assert all(field(doc, "trace.id") == booked["trace_id"] for doc in found[service])
    served = {s.span_id for s in booked["spans"] if s.service == "booking_service" and s.kind == SERVER}
    access = [d for d in found["booking_service"] if field(d, "log.logger") == "access"]
    assert access and field(access[0], "span.id") in served, "the access line names its server span"
    assert all(field(doc, "http.request.id") for doc in found["gateway"]), (
        "the request id keeps its own field"
    )


def test_redis_calls_are_spans_of_the_same_trace(booked: dict[str, Any]) -> None:
    redis = [s for s in booked["spans"] if s.attributes.get("db.system") == "redis"]
    # booking_service publishes the notification; the gateway checks the token's version
    assert {"booking_service", "gateway"} <= {s.service for s in redis}, [(s.service, s.name) for s in redis]
    # one script numbers, keeps and publishes it (booking_service/feed.py), pipelined after the commit
    # with the booking copies' invalidations (`Notifier.batch`): one PIPELINE span that lists both
    pipelines = [s for s in redis if s.service == "booking_service" and s.name == "PIPELINE"]
    statements = [s.attributes.get("db.statement", "").split("\n") for s in pipelines]
    assert any({"PUBLISH", "EVALSHA"} <= {line.split(" ")[0] for line in lines} for lines in statements), [
        (s.name, s.attributes.get("db.statement")) for s in redis if s.service == "booking_service"
    ]


def test_each_worker_process_exports_its_own_spans(
    observed_stack: Any, otlp_collector: FakeCollector
) -> None:
    """The SDK is set up in each granian worker after the fork (its batch processor thread is not
    inherited): spans come from the workers' own process ids, never from the server's master process."""
    stack = observed_stack
    sent = []
    for user_id in range(919191, 919191 + 24):  # nginx sends each token to one gateway: 24 users reach both
        trace_id, _, header = traceparent()
        requests.get(f"{stack.nginx_url}/api/bookings/properties", timeout=10, headers={"traceparent": header,
                     "Authorization": f"Bearer {stack.token(user_id)}"})  # fmt: skip
        sent.append(trace_id)
    pids: set[object] = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(pids) < 2:
        pids = {
            s.resource.get("process.pid")
            for t in sent
            for s in otlp_collector.of_trace(t)
            if s.service == "gateway"
        }
        time.sleep(0.2)
    masters = {stack.pid("gateway", i) for i in range(len(stack.ports.services["gateway"]))}
    assert len(pids) >= 2, f"spans from {pids}: two instances (of two workers each)"
    assert not pids & masters, "a resource made before the fork would name the master"


def test_an_etl_run_exports_a_span_per_batch(observed_stack: Any, otlp_collector: FakeCollector) -> None:
    result = run_cli(observed_stack, "run")  # the stack's environment: tracing on, like the services
    assert result.returncode == 0, result.stderr[-2000:]
    deadline = time.monotonic() + 15
    batches: list[ReceivedSpan] = []
    while time.monotonic() < deadline and not batches:
        batches = [s for s in otlp_collector.spans if s.service == "etl_service" and s.name == "etl batch"]
        time.sleep(0.2)
    assert batches, sorted({(s.service, s.name) for s in otlp_collector.spans if s.service != "gateway"})[:20]
    assert {"users", "bookings"} & {str(s.attributes.get("etl.source")) for s in batches}
    assert all(int(s.attributes["etl.rows"]) > 0 for s in batches)


def test_an_unsampled_trace_exports_nothing_but_its_id_still_reaches_the_logs(
    observed_stack: Any, otlp_collector: FakeCollector
) -> None:
    """The caller decided not to sample (flags 00): no process exports a span of it (SQL and Redis calls
    included: no span is even built), yet gateway and booking_service log lines carry its trace id."""
    stack = observed_stack
    trace_id = secrets.token_hex(16)
    header = f"00-{trace_id}-{secrets.token_hex(8)}-00"
    auth = {
        "Authorization": f"Bearer {stack.token(929292)}",
        "Cache-Control": "no-cache",
        "traceparent": header,
    }
    # A date-window search: the gateway keeps no copy of it, so it reaches booking_service and MariaDB.
    search = f"{stack.nginx_url}/api/bookings/properties?from={day(30)}&to={day(31)}"
    assert requests.get(search, headers=auth, timeout=10).ok
    paths = [p for name in ("gateway", "booking_service") for p in stack.logs.glob(f"{name}-*.log")]
    found = log_lines([stack.root / "nginx" / "logs" / "access.log", *paths], trace_id)
    assert {"nginx", "gateway", "booking_service"} <= found.keys(), sorted(found)
    time.sleep(1.0)  # the exporters' schedule is 0.2 s here
    assert otlp_collector.of_trace(trace_id) == []
