"""How the Socket.IO process reads WebSockets: paced per connection, capped per frame, not at all once
closed.

engine.io reads a WebSocket through simple-websocket, whose reader loops on `sock.recv` and parses each
frame as it arrives. Left alone, that loop
- never yields while the peer keeps the socket's buffer full (gevent switches only when a read would
  block): one flooding client starves every other connection, even the code that would cut it off;
- keeps reading and parsing after its own close, until the peer closes too;
- assembles a frame of any size before engine.io compares it with the message limit.
- parses as far ahead of engine.io as the peer cares to send, so a flood is parsed in full before the
  event budget (which sees messages only as engine.io takes them) can cut it off.
So each connection reads only while fewer than `READ_AHEAD_MESSAGES` parsed messages wait for engine.io,
pays for its reads from a byte bucket (`READ_BYTES_PER_SECOND`, a burst of one largest message) and
yields to the other connections after every read; a frame above the message limit closes the connection
as it arrives; a closed WebSocket is shut for reading, so its reader ends.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import engineio
from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

from booking_service.realtime.fanout import FrameRest, attach_writer
from booking_service.realtime.ratelimit import TokenBucket

log = logging.getLogger(__name__)
READ_BYTES_PER_SECOND = 32 * 1024
READ_AHEAD_MESSAGES = 8
BACKLOG_WAIT_SECONDS = 0.01


def install_paced_websockets(eio: engineio.Server, max_message_bytes: int) -> None:
    """Replaces this server's WebSocket class (engine.io looks it up in `_async` on every upgrade)."""
    base = eio._async["websocket"]
    if not issubclass(base, SimpleWebSocketWSGI):  # gevent-websocket installed: not this reader
        log.warning("WebSocket reads are not paced: engine.io uses %s", base.__name__)
        return
    websocket = paced_websocket_class(base, max_message_bytes, eio.sleep, eio.ping_timeout)
    eio._async = {**eio._async, "websocket": websocket}


def paced_websocket_class(
    base: type,
    max_message_bytes: int,
    sleep: Callable[[float], Any],
    ping_timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> type:
    """A subclass of engine.io's simple-websocket wrapper (gevent or threading flavour); the fan-out may
    write to its socket directly (fanout.py)."""

    class PacedWebSocket(base):  # type: ignore[misc, valid-type]
        def __init__(self, handler: Callable[[Any], Any], server: Any) -> None:
            def paced_handler(wrapper: Any) -> Any:
                connection = wrapper.ws  # the simple_websocket.Server, reading on its own thread
                connection.max_message_size = max_message_bytes
                bucket = TokenBucket(READ_BYTES_PER_SECOND, max_message_bytes, clock())
                connection.sock = PacedSocket(connection.sock, bucket, sleep, clock, connection.input_buffer)
                eio_socket = getattr(handler, "__self__", None)  # engine.io's Socket._websocket_handler
                if eio_socket is not None:
                    attach_writer(eio_socket, wrapper, ping_timeout)
                return handler(wrapper)

            super().__init__(paced_handler, server)

        sending = False  # the writer greenlet is inside a send (may be blocked in it): no direct writes

        def send(self, message: Any) -> Any:
            self.sending = True
            try:
                if isinstance(message, FrameRest):  # the rest of a frame the fan-out began to write
                    if not self.ws.connected:
                        raise OSError("WebSocket closed")
                    return self.ws.sock.sendall(message)
                return super().send(message)
            finally:
                self.sending = False

        def close(self) -> None:
            super().close()
            sock = getattr(self.ws, "sock", None)
            if isinstance(sock, PacedSocket):
                sock.stop_reading()

    return PacedWebSocket


class PacedSocket:
    """A socket that reads only while the backlog is short, pays for every `recv` in bytes (sleeping
    off any debt) and then yields; once told to stop reading it reads nothing more (end of stream),
    whatever the peer has queued."""

    def __init__(
        self,
        sock: Any,
        bucket: TokenBucket,
        sleep: Callable[[float], Any],
        clock: Callable[[], float],
        backlog: list[Any],
    ) -> None:
        self._sock = sock
        self._bucket = bucket
        self._sleep = sleep
        self._clock = clock
        self._backlog = backlog  # messages parsed but not yet taken by engine.io
        self._stopped = False

    def recv(self, size: int) -> bytes:
        while len(self._backlog) >= READ_AHEAD_MESSAGES and not self._stopped:
            self._sleep(BACKLOG_WAIT_SECONDS)
        if self._stopped:
            return b""
        data = self._sock.recv(size)
        self._sleep(self._bucket.spend(self._clock(), len(data)))
        return b"" if self._stopped else data

    def stop_reading(self) -> None:
        """The reader sees the end of the stream and closes the socket (a reset, if the peer's data
        was left unread: what a flooder gets)."""
        self._stopped = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RD)  # wakes a reader blocked in recv

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)
