"""A private stack with everything an operator observes: Prometheus, the Pushgateway, the exporters, and
tracing on towards a fake OTLP collector (tests/support/otlp_collector.py: no real one installs here).
Started once for the metrics and tracing suites that ask for it, stopped right after the last test that
uses it (not at the end of the session: it must not load the 2 cores while other suites run)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.ports import free_block
from infra.stack import Stack
from tests.conftest import stop_private_stack
from tests.support.otlp_collector import FakeCollector

FIXTURE = "observed_stack"
_last_user = pytest.StashKey[bool]()
_running: list[Stack] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    users = [item for item in items if FIXTURE in getattr(item, "fixturenames", ())]
    if users:
        users[-1].stash[_last_user] = True


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if item.stash.get(_last_user, False):
        _stop()


def _stop() -> None:
    while _running:
        stop_private_stack(_running.pop())


@pytest.fixture(scope="session")
def otlp_collector() -> Iterator[FakeCollector]:
    collector = FakeCollector().start()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def observed_stack(otlp_collector: FakeCollector) -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="hrp-observed-"))
    root.chmod(0o755)
    stack = Stack(
        root, free_block(), env_name="test", workers=2, threads=8, observability=True, scrape_interval="2s"
    )
    stack.env.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within 0.2 s instead of 5 s
            "RATE_LIMIT": "5000/minute",
            "USER_RATE_LIMIT": "5000/minute",
        }
    )
    _running.append(stack)
    try:
        stack.up()
        yield stack
    finally:
        _stop()
