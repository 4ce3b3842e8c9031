"""Socket.IO fan-out: N clients in one property room, M bookings (or admin broadcasts) → deliveries.

    .venv/bin/python bench/bench_socketio.py [--clients 1000] [--events 50] [--mode booking|broadcast]
        [--procs 2] [--via direct|nginx] [--idle-s S] [--json OUT] [--stack-root DIR --port-base N]

Starts a private stack on free ports in 20000-29999 (or attaches to a running one with --stack-root and
--port-base), connects the clients over WebSocket from `--procs` gevent client processes
(`bench/workload/socketio_clients.py`; spread over both realtime instances, or through nginx's Socket.IO
port), subscribes and joins them to a fresh property's room, then makes the events one after another:
  booking   - POST /api/bookings/book through nginx → gateway → booking_service; latency is measured from
              just before the request to each client's receipt (so it includes the MariaDB commit);
  broadcast - an admin client emits `broadcast_notification`; latency from the emit to each receipt.
Prints delivered count (must be clients × events), latency p50/p99, and the realtime processes' CPU time
(utime+stime of every gunicorn master and worker, from /proc) per delivered message. Targets: p99 < 100 ms,
≤ 50 µs CPU per message. With --idle-s, first the realtime CPU while the clients sit connected and silent
for S seconds (the Engine.IO heartbeat), per client and second. The load generator shares the 2 CPUs with the servers; figures vary ~2x.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.workload, tests.support as a script

from bench.workload.cpu import tree_seconds
from bench.workload.socketio_clients import READY

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST_USER = 3_000_000  # made-up users, listed in the stack's user directory before they connect


def start_workers(args: argparse.Namespace, stack: Any, property_id: int) -> list[subprocess.Popen[str]]:
    if args.via == "nginx":
        urls = [stack.socket_url]
    else:
        urls = [
            stack.url("booking_realtime", i) for i in range(len(stack.ports.services["booking_realtime"]))
        ]
    share, workers = -(-args.clients // args.procs), []
    stack.list_users(*range(FIRST_USER, FIRST_USER + args.clients))
    for index in range(args.procs):
        count = min(share, args.clients - index * share)
        argv = [
            sys.executable,
            "-m",
            "bench.workload.socketio_clients",
            "--urls",
            ",".join(urls),
            "--count",
            str(count),
            "--events",
            str(args.events),
            "--property-id",
            str(property_id),
            "--timeout",
            str(args.timeout),
            "--first-user",
            str(FIRST_USER + index * share),
            "--private-key",
            str(stack.keys["private"]),
        ]
        workers.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT))
    for worker in workers:
        line = worker.stdout.readline().strip()  # type: ignore[union-attr]
        if line != READY:
            raise RuntimeError(f"client worker failed to connect its clients (said {line!r})")
    return workers


def booking_sender(stack: Any, property_id: int):
    import requests

    session, user_id = requests.Session(), 2_000_000 + uuid.uuid4().int % 1_000_000
    headers = {"Authorization": f"Bearer {stack.token(user_id)}"}
    today = dt.date.today()

    def send(seq: int) -> str:
        start, end = (
            (today + dt.timedelta(days=200 + 3 * seq)).isoformat(),
            (today + dt.timedelta(days=201 + 3 * seq)).isoformat(),
        )
        body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
        response = session.post(
            f"{stack.nginx_url}/api/bookings/book", json=body, headers=headers, timeout=10
        )
        if response.status_code != 201:
            raise RuntimeError(f"booking failed: {response.status_code} {response.text}")
        return start

    return send, session.close


def broadcast_sender(stack: Any, property_id: int):
    from tests.support.notification_client import NotificationClient

    admin = NotificationClient.connect(
        stack.url("booking_realtime", 0), stack.token(1, "admin"), transports=["websocket"]
    )

    def send(seq: int) -> str:
        admin.sio.emit("broadcast_notification", {"property_id": property_id, "notification": {"seq": seq}})
        return str(seq)

    return send, admin.close


def measure(args: argparse.Namespace, stack: Any) -> dict[str, Any]:
    load_before = os.getloadavg()[0]  # other work on the machine skews latency; say how busy it was
    property_id = create_property(stack.env["BOOKING_DB_URL"])
    workers = start_workers(args, stack, property_id)
    try:
        return run_events(args, stack, property_id, workers) | {"load_average_1m": round(load_before, 2)}
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def cpu_seconds(master_pids: list[int]) -> float:
    """The realtime gunicorn masters' and their workers' CPU so far."""
    return sum(tree_seconds(pid) for pid in master_pids)


def run_events(args: argparse.Namespace, stack: Any, property_id: int, workers: list) -> dict[str, Any]:
    send, close = (booking_sender if args.mode == "booking" else broadcast_sender)(stack, property_id)
    masters = [stack.pid("booking_realtime", i) for i in range(len(stack.ports.services["booking_realtime"]))]
    sent_at: dict[str, float] = {}
    answered_at: dict[str, float] = {}
    send_ms: list[float] = []
    idle_cpu = 0.0
    if args.idle_s:  # connected and silent: what the Engine.IO heartbeat alone costs
        cpu_before = cpu_seconds(masters)
        time.sleep(args.idle_s)
        idle_cpu = cpu_seconds(masters) - cpu_before
    cpu_before, started = cpu_seconds(masters), time.perf_counter()
    for seq in range(args.events):
        t0 = time.perf_counter()
        key = send(seq)
        sent_at[key], answered_at[key] = t0, time.perf_counter()
        send_ms.append((answered_at[key] - t0) * 1000)
        time.sleep(args.gap_ms / 1000)
    reports = [json.loads(worker.communicate(timeout=args.timeout + 30)[0]) for worker in workers]
    arrivals = [item for report in reports for item in report["arrivals"]]
    wall, cpu = time.perf_counter() - started, cpu_seconds(masters) - cpu_before
    close()
    latencies = sorted((at - sent_at[key]) * 1000 for key, at in arrivals if key in sent_at)
    q = quantiles(latencies)
    after = quantiles(sorted((at - answered_at[key]) * 1000 for key, at in arrivals if key in answered_at))
    return {
        "mode": args.mode,
        "via": args.via,
        "clients": args.clients,
        "events": args.events,
        "expected": args.clients * args.events,
        "delivered": len(latencies),
        "latency_p50_ms": round(q[49], 2),
        "latency_p99_ms": round(q[98], 2),
        "latency_max_ms": round(latencies[-1], 2),
        "send_p50_ms": round(statistics.median(send_ms), 2),
        "after_send_returned_p50_ms": round(after[49], 2),
        "after_send_returned_p99_ms": round(after[98], 2),
        "server_cpu_s": round(cpu, 3),
        "cpu_us_per_message": round(cpu / max(1, len(latencies)) * 1e6, 1),
        "client_procs_cpu_s": round(sum(report["cpu_s"] for report in reports), 2),
        "idle_s": args.idle_s,
        "idle_cpu_us_per_client_s": round(idle_cpu / max(args.idle_s, 1e-9) / args.clients * 1e6, 1),
        "wall_s": round(wall, 2),
    }


def quantiles(values: list[float]) -> list[float]:
    return statistics.quantiles(values, n=100) if len(values) > 1 else [float("nan")] * 99


def create_property(db_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(db_url, connect_args={"ssl_disabled": True})
    with engine.begin() as conn:
        result = conn.execute(
            sa.text(
                "INSERT INTO properties (name, location, price_per_night, availability) VALUES (:n, 'Fanout, FO', 50, 1)"
            ),
            {"n": f"bench-socketio-{uuid.uuid4().hex[:8]}"},
        )
        property_id = int(result.lastrowid)
    engine.dispose()
    return property_id


def print_table(result: dict[str, Any]) -> None:
    width = max(map(len, result))
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    verdict = "OK" if result["delivered"] == result["expected"] else "MISSING DELIVERIES"
    print(f"{'deliveries':<{width}}  {verdict}; targets: p99 < 100 ms, <= 50 us CPU/message")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--mode", choices=("booking", "broadcast"), default="booking")
    parser.add_argument("--via", choices=("direct", "nginx"), default="direct")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--gap-ms", type=float, default=100.0, help="pause between events")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--idle-s", type=float, default=0.0, help="measure the idle (heartbeat) CPU first")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--stack-root", type=Path, help="attach to a running stack instead of starting one")
    parser.add_argument("--port-base", type=int, help="with --stack-root: its first port (nginx http)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from infra.ports import Ports, free_block
    from infra.stack import Stack

    if args.stack_root:
        stack, owned = Stack(args.stack_root, Ports.block(args.port_base), env_name="test", workers=1), False
    else:
        root = Path(tempfile.mkdtemp(prefix="hrp-bench-sio-"))
        stack, owned = Stack(root, free_block(), env_name="test", workers=2, threads=8), True
        stack.up()
    try:
        result = measure(args, stack)
    finally:
        if owned:
            stack.down()
            shutil.rmtree(stack.root, ignore_errors=True)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if result["delivered"] == result["expected"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
