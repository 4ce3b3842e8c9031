"""The whole performance suite against private stacks: `make bench` (= python -m bench.run).

    python -m bench.run [--quick] [--skip-external] [--skip-scale-out] [--out DIR] [--render FILE]

1. A private stack (nginx, 2 gateways, 2 user_service, 2 booking_service, 2 realtime, real databases)
   on free ports in 20000-29999, plus a bare Flask `jsonify` hello and a raw WSGI hello on gunicorn with
   the same worker settings: reference points (wrk maxima, CPU and requests served per component, and
   one-client latency of each hop; every ratio is to the Flask hello), the mixed workload's maxima, then
   the mixed workload (edge cache bypassed) offered open-loop at 10-125 % of its measured maximum.
   The Socket.IO fan-out benchmark runs attached to this stack.
2. The same with 1 instance of each service: maximum, and the load of the 75 % step.
3. The other benchmarks of bench/ as subprocesses with bounded parameters.
Writes bench/results/<date>.json, latest.md and PNG charts, and prints the Markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.workload import external, references, suite, wrk
from bench.workload.hello import FLASK_HELLO
from bench.workload.suite import Timing
from infra.services import SERVICES

# The yardstick the issue fixes: gunicorn gthread 2 workers x 8 threads. The stack's services run as the
# local stack does: one worker per instance (2 instances on 2 cores), 8 threads each (bench/README.md).
HELLO_WORKERS, HELLO_THREADS = 2, 8
WORKERS, THREADS = 1, 8
SUITE_BUDGET_S = 570  # the issue allows 10 minutes; keep half a minute for reporting and teardown
MIX_MAX_PLAN_RPS = 4000


def main_stack(timing: Timing, with_socketio: bool) -> dict:
    hello_log = Path(tempfile.gettempdir()) / "hrp-bench-hello.log"
    with (
        suite.private_stack(2, WORKERS, THREADS) as stack,
        suite.hello_servers(HELLO_WORKERS, HELLO_THREADS, hello_log) as hellos,
    ):
        planner = suite.prepare(stack)
        suite.warm_mix(stack, planner, timing)
        refs = references.measure_all(stack, hellos, planner, timing, wrk.ensure())
        max_rps = refs[suite.MIXED]["rps"]
        found = {"references": refs, "max_rps": max_rps}
        found["generator_ceiling"] = references.generator_ceiling(stack, timing)
        print(f"[bench] sweep of the mixed workload ({suite.MIXED}), max {max_rps:.0f} req/s", flush=True)
        found["sweep"] = suite.sweep(stack, planner, max_rps, timing, suite.p99_bound_ms(refs))
        hello_url = hellos[FLASK_HELLO][0]
        found["yardstick_at_half"] = suite.yardstick_at_half(stack, hello_url, refs, timing)
        if with_socketio:
            attach = ("--stack-root", str(stack.root), "--port-base", str(stack.ports.nginx_http))
            sio = next((e for e in external.available() if e.script == "bench_socketio.py"), None)
            found["socketio"] = external.run_one(sio, attach) if sio else None
    return found


def scale_out(timing: Timing, rate: float) -> dict:
    with suite.private_stack(1, WORKERS, THREADS) as stack:
        planner = suite.prepare(stack)
        suite.warm_mix(stack, planner, timing)
        plan = lambda: planner.plan(int(MIX_MAX_PLAN_RPS * timing.max_s))  # noqa: E731
        maximum = suite.saturate(stack.nginx_url, plan, timing, stack, suite.MIX_TRIES)
        at_rate = suite.offer(stack, planner, rate, timing.step_s)
    return {"max": maximum, "at_rate": at_rate}


def externals(started: float, skip: set[str]) -> dict:
    found = {}
    for bench in external.available():
        left = SUITE_BUDGET_S - (time.monotonic() - started)
        if bench.script in skip:
            continue
        if left < bench.budget_s / 2:
            found[bench.name] = {
                "script": f"bench/{bench.script}",
                "skipped": f"suite budget ({left:.0f} s left)",
            }
            continue
        print(f"[bench] {bench.name} ({bench.script}) ...", flush=True)
        found[bench.name] = external.run_one(bench)
    return found


def servers() -> dict[str, str]:
    """What each process of the stack runs on (gunicorn's worker class, or granian)."""
    return {spec.name: spec.worker_class for spec in SERVICES}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps (smoke run; figures are noisy)")
    parser.add_argument("--skip-external", action="store_true", help="only the suite's own measurements")
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--render", type=Path, help="only redraw the report and charts from this results JSON"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render:
        print(report.render(json.loads(args.render.read_text()), args.out))
        return 0
    started = time.monotonic()
    timing = Timing.quick() if args.quick else Timing()
    results: dict = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()[0]},
        "settings": {
            "workers": WORKERS,
            "threads": THREADS,
            "hello_workers": HELLO_WORKERS,
            "hello_threads": HELLO_THREADS,
            "timing": vars(timing),
            "servers": servers(),
        },
        "quick": args.quick,
    }
    print("[bench] 2-instance stack: references, sweep" + ("" if args.skip_external else ", Socket.IO"))
    results["main"] = main_stack(timing, not args.skip_external)
    if not args.skip_scale_out:
        rate = 0.75 * results["main"]["max_rps"]
        print(f"[bench] 1-instance stack: maximum and {rate:.0f} req/s", flush=True)
        results["scale_out"] = {"rate": rate, "one": scale_out(timing, rate)}
    if not args.skip_external:
        results["external"] = externals(started, skip={"bench_socketio.py"})
    results["suite_seconds"] = time.monotonic() - started
    print(report.write(results, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
