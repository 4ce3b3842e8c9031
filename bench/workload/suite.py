"""The measurements on one private stack: reference points, the offered-load sweep, the scale-out run."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench.workload import cpu, hello
from bench.workload.loadgen import Outcome, Request, run_closed, run_open
from bench.workload.mix import Planner, http_request, seed
from infra.ports import free_block, port_in_use
from infra.stack import Stack

UNTHROTTLED = {"RATE_LIMIT": "10000000/minute", "USER_RATE_LIMIT": "10000000/minute"}
SWEEP = (0.10, 0.25, 0.50, 0.75, 1.00, 1.25)
MAX_CONNS, CLIENT_PROCS = 32, 2
MIXED, MIX_TRIES = "full path: mixed workload", 2


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds per measurement; `quick` shrinks them for a smoke run."""

    max_s: float = 3.0
    unloaded_s: float = 1.5
    step_s: float = 5.0
    warm_s: float = 0.5

    @classmethod
    def quick(cls) -> Timing:
        return cls(max_s=1.5, unloaded_s=0.7, step_s=2.0, warm_s=0.5)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


@contextmanager
def private_stack(instances: int, workers: int, threads: int) -> Iterator[Stack]:
    """A stack on free ports in 20000-29999 with `instances` of each service and rate limits lifted."""
    ports = free_block()
    ports = dataclasses.replace(ports, services={k: v[:instances] for k, v in ports.services.items()})
    root = Path(tempfile.mkdtemp(prefix=f"hrp-bench-{instances}x-"))
    root.chmod(0o755)
    stack = Stack(root, ports, env_name="test", workers=workers, threads=threads)
    stack.env.update(UNTHROTTLED)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def hello_server(workers: int, threads: int, log: Path) -> Iterator[str]:
    port = next(p for p in range(29950, 29999) if not port_in_use(p))
    process = hello.start(port, workers, threads, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        import os

        os.killpg(process.pid, 15)
        process.wait(timeout=10)


def summarize(outcome: Outcome, offered_rps: float | None = None) -> dict:
    values = np.asarray(outcome.all_latencies()) * 1000
    ok = int(values.size)
    row: dict = {"ok": ok, "errors": sum(outcome.errors.values()), "error_kinds": dict(outcome.errors)}
    row["rps"] = ok / outcome.elapsed_s if outcome.elapsed_s else 0.0
    row["offered_rps"] = offered_rps
    row["generator_cpu_s"] = outcome.generator_cpu_s
    if ok:
        p50, p90, p99, p999 = np.percentile(values, [50, 90, 99, 99.9])
        row.update(p50_ms=p50, p90_ms=p90, p99_ms=p99, p999_ms=p999, max_ms=float(values.max()))
    row["per_kind"] = {
        kind: {
            "n": len(v),
            "p50_ms": float(np.median(v)) * 1000,
            "p99_ms": float(np.percentile(v, 99)) * 1000,
        }
        for kind, v in outcome.latencies.items()
        if v
    }
    return row


def saturate(url: str, make_plan: Callable[[], list[Request]], timing: Timing, tries: int = 1) -> dict:
    """Maximum throughput (closed loop, 2 x 32 connections; best of `tries`, as other work on the machine
    can only lower it) and one-client unloaded latency. Each run gets a fresh plan (book/cancel once)."""
    runs = [
        summarize(run_closed(address(url), make_plan(), timing.max_s, procs=CLIENT_PROCS, conns=MAX_CONNS))
        for _ in range(tries)
    ]
    loaded = max(runs, key=lambda run: run["rps"])
    loaded["tries_rps"] = [run["rps"] for run in runs]
    loaded["errors"] = sum(run["errors"] for run in runs)
    single = summarize(run_closed(address(url), make_plan(), timing.unloaded_s, procs=1, conns=1))
    loaded["unloaded_errors"] = single["errors"]
    loaded["unloaded_p50_ms"] = single.get("p50_ms", float("nan"))
    loaded["unloaded_p99_ms"] = single.get("p99_ms", float("nan"))
    return loaded


def repeat(kind: str, raw: bytes, n: int = 60_000) -> list[Request]:
    return [(kind, raw)] * n


def references(stack: Stack, hello_url: str, planner: Planner, timing: Timing) -> dict[str, dict]:
    """Each hop alone, then the whole path, measured the same way in the same run."""
    fixture = planner.fixture
    reader = next(iter(fixture.reader_bookings))
    by_id = http_request(
        "GET", f"/api/bookings/booking/{fixture.reader_bookings[reader][0]}", fixture.tokens[reader]
    )
    listing = http_request("GET", "/api/bookings/properties")
    uncached = listing.replace(b"\r\n\r\n", b"\r\nCache-Control: no-cache\r\n\r\n")
    book, gw, nginx = stack.url("booking_service", 0), stack.url("gateway", 0), stack.nginx_url
    targets: dict[str, tuple[str, Callable[[], list[Request]]]] = {
        "nginx static file": (nginx, lambda: repeat("static", http_request("GET", "/index.html"))),
        "bare gunicorn hello": (hello_url, lambda: repeat("hello", http_request("GET", "/"))),
        "booking_service: property list (cached)": (book, lambda: repeat("list", listing)),
        "booking_service: property list (uncached)": (book, lambda: repeat("list", uncached)),
        "booking_service: booking by id": (book, lambda: repeat("by_id", by_id)),
        "user_service: login (argon2)": (stack.url("user_service", 0), lambda: planner_logins(planner)),
        "gateway: property list (cached)": (gw, lambda: repeat("list", listing)),
        "gateway: booking by id": (gw, lambda: repeat("by_id", by_id)),
        "full path: property list (cached)": (nginx, lambda: repeat("list", listing)),
        "full path: booking by id": (nginx, lambda: repeat("by_id", by_id)),
        MIXED: (nginx, lambda: planner.plan(int(4000 * timing.max_s))),
    }
    results = {}
    for name, (url, plan) in targets.items():
        run_closed(address(url), plan()[:5000], timing.warm_s, procs=1, conns=8)
        tries = MIX_TRIES if name == MIXED else 1
        results[name] = {**saturate(url, plan, timing, tries), "url": url}
    return results


def planner_logins(planner: Planner) -> list[Request]:
    return [planner.login() for _ in range(5000)]


def sweep(stack: Stack, planner: Planner, max_rps: float, timing: Timing) -> list[dict]:
    """Open-loop mixed load at fractions of the measured maximum, with CPU per component for each step."""
    steps = []
    for fraction in SWEEP:
        steps.append({"fraction": fraction, **offer(stack, planner, fraction * max_rps, timing.step_s)})
    return steps


def offer(stack: Stack, planner: Planner, rate: float, seconds: float) -> dict:
    plan = planner.plan(max(1, int(rate * seconds)))
    before, started = cpu.snapshot(stack), time.monotonic()
    outcome = run_open(address(stack.nginx_url), plan, rate, procs=CLIENT_PROCS, conns=64)
    after, wall = cpu.snapshot(stack), time.monotonic() - started
    row = summarize(outcome, offered_rps=rate)
    row["cpu"] = cpu.shares(before, after, outcome.generator_cpu_s, wall)
    return row


def prepare(stack: Stack) -> Planner:
    fixture = seed(stack.env["BOOKING_DB_URL"], stack.url("user_service", 0), stack.token)
    return Planner(fixture)


def warm_mix(stack: Stack, planner: Planner, timing: Timing) -> None:
    run_closed(address(stack.nginx_url), planner.plan(3000), timing.warm_s * 2, procs=CLIENT_PROCS, conns=16)
