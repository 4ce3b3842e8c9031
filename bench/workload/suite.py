"""The measurements on one private stack: reference points, the offered-load sweep, the scale-out run."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from bench.workload import hello, meter
from bench.workload.loadgen import Outcome, Request, run_closed, run_open
from bench.workload.mix import NO_CACHE, Planner, http_request, seed
from infra.ports import free_block, port_in_use
from infra.stack import Stack

UNTHROTTLED = {"RATE_LIMIT": "10000000/minute", "USER_RATE_LIMIT": "10000000/minute"}
SWEEP = (0.10, 0.25, 0.50, 0.75, 1.00, 1.25)
MAX_CONNS, CLIENT_PROCS = 32, 2
MIX_TRIES = 2
P99_BOUND_X = 10  # the p99 at 50 % of the mixed maximum must stay under this many one-client p50s
MIXED = f"full path: mixed workload, {NO_CACHE}"  # the sweep's maximum and the target


def mixed(browse: str) -> str:
    return f"full path: mixed workload, {browse}"


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds per measurement; `quick` shrinks them for a smoke run."""

    max_s: float = 3.0  # the Python generator's closed-loop maxima (mixed workload)
    wrk_s: float = 8.0  # wrk's maxima of the reference rows, as in the issue (wrk -t2 -c32 -d8s)
    unloaded_s: float = 1.5
    step_s: float = 5.0
    warm_s: float = 1.0  # wrk's shortest run

    @classmethod
    def quick(cls) -> Timing:
        return cls(max_s=1.5, wrk_s=2.0, unloaded_s=0.7, step_s=2.0, warm_s=1.0)


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
def hello_servers(workers: int, threads: int, log: Path) -> Iterator[dict[str, tuple[str, int]]]:
    """The baselines of bench/workload/hello.py on free ports: {name: (url, pid of the server's main process)}."""
    ports = dict(zip(hello.HELLOS, [p for p in range(29950, 29999) if not port_in_use(p)], strict=False))
    processes = {name: hello.start(name, port, workers, threads, log) for name, port in ports.items()}
    try:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for url in urls.values():
            wait_listening(url)
        yield {name: (urls[name], processes[name].pid) for name in processes}
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def wait_listening(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not port_in_use(address(url)[1]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start within {seconds:.0f} s")
        time.sleep(0.1)


def summarize(outcome: Outcome, offered_rps: float | None = None, bound_ms: float | None = None) -> dict:
    """Counts, rate and latency percentiles, overall and per kind; with `bound_ms`, also the share of
    answered requests slower than it (a p99 is under the bound only while that share is under 1 %)."""
    values = np.asarray(outcome.all_latencies()) * 1000
    ok = int(values.size)
    errors = sum(outcome.errors.values())
    row: dict = {"ok": ok, "errors": errors, "error_kinds": dict(outcome.errors), "requests": ok + errors}
    row["edge"] = dict(outcome.edge)
    row["rps"] = ok / outcome.elapsed_s if outcome.elapsed_s else 0.0
    row["offered_rps"] = offered_rps
    row["generator_cpu_s"] = outcome.generator_cpu_s
    if ok:
        p50, p90, p99, p999 = np.percentile(values, [50, 90, 99, 99.9])
        row.update(p50_ms=p50, p90_ms=p90, p99_ms=p99, p999_ms=p999, max_ms=float(values.max()))
    row["per_kind"] = {kind: kind_summary(v, bound_ms) for kind, v in outcome.latencies.items() if v}
    if outcome.late_s:
        row["late_sends"] = late_summary(outcome.late_s)
    if bound_ms is not None and ok:
        row["bound_ms"] = bound_ms
        row["above_bound_pct"] = percent_above(values, bound_ms)
    return row


def kind_summary(latencies_s: list[float], bound_ms: float | None) -> dict:
    values = np.asarray(latencies_s) * 1000
    found = {
        "n": int(values.size),
        "p50_ms": float(np.median(values)),
        "p99_ms": float(np.percentile(values, 99)),
    }
    if bound_ms is not None:
        found["above_bound_pct"] = percent_above(values, bound_ms)
    return found


def late_summary(late_s: list[float]) -> dict:
    """How late the open-loop generator's sends left: the instrument's own delay, shown beside the tail it
    is charged to (a late send counts as latency from its due time, so the server pays for it)."""
    values = np.asarray(late_s) * 1000
    return {"p99_ms": float(np.percentile(values, 99)), "over_1ms_pct": percent_above(values, 1.0)}


def percent_above(values_ms: np.ndarray, bound_ms: float) -> float:
    return 100 * float(np.mean(values_ms > bound_ms))


def p99_bound_ms(refs: dict, row: str = MIXED) -> float:
    """The issue's bound on the p99 at 50 % of a maximum: P99_BOUND_X x that row's one-client p50 (the mix's,
    unless another row is named)."""
    return P99_BOUND_X * refs[row]["unloaded_p50_ms"]


def saturate(
    url: str, make_plan: Callable[[], list[Request]], timing: Timing, stack: Stack, tries: int = 1
) -> dict:
    """Maximum throughput (closed loop, 2 x 32 connections; best of `tries`, as other work on the machine
    can only lower it) and one-client unloaded latency once the requests left in flight are done. Each run
    gets a fresh plan (book/cancel once). Errors: every non-2xx or unanswered request of every run."""
    runs = [
        summarize(run_closed(address(url), make_plan(), timing.max_s, procs=CLIENT_PROCS, conns=MAX_CONNS))
        for _ in range(tries)
    ]
    loaded = max(runs, key=lambda run: run["rps"])
    loaded["tries_rps"] = [run["rps"] for run in runs]
    meter.settle(stack)
    single = summarize(run_closed(address(url), make_plan(), timing.unloaded_s, procs=1, conns=1))
    loaded["errors"] = sum(run["errors"] for run in runs) + single["errors"]
    loaded["unloaded_errors"] = single["errors"]
    loaded["unloaded_p50_ms"] = single.get("p50_ms", float("nan"))
    loaded["unloaded_p99_ms"] = single.get("p99_ms", float("nan"))
    return loaded


def sweep(
    stack: Stack, planner: Planner, max_rps: float, timing: Timing, bound_ms: float | None = None
) -> list[dict]:
    """Open-loop mixed load at fractions of the measured maximum, with CPU per component for each step
    and, given the p99 target's bound, the share of requests slower than it."""
    return [
        {"fraction": fraction, **offer(stack, planner, fraction * max_rps, timing.step_s, bound_ms)}
        for fraction in SWEEP
    ]


def yardstick_at_half(stack: Stack, url: str, refs: dict, timing: Timing) -> dict:
    """The p99 target's own test on the yardstick: the bare Flask hello (one hop, no database) open loop at
    50 % of its maximum, against P99_BOUND_X x its one-client p50, once the stack has finished what the
    sweep's last step left. Reported beside the target, it says what the bound asks of a single Python
    server on this machine, in this run."""
    meter.settle(stack)
    rate = refs[hello.FLASK_HELLO]["rps"] / 2
    plan = [("hello", http_request("GET", "/"))] * max(1, int(rate * timing.step_s))
    outcome = run_open(address(url), plan, rate, procs=CLIENT_PROCS, conns=64)
    return summarize(outcome, offered_rps=rate, bound_ms=p99_bound_ms(refs, hello.FLASK_HELLO))


def offer(stack: Stack, planner: Planner, rate: float, seconds: float, bound_ms: float | None = None) -> dict:
    plan = planner.plan(max(1, int(rate * seconds)))
    before, started = meter.mark(stack), time.monotonic()
    outcome = run_open(address(stack.nginx_url), plan, rate, procs=CLIENT_PROCS, conns=64)
    wall = time.monotonic() - started
    return {
        **summarize(outcome, offered_rps=rate, bound_ms=bound_ms),
        **meter.step(stack, before, outcome.generator_cpu_s, wall),
    }


def prepare(stack: Stack) -> Planner:
    """Seeds the data; the planner sends browse requests with `Cache-Control: no-cache` (edge bypassed)."""
    fixture = seed(stack.env["BOOKING_DB_URL"], stack.url("user_service", 0), stack.token)
    return Planner(fixture, browse=NO_CACHE)


def warm_mix(stack: Stack, planner: Planner, timing: Timing) -> None:
    run_closed(address(stack.nginx_url), planner.plan(3000), timing.warm_s * 2, procs=CLIENT_PROCS, conns=16)
