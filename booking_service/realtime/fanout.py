"""Fan-out without a wake-up per client: one WebSocket frame per emit, written straight to each idle socket.

python-socketio encodes a room emit once, then hands the same Engine.IO packet to every client's queue;
each put wakes that client's writer greenlet (a gevent timeout armed and cancelled around its `get`),
which encodes the packet again, has wsproto frame it and sends it. py-spy on 1,000 clients in one room
put ~60 % of the realtime worker's CPU in that per-client machinery, not in the `send` itself.

Here the frame is built once per packet (cached on it) and, for every client whose writer is idle (its
queue empty and the writer not inside a send: nothing of the client's is queued or half-written), written
with one non-blocking `send` from the emitting greenlet. What the kernel does not take at once goes to the
client's queue as raw bytes ahead of anything later, so a slow client never stalls the fan-out and
order is kept. Anything else (pings, which also keep the writer's wait on its queue from expiring, a
busy writer, a closing socket, a late pong, permessage-deflate, a binary packet, the threading driver)
takes engine.io's own path.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from engineio import packet as eio_packet

from booking_service.realtime import metrics
from common.metric_buffer import adder

FRAME_ATTR = "_hrp_ws_frame"


def text_frame(text: str) -> bytes:
    """An unmasked, final WebSocket text frame (what a server sends, RFC 6455 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


def frame_of(pkt: Any) -> bytes | None:
    """The packet's frame, built on first use and kept on the packet (one per emit, not per client)."""
    frame = pkt.__dict__.get(FRAME_ATTR)
    if frame is None:
        encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary packets: not this path
            return None
        frame = text_frame(encoded)
        setattr(pkt, FRAME_ATTR, frame)
    return frame


class FrameRest(bytes):
    """The part of a frame the kernel did not take: sent raw by the client's writer (transport.py)."""


class RestPacket(eio_packet.Packet):
    def __init__(self, rest: bytes) -> None:
        super().__init__(eio_packet.NOOP)
        self.rest = FrameRest(rest)

    def encode(self, b64: bool = False) -> Any:
        return self.rest


class DirectWriter:
    """Writes whole frames to one client's socket now, when nothing of that client is ahead of them."""

    def __init__(self, eio_socket: Any, websocket: Any, raw_socket: Any, ping_timeout: float) -> None:
        self._socket = eio_socket  # engine.io's Socket: queue, closing/closed, last_ping
        self._websocket = websocket  # transport.PacedWebSocket: `sending` while its writer is in a send
        self._raw = raw_socket  # the non-blocking OS socket under gevent's
        self._ping_timeout = ping_timeout

    def write(self, frame: bytes) -> bool:
        """False: engine.io's path must send it. Greenlets switch only where one blocks, so with the queue
        empty and the writer not inside a send, the writer is waiting on the queue with nothing in hand."""
        sock, websocket = self._socket, self._websocket
        if sock.queue.qsize() or websocket.sending or sock.closing or sock.closed or sock.upgrading:
            return False
        if not websocket.ws.connected:
            return False
        if sock.last_ping and time.time() - sock.last_ping > self._ping_timeout:
            return False  # engine.io's send closes a client whose pong is late
        try:
            sent = self._raw.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return False  # engine.io's path meets the same error and closes the socket
        if sent < len(frame):
            sock.queue.put(RestPacket(frame[sent:]))
        return True


def attach_writer(eio_socket: Any, websocket: Any, ping_timeout: float) -> None:
    """From now on every message engine.io sends this client (room emits, replies) tries the direct write
    first (gevent driver, no compression negotiated)."""
    connection = websocket.ws  # simple_websocket.Server
    if not hasattr(eio_socket.queue, "qsize") or compressed(connection):
        return
    gevent_socket = getattr(connection.sock, "_sock", connection.sock)  # under transport.PacedSocket
    raw = getattr(gevent_socket, "_sock", None)
    if raw is None or not hasattr(raw, "send"):
        return
    writer, queued = DirectWriter(eio_socket, websocket, raw, ping_timeout), eio_socket.send
    written = adder(metrics.DIRECT_WRITES)  # buffered: ~1 us

    def send(pkt: Any) -> None:
        if pkt.packet_type == eio_packet.MESSAGE:
            frame = frame_of(pkt)
            if frame is not None and writer.write(frame):
                written()
                return
        queued(pkt)  # pings too: the writer gives up after ping interval + timeout with nothing queued

    eio_socket.send = send


def compressed(connection: Any) -> bool:
    """Whether permessage-deflate was negotiated (browsers offer it): frames then differ per client."""
    try:
        return bool(connection.ws.connection._proto.extensions)
    except AttributeError:
        return True  # not the wsproto we know: no direct writes
