"""The ELK files agree with each other and with the logs our code writes (no Elasticsearch needed).

Elasticsearch and Kibana are not run: their behaviour is reproduced from our own config files by
infra/elk/ecs_mapping.py (see its docstring), and the saved objects are checked for consistency.
"""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest
import yaml
from flask import Flask

from common.logs import configure_logging, flush_access_lines
from common.settings import BaseServiceSettings
from common.web import init_web
from tests.support import ecs_mapping
from tests.support.ecs_mapping import MappingError

ELK = ecs_mapping.ELK_DIR
FILEBEAT = yaml.safe_load(ecs_mapping.FILEBEAT.read_text())
TEMPLATE = json.loads(ecs_mapping.TEMPLATE.read_text())
SAVED_OBJECTS = [json.loads(line) for line in (ELK / "kibana-saved-objects.ndjson").read_text().splitlines()]
DASHBOARD_FIELDS = (
    "service.name",
    "http.response.status_code",
    "event.duration",
    "http.request.id",
    "url.path",
)


def test_filebeat_writes_where_the_template_and_pipeline_apply() -> None:
    output = FILEBEAT["output.elasticsearch"]
    index_prefix = output["index"].split("%")[0]
    assert any(
        re.fullmatch(p.replace("*", ".*"), index_prefix + "2026.01.01") for p in TEMPLATE["index_patterns"]
    )
    assert TEMPLATE["template"]["settings"]["index.default_pipeline"] == output["pipeline"]
    setup = (ELK / "setup.sh").read_text()
    assert f"_ingest/pipeline/{output['pipeline']} ingest-pipeline.json" in setup
    assert "_index_template/hrp-logs index-template.json" in setup
    assert "kibana-saved-objects.ndjson" in setup


def test_dashboard_fields_are_explicitly_mapped() -> None:
    fields = ecs_mapping.template_fields()
    assert fields["http.response.status_code"] == "long"
    assert fields["event.duration"] == "long"
    for field in DASHBOARD_FIELDS:
        assert fields[field] in ("keyword", "long"), field


def fields_used(obj: dict[str, Any]) -> set[str]:
    state = obj["attributes"].get("visState")
    if state is None:
        return set(obj["attributes"].get("columns", []))
    return {agg["params"]["field"] for agg in json.loads(state)["aggs"] if "field" in agg["params"]}


def test_saved_objects_reference_each_other_and_mapped_fields_only() -> None:
    by_id = {(obj["type"], obj["id"]): obj for obj in SAVED_OBJECTS}
    mapped = ecs_mapping.template_fields()
    data_view = next(obj for obj in SAVED_OBJECTS if obj["type"] == "index-pattern")
    assert data_view["attributes"]["title"] in TEMPLATE["index_patterns"]
    for obj in SAVED_OBJECTS:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in by_id, f"{obj['id']} references missing {ref['id']}"
        assert fields_used(obj) <= mapped.keys() | {"message"}, obj["id"]
    dashboard = next(obj for obj in SAVED_OBJECTS if obj["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in dashboard["references"]}
    titles = " ".join(by_id[(r["type"], r["id"])]["attributes"]["title"] for r in dashboard["references"])
    for topic in ("service and status", "p95 latency", "Errors"):
        assert topic in titles


def test_p95_latency_panel_is_a_95th_percentile_of_event_duration() -> None:
    panel = next(obj for obj in SAVED_OBJECTS if obj["id"] == "hrp-latency-p95")
    metric = json.loads(panel["attributes"]["visState"])["aggs"][0]
    assert metric["type"] == "percentiles" and metric["params"] == {**metric["params"], "percents": [95]}
    assert metric["params"]["field"] == "event.duration"


def captured_lines(service: str) -> list[str]:
    """ECS lines common.logs/common.web write for one request to a plain app."""
    stream = io.StringIO()
    configure_logging(service)
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_hrp_ecs", False))
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        app = Flask(service)
        init_web(app, BaseServiceSettings(service_name=service))
        app.add_url_rule("/api/ping", "ping", lambda: {"ok": True})
        app.test_client().get("/api/ping", headers={"X-Request-ID": "req-123"})
        flush_access_lines()  # written in batches by a background thread; now, for the test
    finally:
        logging.getLogger().removeHandler(handler)
    return [line for line in stream.getvalue().splitlines() if line]


def test_our_access_log_line_ships_with_the_mapped_types() -> None:
    lines = captured_lines("gateway")
    events = [ecs_mapping.ship(line) for line in lines]
    access = next(e for e in events if e["log"]["logger"] == "access")
    assert access["service"]["name"] == "gateway"
    assert access["http"]["request"]["id"] == "req-123"
    assert "trace" not in access, "trace.id is the OpenTelemetry trace id, absent while tracing is off"
    assert access["http"]["response"]["status_code"] == 200
    assert isinstance(access["event"]["duration"], int)


def test_nginx_log_format_ships_with_the_mapped_types() -> None:
    conf = (ecs_mapping.ELK_DIR.parents[1] / "nginx.conf").read_text()
    fmt = "".join(re.findall(r"'([^']*)'", re.search(r"log_format ecs_json[^;]*;", conf, re.S).group(0)))
    values = {"time_iso8601": "2026-01-01T10:00:00+00:00", "request_method": "GET", "uri": "/api/x",
              "status": "502", "req_id": "abc", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "remote_addr": "172.28.0.1", "request_time": "0.004",
              "upstream_addr": "172.28.0.5:8000"}  # fmt: skip
    line = re.sub(r"\$(\w+)", lambda m: values[m.group(1)], fmt)
    event = ecs_mapping.ship(line)
    assert event["http"]["response"]["status_code"] == 502
    assert event["service"]["name"] == "nginx" and event["http"]["request"]["id"] == "abc"
    assert event["trace"]["id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "line",
    [
        '{"service.name": "x", "http.response.status_code": "abc"}',
        '{"service.name": "x", "client.ip": "not-an-ip"}',
        '{"service": {"name": 3}}',
        '{"url": "x", "url.path": "/"}',
        "plain text",
    ],
)
def test_mapping_check_rejects_what_elasticsearch_would_not_index_as_mapped(line: str) -> None:
    with pytest.raises(MappingError):
        ecs_mapping.ship(line)


def test_unknown_pipeline_processors_are_not_silently_skipped() -> None:
    with pytest.raises(NotImplementedError):
        ecs_mapping.apply_pipeline({"a": 1}, {"processors": [{"script": {"field": "a", "source": "x"}}]})
