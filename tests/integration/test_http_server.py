"""The HTTP services' server (granian through infra/serve.py) keeps what gunicorn gave us: SIGHUP replaces
the workers and SIGTERM stops, both without failing a request in flight; a request's environ holds none of
the secrets the app was built with. A real granian process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from infra.procs import process_tree
from infra.serve import APP_PACKAGE, granian_argv
from tests.support.faults import wait_until
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"SECRET_KEY": "test-secret-value", "REDIS_CLUSTER_PASSWORD": "test-redis-password",
           "BOOKING_DB_URL": "mysql+pymysql://app:test-db-password@127.0.0.1:1/bookings"}  # fmt: skip


@pytest.fixture
def server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "HTTP_WORKERS": "1", "HTTP_THREADS": "2",
           APP_PACKAGE: "tests.support.slow_wsgi", **SECRETS}  # fmt: skip
    process = subprocess.Popen(
        granian_argv(env), cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    assert wait_until(lambda: _answers(url), 15), "granian did not start"
    yield process, url
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _pid(url: str) -> str:
    return requests.get(url, timeout=5).text


def _replace_workers(process: subprocess.Popen[bytes], url: str) -> None:
    before = _pid(url)
    process.send_signal(signal.SIGHUP)
    assert wait_until(lambda: _answers(url) and _pid(url) != before, 10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_sighup_replaces_the_workers_and_finishes_the_request_in_flight(server) -> None:
    process, url = server
    before = requests.get(url, timeout=5).text
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(requests.get, url + "?1.5", timeout=10)
        wait_until(lambda: False, 0.4)
        process.send_signal(signal.SIGHUP)
        assert in_flight.result().status_code == 200
    assert wait_until(lambda: _answers(url) and requests.get(url, timeout=5).text != before, 10)


def test_sigterm_drains_the_request_in_flight_then_exits(server) -> None:
    process, url = server
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(requests.get, url + "?1.5", timeout=10)
        wait_until(lambda: False, 0.4)
        process.send_signal(signal.SIGTERM)
        assert in_flight.result().status_code == 200
    process.wait(timeout=10)  # raises if granian is still running
    assert not _answers(url)


def test_a_request_s_environ_holds_no_secret_the_app_was_built_with(server) -> None:
    process, url = server
    passwords = ("test-secret-value", "test-redis-password", "test-db-password")
    for _ in range(2):  # the first worker, then the one a SIGHUP starts (the master keeps the secrets)
        seen = requests.get(url + "environ", timeout=5).json()
        assert set(SECRETS) <= set(seen["factory"])
        assert "BIND" in seen["request"]  # what is not a secret stays
        leaked = {name for name, value in seen["request"].items() if any(p in value for p in passwords)}
        assert leaked == set() and not set(SECRETS) & set(seen["request"])
        _replace_workers(process, url)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to tell one from all")
def test_cpu_cores_keeps_the_server_its_workers_and_their_threads_on_those_cores() -> None:
    port, core = free_port(), max(os.sched_getaffinity(0))
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "HTTP_WORKERS": "2", "HTTP_THREADS": "2",
           "CPU_CORES": str(core)}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.serve", "tests.support.slow_wsgi"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        assert wait_until(lambda: _answers(url), 15), "granian did not start"
        threads = [
            int(task.name)
            for pid in process_tree(process.pid)
            for task in Path(f"/proc/{pid}/task").iterdir()
        ]
        assert len(threads) > 4  # the server, two workers, their runtime and blocking threads
        assert {tid: os.sched_getaffinity(tid) for tid in threads} == {tid: {core} for tid in threads}
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
