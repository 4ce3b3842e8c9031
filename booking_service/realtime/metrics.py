"""The realtime process's metrics: connected clients, packets delivered, frames dropped unread."""

from __future__ import annotations

from typing import Any

from flask_socketio import SocketIO
from prometheus_client import Counter, Gauge

from common.metric_buffer import adder
from common.metrics import ensure_multiprocess_dir

ensure_multiprocess_dir()
CLIENTS = Gauge(
    "realtime_connected_clients", "Open Engine.IO sessions (Socket.IO clients).", multiprocess_mode="livesum"
)
DELIVERIES = Counter(
    "realtime_deliveries", "Socket.IO packets sent to clients (notifications, replies, acknowledgements)."
)
DIRECT_WRITES = Counter(
    "realtime_direct_writes",
    "Messages the fan-out wrote straight to an idle WebSocket (fanout.py); the rest went through engine.io's queue.",
)
DROPPED = Counter(
    "realtime_dropped_frames",
    "Client frames dropped unread: over the event budget, or after the guard closed the session.",
    ["reason"],
)


def count_deliveries(socketio: SocketIO) -> None:
    """Every packet to a client goes through the server's `_send_packet` (python-socketio 5)."""
    server = socketio.server
    send = server._send_packet
    delivered = adder(DELIVERIES)  # buffered: once per packet to each client

    def counted(eio_sid: str, packet: Any) -> None:
        send(eio_sid, packet)
        delivered()

    server._send_packet = counted
