"""The load generator's HTTP/1.1 client: keep-alive connections that parse answers as their bytes arrive.

Each connection is an asyncio `Protocol` with at most one request in flight, and the pool queues what
finds every connection busy. No task, future or stream read is made per request: with asyncio's streams
(a task per request, `readuntil` and `readexactly`) the generator spent ~20-25 % more CPU per request,
CPU the stack it measures shares on these 2 cores (bench/README.md).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# (kind, status (0: no answer), latency in seconds, X-Cache-Status or "")
Record = Callable[[str, int, float, str], None]


def _nothing() -> None:
    return None


def _ignore(_kind: str, _status: int, _latency: float, _edge: str) -> None:
    return None


def edge_status(head: bytes) -> str:
    """nginx's X-Cache-Status (HIT, MISS, BYPASS, ...) from a lower-cased response head, or ""."""
    at = head.find(b"\r\nx-cache-status:")
    return "" if at < 0 else head[at + 18 : head.index(b"\r\n", at + 2)].strip().upper().decode()


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight; the answer is parsed from the bytes
    as they arrive (no task, future or stream read per request)."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self._reset()

    def _reset(self) -> None:
        self.request: tuple[str, float] | None = None  # (kind, intended send time)
        self.head = b""
        self.body_left: int | None = None  # bytes of body still due; None: chunked or until close

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, kind: str, raw: bytes, intended: float) -> None:
        self.request = (kind, intended)
        assert self.transport is not None
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.head:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = bytes(self.buffer[: end + 4]).lower()
            del self.buffer[: end + 4]
            at = self.head.find(b"\r\ncontent-length:")
            if at >= 0:
                self.body_left = int(self.head[at + 17 : self.head.index(b"\r\n", at + 2)])
            elif self._status() in (204, 304):
                self.body_left = 0
        if self.body_left is not None:
            if len(self.buffer) < self.body_left:
                return
            del self.buffer[: self.body_left]
        elif b"transfer-encoding: chunked" in self.head and _chunked_body_end(self.buffer) is not None:
            self.buffer.clear()
        else:
            return
        self._finish(b"\r\nconnection: close" not in self.head)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.request is not None:
            # An answer delimited by the close is complete now; anything else was cut short.
            complete = bool(self.head) and self.body_left is None and b"chunked" not in self.head
            self._finish(False, complete)
        self.pool.lost(self)

    def _status(self) -> int:
        return int(self.head[9:12])

    def _finish(self, reusable: bool, answered: bool = True) -> None:
        assert self.request is not None
        kind, intended = self.request
        status = self._status() if answered and self.head else 0
        edge = edge_status(self.head) if self.head else ""
        self._reset()
        self.pool.finished(self, kind, status, intended, edge, reusable)


def _chunked_body_end(buffer: bytearray) -> int | None:
    """Where a complete chunked body (without trailers) ends in `buffer`, or None while more is due."""
    at = 0
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        at = line_end + 2 + size + 2
        if at > len(buffer):
            return None
        if size == 0:
            return at


class Pool:
    """At most `limit` keep-alive connections to one address; requests beyond them queue client-side (and
    that wait counts as latency). `after` hears of every finished request (the closed loop's next send)."""

    def __init__(self, address: tuple[str, int], limit: int, record: Record) -> None:
        self.address, self.limit, self.record = address, limit, record
        self.loop = asyncio.get_running_loop()
        self.idle: list[Connection] = []
        self.queue: deque[tuple[str, bytes, float]] = deque()
        self.count = self.in_flight = 0
        self.idle_again: asyncio.Future[None] | None = None
        self.after: Callable[[], None] = _nothing
        self.opening: set[asyncio.Task[None]] = set()

    async def prefill(self, count: int) -> None:
        wanted = min(count, self.limit - self.count)
        self.count += wanted
        opened = await asyncio.gather(*(self._connect() for _ in range(wanted)))
        self.idle += [conn for conn in opened if conn is not None]

    def submit(self, kind: str, raw: bytes, intended: float) -> None:
        self.in_flight += 1
        if self.idle:
            self.idle.pop().send(kind, raw, intended)
            return
        self.queue.append((kind, raw, intended))
        self._open_for_queue()

    async def drained(self, timeout: float) -> int:
        """Waits until nothing is in flight, at most `timeout` s; returns how many requests still are (the
        caller counts them): answers that come later are not recorded."""
        if self.in_flight:
            self.idle_again = self.loop.create_future()
            await asyncio.wait({self.idle_again}, timeout=timeout)
        if self.in_flight:
            self.record, self.after = _ignore, _nothing
        return self.in_flight

    def finished(
        self, conn: Connection, kind: str, status: int, intended: float, edge: str, reusable: bool
    ) -> None:
        if reusable:
            self._next(conn)
        elif conn.transport is not None:
            conn.transport.close()
        self._settle(kind, status, time.monotonic() - intended, edge)

    def lost(self, conn: Connection) -> None:
        if conn in self.idle:
            self.idle.remove(conn)
        self.count -= 1
        self._open_for_queue()

    def _open_for_queue(self) -> None:
        """One more connection while requests wait and the limit allows it."""
        if not self.queue or self.count >= self.limit:
            return
        self.count += 1
        task = self.loop.create_task(self._open())
        self.opening.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self.opening.discard)

    async def _connect(self) -> Connection | None:
        """A new connection in a slot the caller counted, or None (and the slot freed)."""
        try:
            _, conn = await self.loop.create_connection(lambda: Connection(self), *self.address)
        except OSError:
            self.count -= 1
            return None
        return conn

    async def _open(self) -> None:
        conn = await self._connect()
        if conn is not None:
            self._next(conn)
        elif self.queue:  # the address refused: the request that asked for a connection fails
            kind, _, _ = self.queue.popleft()
            self._settle(kind, 0, 0.0, "")
            self._open_for_queue()

    def _settle(self, kind: str, status: int, latency: float, edge: str) -> None:
        self.record(kind, status, latency, edge)
        self.in_flight -= 1
        self.after()
        if not self.in_flight and self.idle_again is not None and not self.idle_again.done():
            self.idle_again.set_result(None)

    def _next(self, conn: Connection) -> None:
        if self.queue:
            conn.send(*self.queue.popleft())
        else:
            self.idle.append(conn)
