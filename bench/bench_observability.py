"""Observability overhead: an uncached search (a date window: never cached, by any layer) through nginx →
gateway → booking_service (MariaDB)
with metrics on and traces exported, against both off — on one private stack, alternating.

    .venv/bin/python bench/bench_observability.py [--seconds 6] [--rounds 3] [--json OUT]

"On" is the production setting the README documents: RED metrics on every request (METRICS_ENABLED=true)
and OpenTelemetry exporting over OTLP/HTTP with `parentbased_traceidratio` at 0.1, to a local receiver
this script runs (it reads and acknowledges each export, nothing more: no collector installs here).
"Off" is METRICS_ENABLED=false and OTEL_SDK_DISABLED=true. Between configurations the gateway and
booking_service instances are restarted with the other environment; each round measures both with
wrk -t2 -c32 (a token: nginx's cache never answers; a date window: booking_service's never does. Until
2026-12-06 this was the plain list with `Cache-Control: no-cache`, which the gateway no longer relays).
The target (issue #18): throughput lost with both on < 10 %. 2 shared cores: compare within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.workload import cpu, wrk
from infra.ports import free_block, port_in_use
from infra.procs import wait_for
from infra.stack import Stack

WINDOW = (dt.date.today() + dt.timedelta(days=30), dt.date.today() + dt.timedelta(days=33))
PATH = f"/api/bookings/properties?limit=20&from={WINDOW[0]}&to={WINDOW[1]}"
RESTARTED = ("gateway", "booking_service")
UNTHROTTLED = {"RATE_LIMIT": "10000000/minute", "USER_RATE_LIMIT": "10000000/minute"}
SAMPLING_RATIO = "0.1"  # README "Observing it": the production setting
TARGET_OVERHEAD_PCT = 10.0


class Receiver:
    """OTLP/HTTP endpoint that acknowledges exports and counts them (bytes and requests)."""

    def __init__(self) -> None:
        self.exports = self.bytes = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(size)
                receiver.exports, receiver.bytes = receiver.exports + 1, receiver.bytes + size
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def configurations(receiver: Receiver) -> dict[str, dict[str, str]]:
    return {
        "off": {"METRICS_ENABLED": "false", "OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ""},
        "on": {
            "METRICS_ENABLED": "true",
            "OTEL_SDK_DISABLED": "false",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": SAMPLING_RATIO,
        },
    }


def measurement_order(configs: dict[str, dict[str, str]], rounds: int) -> list[tuple[str, dict[str, str]]]:
    """Each round measures every configuration, in the opposite order to the round before (off, on | on,
    off | ...): a machine that speeds up or slows down during the run then favours neither, where always
    measuring "off" first charged a slowing machine to "on"; and a round starts with what the last one
    ended on, so it needs no restart."""
    items = list(configs.items())
    return [item for index in range(rounds) for item in (items if index % 2 == 0 else items[::-1])]


def switch(stack: Stack, env: dict[str, str]) -> None:
    stack.env.update(env)
    for name in RESTARTED:
        for instance in range(len(stack.ports.services[name])):
            stack.kill(name, instance)
            port = stack.ports.services[name][instance]
            wait_for(lambda port=port: not port_in_use(port), 15)  # its workers die with it
            stack.start(name, instance)


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU ms per request of the components on the path, and of the whole stack ("stack")."""
    spent = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after if name != "_machine"}
    found = {name: spent.get(name, 0.0) for name in ("gateway", "booking_service", "nginx", "MariaDB")}
    found["stack"] = sum(spent.values())
    return {name: round(1000 * seconds / requests, 3) if requests else 0.0 for name, seconds in found.items()}


def run(seconds: float, rounds: int, binary: str) -> dict:
    receiver = Receiver()
    root = Path(tempfile.mkdtemp(prefix="hrp-bench-obs-"))
    root.chmod(0o755)
    stack = Stack(root, free_block(), env_name="test", workers=2, threads=8)
    stack.env.update(UNTHROTTLED)
    found: dict[str, list[dict]] = {"off": [], "on": []}
    try:
        stack.up()
        headers = {"Authorization": f"Bearer {stack.token(4242)}"}
        url = f"{stack.nginx_url}{PATH}"
        for name, env in measurement_order(configurations(receiver), rounds):
            if any(stack.env.get(key) != value for key, value in env.items()):
                switch(stack, env)
            wrk.measure(binary, url, 1, headers=headers)  # warm the pools and the workers
            exports_before, cpu_before = receiver.exports, cpu.snapshot(stack)
            row = wrk.measure(binary, url, seconds, headers=headers)
            row["exports"] = receiver.exports - exports_before
            row["cpu_ms_per_request"] = cpu_per_request(cpu_before, cpu.snapshot(stack), row["requests"])
            found[name].append(row)
            print(f"[obs] {name:3}  {row['rps']:8.0f} req/s  p99 {row.get('p99_ms', 0):6.2f} ms  "
                  f"CPU ms/request {row['cpu_ms_per_request']}  exports {row['exports']}", flush=True)  # fmt: skip
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
        receiver.server.shutdown()
    off = statistics.median(r["rps"] for r in found["off"])
    on = statistics.median(r["rps"] for r in found["on"])
    cpu_off, cpu_on = (
        statistics.median(r["cpu_ms_per_request"]["stack"] for r in found[k]) for k in ("off", "on")
    )
    errors = sum(r["socket_errors"] + r["status_errors"] for rows in found.values() for r in rows)
    return {
        "path": PATH,
        "sampling_ratio": float(SAMPLING_RATIO),
        "off_rps": round(off, 1),
        "on_rps": round(on, 1),
        "overhead_pct": round(100 * (1 - on / off), 2) if off else None,
        # steadier than throughput on a shared machine: the stack's own CPU per request
        "stack_cpu_ms_per_request_off": cpu_off,
        "stack_cpu_ms_per_request_on": cpu_on,
        "cpu_overhead_pct": round(100 * (cpu_on / cpu_off - 1), 2) if cpu_off else None,
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        "exports_while_on": sum(r["exports"] for r in found["on"]),
        "exports_while_off": sum(r["exports"] for r in found["off"]),
        "errors": errors,
        "rounds": found,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    binary = wrk.ensure()
    if binary is None:
        print("wrk is needed (apt-get install wrk)")
        return 1
    result = run(args.seconds, args.rounds, binary)
    print(f"| configuration | req/s |\n|---|---:|\n| metrics and tracing off | {result['off_rps']:.0f} |\n"
          f"| metrics on, traces exported at {SAMPLING_RATIO} | {result['on_rps']:.0f} |")  # fmt: skip
    print(f"stack CPU per request: {result['stack_cpu_ms_per_request_off']} ms off, "
          f"{result['stack_cpu_ms_per_request_on']} ms on ({result['cpu_overhead_pct']} %)")  # fmt: skip
    print(f"overhead {result['overhead_pct']} % (target < {TARGET_OVERHEAD_PCT} %), "
          f"{result['exports_while_on']} exports while on, {result['exports_while_off']} while off")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if result["errors"] == 0 and result["exports_while_on"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
