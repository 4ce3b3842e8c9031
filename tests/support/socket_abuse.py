"""Raw Engine.IO / Socket.IO clients for the abuse tests: they speak the wire protocol (Engine.IO v4,
Socket.IO v5) over websocket-client or plain HTTP long-polling, so they can do what python-socketio
never would: stay silent, skip CONNECT, or send as fast as the socket takes it."""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import threading
import time
import uuid
from typing import Any

import requests
import websocket

from booking_service.realtime.settings import RealtimeSettings
from tests.support.notification_client import NotificationClient

EIO = "/socket.io/?EIO=4"
CLOSE = "1"  # Engine.IO CLOSE packet
RECORD_SEPARATOR = "\x1e"  # between packets of one long-polling payload
DEFAULTS = RealtimeSettings()
DEADLINE = DEFAULTS.realtime_auth_deadline_seconds
BURST = DEFAULTS.realtime_event_burst
REFUSALS = DEFAULTS.realtime_flood_refusals


def event_frame(event: str, payload: Any) -> str:
    return "42" + json.dumps([event, payload], separators=(",", ":"))


def open_websocket(base_url: str, timeout: float = 15) -> websocket.WebSocket:
    """An Engine.IO session over WebSocket, opened and nothing more (no Socket.IO CONNECT)."""
    ws = websocket.create_connection(
        base_url.replace("http://", "ws://") + EIO + "&transport=websocket", timeout=timeout
    )
    opened = ws.recv()
    assert opened.startswith("0{"), opened
    return ws


def next_packet(ws: websocket.WebSocket) -> str:
    """The next packet that is not a heartbeat; the server's pings are answered like a live client's."""
    while (frame := ws.recv()) == "2":
        ws.send("3")
    return frame


def connect_websocket(base_url: str, token: str) -> websocket.WebSocket:
    """An authenticated Socket.IO connection (token in the auth payload), over a raw WebSocket."""
    ws = try_connect_websocket(base_url, token)
    assert ws is not None, "the server refused the connection"
    return ws


def try_connect_websocket(base_url: str, token: str) -> websocket.WebSocket | None:
    """As `connect_websocket`, or None when the server refuses the Socket.IO connection."""
    ws = open_websocket(base_url)
    ws.send("40" + json.dumps({"token": token}))
    answer = next_packet(ws)
    if answer.startswith("44"):
        ws.close()
        return None
    assert answer.startswith("40{"), answer
    return ws


def seconds_until_closed(ws: websocket.WebSocket, since: float, limit: float) -> float:
    """When (seconds after `since`) the server ended the session; `inf` if it did not within `limit`.
    Answers the server's pings like a live client, so only the server's own rule can close it."""
    deadline = time.monotonic() + limit
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            ws.settimeout(remaining)
            frame = ws.recv()
            if frame in ("", CLOSE):
                break
            if frame == "2":
                ws.send("3")
        else:
            return math.inf
    except websocket.WebSocketTimeoutException:
        return math.inf
    except (websocket.WebSocketConnectionClosedException, OSError):
        pass
    return time.monotonic() - since


def open_polling(base_url: str) -> str:
    """An Engine.IO long-polling session; returns its sid."""
    response = requests.get(base_url + EIO + "&transport=polling", timeout=10)
    assert response.status_code == 200 and response.text.startswith("0{"), response.text
    return json.loads(response.text[1:])["sid"]


def polling_post(base_url: str, sid: str, packets: list[str]) -> requests.Response:
    return requests.post(
        f"{base_url}{EIO}&transport=polling&sid={sid}", data=RECORD_SEPARATOR.join(packets), timeout=30
    )


def polling_seconds_until_closed(base_url: str, sid: str, since: float, limit: float) -> float:
    """Long-polls like a live client until the server sends CLOSE or forgets the session."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        response = requests.get(f"{base_url}{EIO}&transport=polling&sid={sid}", timeout=limit + 30)
        packets = response.text.split(RECORD_SEPARATOR) if response.status_code == 200 else []
        if response.status_code != 200 or CLOSE in packets:
            return time.monotonic() - since
        if "2" in packets:
            polling_post(base_url, sid, ["3"])
    return math.inf


def flood_for(
    base_url: str, tokens: list[str], frame: str, seconds: float, retry: float, started: Any = None
) -> dict[str, float]:
    """Connects and sends `frame` as fast as the socket takes it, for `seconds`. When the server closes
    the connection or refuses it, tries again `retry` seconds later as the next of `tokens` (another
    account: one user's reconnects are refused for a while). Sets `started` once flooding. Returns
    what it managed."""
    sent = closed = refused = 0
    lifetimes = []
    accounts = itertools.cycle(tokens)
    # Masked frames built once and written raw: the flooder spends no CPU the server would miss.
    blob = b"".join(
        websocket.ABNF.create_frame(frame, websocket.ABNF.OPCODE_TEXT).format() for _ in range(200)
    )
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        ws = try_connect_websocket(base_url, next(accounts))
        if ws is None:
            refused += 1
            time.sleep(retry)
            continue
        if started is not None:
            started.set()
        opened = time.monotonic()
        try:
            while time.monotonic() < stop:
                ws.sock.sendall(blob)
                sent += 200
        except (websocket.WebSocketException, OSError):
            closed += 1
            lifetimes.append(time.monotonic() - opened)
            time.sleep(retry)
        finally:
            ws.close()
    longest = max(lifetimes, default=math.inf)
    return {"sent": sent, "closed": closed, "refused": refused, "longest_s": longest}


def _flood_into(queue: Any, *args: Any) -> None:
    queue.put(flood_for(*args))


class Flooders:
    """One flooding process per list of tokens (a flooding thread in the test process would slow the
    polite client's own Python and blur what the server does)."""

    def __init__(
        self, base_url: str, accounts: list[list[str]], frame: str, seconds: float, retry: float = 0.05
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._queue = context.Queue()
        self._started = [context.Event() for _ in accounts]
        self._procs = [
            context.Process(
                target=_flood_into,
                args=(self._queue, base_url, tokens, frame, seconds, retry, started),
                daemon=True,
            )
            for tokens, started in zip(accounts, self._started, strict=True)
        ]

    def __enter__(self) -> Flooders:
        for proc in self._procs:
            proc.start()
        return self

    def wait_flooding(self, timeout: float) -> bool:
        """Every process has started flooding (Python start-up is done: it no longer competes for CPU)."""
        return all(started.wait(timeout) for started in self._started)

    def results(self, timeout: float) -> list[dict[str, float]]:
        return [self._queue.get(timeout=timeout) for _ in self._procs]

    def __exit__(self, *_: Any) -> None:
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


# ---- python-socketio clients of the abuse tests ----------------------------------------------------


def user_id() -> int:
    return 300_000_000 + uuid.uuid4().int % 10_000_000


def connected(opened: list[NotificationClient], base: str, token: str) -> NotificationClient:
    client = NotificationClient.connect(base, token, transports=["websocket"])
    opened.append(client)
    return client


def on_disconnect(client: NotificationClient) -> threading.Event:
    gone = threading.Event()
    client.sio.on("disconnect", lambda *_: gone.set())
    return gone
