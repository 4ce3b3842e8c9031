"""The Socket.IO fan-out benchmark's client processes (`bench/bench_socketio.py` starts them).

    python -m bench.workload.socketio_clients --urls URL[,URL] --count N --events M --property-id P
        --first-user U --private-key FILE [--timeout S]

Connects N clients as greenlets (1000 sockets, not 2000 OS threads), each signed in as its own user,
subscribes and joins them to the property's room, prints READY, then timestamps every
`notification_update` frame and, when M per client arrived (or at the timeout), prints them as JSON with
the process's own CPU time.

The clients speak the Socket.IO v5 / Engine.IO v4 wire protocol directly over websocket-client:
python-socketio's Client costs ~200 us of client CPU per message, so 1000 of them on these 2 CPUs would
measure the load generator instead of the server. The tests use the real python-socketio client.
"""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

READY = "READY"


def run_worker(args: argparse.Namespace) -> int:
    import gevent
    from gevent.pool import Pool

    from infra.keys import sign_token

    private = Path(args.private_key).read_bytes()
    urls, arrivals = args.urls.split(","), []
    expected = args.count * args.events

    def client(index: int) -> Any:
        ws = wire_connect(urls[index % len(urls)], sign_token(private, args.first_user + index))
        for event, reply in (("get-notification", "notification_response"), ("join-room", "join_response")):
            ws.send("42" + json.dumps([event, {"property_id": args.property_id}]))
            answer = wire_wait(ws, reply)
        assert "Connected to room" in answer, answer
        return gevent.spawn(wire_listen, ws, arrivals)  # answers pings while the others connect

    readers = Pool(args.connect_concurrency).map(client, range(args.count))
    print(READY, flush=True)
    deadline = time.monotonic() + args.timeout
    while len(arrivals) < expected and time.monotonic() < deadline:
        gevent.sleep(0.05)
    gevent.killall(readers)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    keyed = [(key_of(json.loads(frame[2:])[1]), at) for frame, at in arrivals]
    print(json.dumps({"arrivals": keyed, "cpu_s": usage.ru_utime + usage.ru_stime}), flush=True)
    return 0


def key_of(data: Any) -> str:
    update = data.get("update") if isinstance(data, dict) else None
    if isinstance(update, dict):
        return str(update.get("seq", update.get("startDate")))
    return "?"


def wire_connect(base_url: str, token: str) -> Any:
    import websocket

    url = base_url.replace("http://", "ws://", 1).rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
    if not ws.recv().startswith("0"):
        raise RuntimeError("no Engine.IO open packet")
    ws.send("40" + json.dumps({"token": token}))
    answer = next(frames(ws))  # a heartbeat can come first on a busy server
    if not answer.startswith("40"):
        raise RuntimeError("Socket.IO connection refused")
    return ws


def frames(ws: Any) -> Iterator[str]:
    """Every frame the server sends but its heartbeat pings, which are answered here."""
    while True:
        frame = ws.recv()
        if frame == "2":
            ws.send("3")
        else:
            yield frame


def wire_wait(ws: Any, event: str) -> str:
    return next(frame for frame in frames(ws) if frame.startswith("42") and f'"{event}"' in frame)


def wire_listen(ws: Any, arrivals: list) -> None:
    """Timestamps frames as they come; parsing waits until the measurement is over."""
    for frame in frames(ws):
        if frame.startswith('42["notification_update"'):
            arrivals.append((frame, time.perf_counter()))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--urls", "--private-key"):
        parser.add_argument(name, required=True)
    for name in ("--count", "--events", "--property-id", "--first-user"):
        parser.add_argument(name, type=int, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run_worker(parse_args(sys.argv[1:])))
