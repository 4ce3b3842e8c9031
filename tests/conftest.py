"""Session-wide private stack of real servers and services, on free ports in 20000–29999."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from infra.ports import free_block
from infra.stack import Stack
from tests.support.data import booking_engine

pytest_plugins = ["tests.support.etl", "tests.support.browser"]

OUTPUT_DIR = Path(__file__).parent / "output"
# Every suite shares the session stack from one client address (127.0.0.1): the gateway's per-IP limit is
# raised so suites do not throttle each other; the limits themselves are tested on their own stacks.
SESSION_ENV = {"RATE_LIMIT": "5000/minute", "USER_RATE_LIMIT": "5000/minute"}


def start_private_stack(
    prefix: str = "hrp-test-", with_services: bool = True, env: dict[str, str] | None = None
) -> tuple[Stack, dict[str, float]]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    stack = Stack(root, free_block(), env_name="test", workers=1, threads=8)
    stack.env.update(env or {})
    try:
        timings = stack.up(with_services=with_services)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return stack, timings


def stop_private_stack(stack: Stack) -> float:
    started = time.monotonic()
    stack.down()
    elapsed = time.monotonic() - started
    if not os.environ.get("KEEP_STACK"):
        keep_logs(stack)
        shutil.rmtree(stack.root, ignore_errors=True)
    return elapsed


def keep_logs(stack: Stack) -> None:
    """Copy the stack's logs next to the test output so a failed run can be read afterwards."""
    target = OUTPUT_DIR / "logs" / stack.root.name
    shutil.copytree(stack.logs, target, dirs_exist_ok=True)
    nginx_logs = stack.root / "nginx" / "logs"
    if nginx_logs.exists():
        shutil.copytree(nginx_logs, target / "nginx", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    private, timings = start_private_stack(env=SESSION_ENV)
    print(f"\n[stack] up in {timings['total_s']:.1f}s on ports from {private.ports.nginx_http}")
    yield private
    print(f"\n[stack] down in {stop_private_stack(private):.1f}s")


@pytest.fixture(scope="session")
def stack_booking_db(stack: Stack) -> Iterator[sa.Engine]:
    """The session stack's booking database, for tests that need rows of their own (a property to watch)."""
    engine = booking_engine(stack)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
