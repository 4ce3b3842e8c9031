"""Gray failures (issue #15 item 9): one instance of a scaled service frozen with SIGSTOP — alive to the
kernel, silent to everyone — under a loop of signed-in reads through nginx. Goal: no read costs more than
2 s and none fails (the gateway hedges a read left unanswered for 0.5 s to the other instance and its
health checks drop the frozen one within about a second). Real private stack; nothing is mocked.
The figures land in tests/output/freeze_report.txt."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.load import LoadUser

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
REPORT = Path(__file__).resolve().parents[1] / "output" / "freeze_report.txt"
BOUND_S = 2.0
CLIENTS = 4
FROZEN_FOR_S = 4.0


def process_tree(root: int) -> list[int]:
    """`root` and its children (PostgreSQL: the postmaster and its backends)."""
    children = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == root:
                    children.append(int(proc.name))
            except (OSError, ValueError, IndexError):
                continue
    return [root, *children]


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def read_loop(url: str, headers: dict[str, str], stop: threading.Event, out: list[tuple[float, int]]) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status = session.get(url, headers=headers, timeout=10).status_code
            except requests.RequestException:
                status = 0
            out.append((time.perf_counter() - started, status))


def assert_reads_survive_a_freeze(url: str, token: str, pids: list[int], what: str, clients: int) -> None:
    """`clients` loops read `url` while `pids` are frozen for FROZEN_FOR_S; none may fail or exceed the
    bound. The figures go to the freeze report."""
    headers = {"Authorization": f"Bearer {token}"}  # a token: never served by the edge cache
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    results: list[tuple[float, int]] = []
    stop = threading.Event()
    readers = [
        threading.Thread(target=read_loop, args=(url, headers, stop, results), daemon=True)
        for _ in range(clients)
    ]
    for reader in readers:
        reader.start()
    time.sleep(1.0)
    signal_all(pids, signal.SIGSTOP)
    try:
        time.sleep(FROZEN_FOR_S)
    finally:
        signal_all(pids, signal.SIGCONT)
    time.sleep(1.0)
    stop.set()
    for reader in readers:
        reader.join(timeout=15)
    slowest = max(latency for latency, _ in results)
    failed = sum(1 for _, status in results if status != 200)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as report:
        report.write(f"{what} frozen {FROZEN_FOR_S:.0f} s, GET {urlsplit(url).path}: {len(results)} reads, "
                     f"{failed} failed, slowest {slowest:.2f} s\n")  # fmt: skip
    assert failed == 0, f"{failed} of {len(results)} reads failed"
    assert slowest <= BOUND_S, f"slowest read {slowest:.2f} s"


@pytest.mark.parametrize(
    ("service", "path"),
    [("booking_service", "/api/bookings/properties"), ("user_service", "/api/users/profile")],
)
def test_a_frozen_instance_costs_no_read_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser], service: str, path: str
) -> None:
    pid = chaos_stack.pid(service, 0)
    assert pid, f"{service}-0 has no pid"
    workers = process_tree(pid)  # granian's main process and its workers
    url = chaos_stack.nginx_url + path
    assert_reads_survive_a_freeze(url, load_users[0].token, workers, f"{service}-0", CLIENTS)


def test_a_frozen_replica_costs_profile_reads_no_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """The replica's postmaster and backends frozen: user_service's watchdog shuts a read that outlives
    1 s, the replica is marked down and reads run on the primary."""
    replica = chaos_stack.pid("postgres_replica")
    assert replica, "no replica pid"
    url = chaos_stack.nginx_url + "/api/users/profile"
    assert_reads_survive_a_freeze(url, load_users[1].token, process_tree(replica), "postgres replica", 2)


def test_a_frozen_gateway_costs_no_read_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """nginx takes a gateway silent on a read for 1.5 s as frozen: the read goes to the other gateway and
    the frozen one is skipped for 2 s (max_fails=1, fail_timeout=2s in a zone shared by nginx's workers)."""
    pid = chaos_stack.pid("gateway", 0)
    assert pid, "gateway-0 has no pid"
    url = chaos_stack.nginx_url + "/api/users/profile"
    assert_reads_survive_a_freeze(url, load_users[2].token, process_tree(pid), "gateway-0", CLIENTS)
