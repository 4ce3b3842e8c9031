"""Login and profile throughput and latency of the user service, hit directly (no gateway, no nginx).

    .venv/bin/python bench/bench_user_service.py [--url http://127.0.0.1:8201] [--seconds 10] [--threads 16]

Without --url it starts a private stack (real PostgreSQL primary + replica, Redis, user_service x2 under
gunicorn) on free ports in 20000-29999 and stops it afterwards. Also prints the CPU cost of one argon2
verify with the service's default parameters. The client runs on the same machine: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.workload.cpu import tree_seconds
from tests.support.client_load import Call, ClientLoop
from user_service.passwords import Passwords
from user_service.settings import UserSettings


def argon2_cpu_ms(rounds: int = 30) -> float:
    defaults = UserSettings()
    passwords = Passwords(defaults.argon2_time_cost, defaults.argon2_memory_kib, defaults.argon2_parallelism)
    stored = passwords.hash("benchmark password")
    started = time.process_time()
    for _ in range(rounds):
        passwords.verify(stored, "benchmark password")
    return (time.process_time() - started) / rounds * 1000


@contextmanager
def private_stack() -> Iterator[tuple[list[str], list[int]]]:
    from infra.ports import free_block
    from infra.stack import Stack

    root = Path(tempfile.mkdtemp(prefix="hrp-bench-user-"))
    root.chmod(0o755)
    stack = Stack(root, free_block(), env_name="test")
    stack.services = [spec for spec in stack.services if spec.name == "user_service"]
    try:
        stack.up()
        instances = range(len(stack.ports.services["user_service"]))
        pids = [pid for i in instances if (pid := stack.pid("user_service", i))]
        yield [stack.url("user_service", i) for i in instances], pids
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


def sign_up(url: str) -> tuple[dict[str, str], str]:
    name = f"bench{uuid.uuid4().hex[:12]}"
    creds = {"email": f"{name}@example.com", "password": "benchmark password"}
    requests.post(
        url + "/api/users/register", json={"username": name, **creds}, timeout=10
    ).raise_for_status()
    login = requests.post(url + "/api/users/login", json=creds, timeout=10)
    login.raise_for_status()
    return creds, login.json()["token"]


def hammer(seconds: float, threads: int, call: Call, pids: list[int]) -> dict[str, float]:
    """Run `call` from `threads` threads for `seconds`; throughput, latency percentiles, server CPU."""
    cpu_before = sum(map(tree_seconds, pids))
    figures = ClientLoop(call, threads).run(seconds=seconds).figures()
    server_cpu = sum(map(tree_seconds, pids)) - cpu_before
    per_request = server_cpu * 1000 / figures["requests"] if pids and figures["requests"] else float("nan")
    return {**figures, "server_cpu_ms_per_request": per_request}


def run(urls: list[str], seconds: float, threads: int, pids: list[int]) -> dict[str, dict[str, float]]:
    users = [sign_up(urls[i % len(urls)]) for i in range(threads)]

    def login(session: requests.Session, index: int) -> int:
        url = urls[index % len(urls)]
        return session.post(url + "/api/users/login", json=users[index][0], timeout=10).status_code

    def profile(session: requests.Session, index: int) -> int:
        headers = {"Authorization": f"Bearer {users[index][1]}"}
        return session.get(
            urls[index % len(urls)] + "/api/users/profile", headers=headers, timeout=10
        ).status_code

    return {
        "login": hammer(seconds, threads, login, pids),
        "profile": hammer(seconds, threads, profile, pids),
    }


def report(results: dict[str, dict[str, float]], argon2_ms: float, instances: int) -> None:
    print(
        f"\nuser_service direct, {instances} instance(s); argon2 verify = {argon2_ms:.1f} ms CPU (goal <= 50)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    header = f"{'endpoint':<10}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
    print(header + f"{'server CPU ms/req':>20}")
    for name, row in results.items():
        print(
            f"{name:<10}{row['requests']:>10.0f}{row['errors']:>8.0f}{row['rps']:>10.1f}"
            f"{row['p50_ms']:>10.1f}{row['p99_ms']:>10.1f}{row['server_cpu_ms_per_request']:>20.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", action="append", help="user_service base URL (repeatable)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    argon2_ms = argon2_cpu_ms()
    if args.url:
        results, instances = run(args.url, args.seconds, args.threads, []), len(args.url)
    else:
        with private_stack() as (urls, pids):
            results, instances = run(urls, args.seconds, args.threads, pids), len(urls)
    report(results, argon2_ms, instances)
    if args.json:
        args.json.write_text(json.dumps({"argon2_verify_cpu_ms": argon2_ms, **results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
