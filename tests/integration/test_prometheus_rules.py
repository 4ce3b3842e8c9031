"""Prometheus configuration, recording and alerting rules, and the Grafana dashboard, checked offline.

`promtool` (Debian's `prometheus` package, installed by infra/system.py) checks the rules and both
scrape configurations and runs the rules' unit tests (infra/prometheus/tests/rules_test.yml). Grafana
is not installable here, so its dashboard is validated statically: well-formed, every query parses as
PromQL (promtool checks it as a rule), and every metric it or a rule reads is one the code or an
exporter we run defines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.observability import scrape_config
from infra.ports import Ports

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "infra" / "prometheus"
RULE_FILES = sorted((PROM / "rules").glob("*.yml"))
DASHBOARD = PROM / "dashboards" / "platform.json"
# Exporter metrics the rules and the dashboard read (checked live by test_metrics_prometheus.py).
EXPORTER_METRICS = {
    "up",
    "pg_stat_replication_pg_wal_lsn_diff",
    "redis_cluster_state",
    "redis_cluster_slots_fail",
}
PROMQL_WORDS = {"sum", "by", "rate", "max", "min", "count", "or", "and", "time", "vector", "histogram_quantile",
                "absent", "le", "without", "on", "ignoring", "bool", "unless", "offset"}  # fmt: skip

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool: make system installs it")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, cwd=PROM)


def defined_metrics() -> set[str]:
    """Names our code registers (with the suffixes the exposition adds) and the recording rules' names."""
    names: set[str] = set(EXPORTER_METRICS)
    pattern = re.compile(r'\b(Counter|Gauge|Histogram)\(\s*"([a-z_]+)"', re.S)
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for kind, name in pattern.findall(path.read_text()):
            names |= {f"{name}_total"} if kind == "Counter" else {name}
            if kind == "Histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    for rule_file in RULE_FILES:
        for group in yaml.safe_load(rule_file.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def metric_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\([a-z_, ]*\)\s*\(', "(", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_strings))
    return {w for w in words if w not in PROMQL_WORDS and ("_" in w or ":" in w)}


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_rule_files_pass_promtool_check() -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", "tests/rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_the_issue_asks_for_is_defined_and_unit_tested() -> None:
    alerts = {
        rule["alert"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    wanted = {"ServiceErrorRatioHigh", "ServiceLatencyP99High", "PostgresReplicaLagging", "RedisClusterDegraded",
              "EtlStale", "GatewayBreakerOpen"}  # fmt: skip
    assert wanted <= alerts
    tested = {case["alertname"] for t in yaml.safe_load((PROM / "tests" / "rules_test.yml").read_text())["tests"]
              for case in t.get("alert_rule_test", [])}  # fmt: skip
    assert wanted <= tested


@pytest.mark.parametrize("which", ["local", "compose"])
def test_scrape_configuration_passes_promtool_check(which: str, tmp_path: Path) -> None:
    if which == "local":
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(scrape_config(Ports.block(20000), "2s")))
    else:
        config = PROM / "prometheus.compose.yml"
    result = promtool("check", "config", "--syntax-only", str(config))
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_and_compose_configurations_scrape_the_same_services() -> None:
    local = {job["job_name"] for job in scrape_config(Ports.local())["scrape_configs"]}
    compose = {
        job["job_name"]
        for job in yaml.safe_load((PROM / "prometheus.compose.yml").read_text())["scrape_configs"]
    }
    services = set(Ports.local().services)
    assert services <= local and services <= compose
    assert compose <= local, "compose scrapes a job the local stack does not have"


def test_dashboard_is_well_formed_and_every_query_parses(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 10
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus" and panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
    as_rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, expr in enumerate(dashboard_exprs())]}]}  # fmt: skip
    (tmp_path / "dashboard_queries.yml").write_text(yaml.safe_dump(as_rules))
    result = promtool("check", "rules", str(tmp_path / "dashboard_queries.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_and_dashboard_read_only_metrics_that_exist() -> None:
    known = defined_metrics()
    exprs = dashboard_exprs() + [
        rule["expr"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    unknown = {name for expr in exprs for name in metric_names(str(expr))} - known
    assert unknown == set(), f"no code or exporter defines {sorted(unknown)}"
    assert metric_names('sum by (job) (rate(http_server_requests_total{status="5xx"}[5m]))') == {
        "http_server_requests_total"
    }, "the checker itself must see through labels, ranges and grouping"
