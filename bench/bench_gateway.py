"""Gateway overhead: GET /api/bookings/properties through nginx → gateway → service, against the same
request straight to the gateway and to the service, and a bare gunicorn "hello" app — all in one run.

    .venv/bin/python bench/bench_gateway.py [--seconds 8] [--workers 2] [--threads 8] [--json OUT]

Starts a private stack (real nginx, 2 gateways, 2+2 service instances, databases) on free ports in
20000-29999 with rate limits lifted, plus a bare gunicorn hello app with the same worker settings;
measures throughput (several processes of keep-alive clients) and unloaded latency (one client), prints
a table and the ratios the issue asks for, and stops everything. The load generator shares the 2 cores
with the servers and figures vary ~2x between runs: compare rows of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

PATH = "/api/bookings/properties"
REPO_ROOT = Path(__file__).resolve().parent.parent
UNTHROTTLED = {"RATE_LIMIT": "10000000/minute", "USER_RATE_LIMIT": "10000000/minute"}


def hello_app(environ: dict, start_response: object) -> list[bytes]:
    """The baseline: the least a gunicorn gthread worker can do per request."""
    body = b'{"hello":"world"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])  # type: ignore[operator]
    return [body]


def measure(url: str, seconds: float, processes: int, threads: int) -> dict[str, float]:
    """Requests/s and latency percentiles of GET `url` from `processes` x `threads` keep-alive connections
    (closed loop: bench/workload/loadgen.py, the suite's generator)."""
    from bench.workload.loadgen import run_closed
    from bench.workload.mix import http_request

    parts = urlsplit(url)
    raw = http_request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    plan = [("get", raw)] * int(seconds * 20_000 * processes)  # more than a 2-core box can answer
    outcome = run_closed((parts.hostname or "127.0.0.1", parts.port or 80), plan, seconds,
                         procs=processes, conns=threads)  # fmt: skip
    latencies = sorted(outcome.all_latencies())
    errors = sum(outcome.errors.values())
    if len(latencies) < 2:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": errors}
    percentiles = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": percentiles[49] * 1000,
        "p99_ms": percentiles[98] * 1000,
        "errors": errors,
    }


def start_hello(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO_ROOT / "bench"), "-k", "gthread",
            "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--no-control-socket",
            "--log-level", "warning", "bench_gateway:hello_app"]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    from tests.support.faults import wait_until

    if not wait_until(lambda: requests.get(url, timeout=2).status_code == 200, timeout):
        raise RuntimeError(f"{url} never answered 200")


def run(seconds: float, workers: int, threads: int) -> dict[str, dict[str, float]]:
    from infra.ports import free_block
    from infra.stack import Stack
    from tests.support.net import free_port

    root = Path(tempfile.mkdtemp(prefix="hrp-bench-gw-"))
    root.chmod(0o755)
    stack = Stack(root, free_block(), env_name="test", workers=workers, threads=threads)
    hello_port = free_port()
    hello = None
    try:
        stack.env.update(UNTHROTTLED)
        stack.up()
        hello = start_hello(hello_port, workers, threads, root / "hello.log")
        targets = {
            "bare gunicorn hello": f"http://127.0.0.1:{hello_port}/",
            "service direct": stack.url("booking_service", 0) + PATH,
            "gateway direct": stack.url("gateway", 0) + PATH,
            "nginx -> gateway -> service": stack.nginx_url + PATH,
        }
        for url in targets.values():
            wait_http(url)
            measure(url, 1.0, 1, 4)  # warm pools and caches
        results = {}
        for name, url in targets.items():
            loaded = measure(url, seconds, processes=2, threads=8)
            single = measure(url, seconds / 2, processes=1, threads=1)
            results[name] = {
                **loaded,
                "unloaded_p50_ms": single["p50_ms"],
                "unloaded_p99_ms": single["p99_ms"],
            }
        return results
    finally:
        if hello is not None:
            os.killpg(hello.pid, 15)
            hello.wait(timeout=10)
        stack.down()
        shutil.rmtree(root, ignore_errors=True)


def report(results: dict[str, dict[str, float]], workers: int, threads: int) -> dict[str, float]:
    print(f"\nGET {PATH}, gunicorn gthread {workers}x{threads} per process, 16 keep-alive clients")
    print(f"{'path':30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'1-client p50':>13} {'errors':>7}")
    for name, r in results.items():
        print(f"{name:30} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['unloaded_p50_ms']:13.2f} "
              f"{r['errors']:7.0f}")  # fmt: skip
    hello, direct = results["bare gunicorn hello"], results["service direct"]
    gateway, full = results["gateway direct"], results["nginx -> gateway -> service"]
    ratios = {
        "full_path_over_hello_rps": full["rps"] / hello["rps"],
        "full_path_over_direct_rps": full["rps"] / direct["rps"],
        "gateway_overhead_p50_ms": gateway["unloaded_p50_ms"] - direct["unloaded_p50_ms"],
        "nginx_plus_gateway_overhead_p50_ms": full["unloaded_p50_ms"] - direct["unloaded_p50_ms"],
    }
    print(f"\nfull path / bare hello throughput: {ratios['full_path_over_hello_rps']:.2f} (target >= 0.33)")
    print(f"full path / service direct throughput: {ratios['full_path_over_direct_rps']:.2f}")
    print(f"gateway overhead, 1-client p50: {ratios['gateway_overhead_p50_ms']:.2f} ms (target <= 2 ms)")
    print(f"nginx + gateway overhead, 1-client p50: {ratios['nginx_plus_gateway_overhead_p50_ms']:.2f} ms")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    results = run(args.seconds, args.workers, args.threads)
    ratios = report(results, args.workers, args.threads)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
