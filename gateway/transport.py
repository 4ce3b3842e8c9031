"""Keep-alive HTTP/1.1 connections to service instances (the wire format is `gateway/http1.py`).

Each failure is raised
as a `TransportError` that says how far the request got, which decides retries: CONNECT (nothing was
sent), TIMEOUT (sent, no answer in time) or BROKEN (sent, the answer broke off or was malformed).
Idle connections are closed before the services' keep-alive (granian: 30 s) would close them, and a
connection the server has already closed is never reused, so a request never races a close.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping

from gateway.failures import UpstreamFailure
from gateway.http1 import (
    MAX_HEAD_BYTES,
    RECV_SIZE,
    Connection,
    MalformedResponse,
    StreamedBody,
    chunk_size,
    encode_request,
    parse_head,
    send_streamed,
)

IDLE_SECONDS = 10.0
READ_METHODS = frozenset({"GET", "HEAD"})
NO_BODY_STATUSES = frozenset({204, 304})


class TransportError(Exception):
    def __init__(self, failure: UpstreamFailure, cause: BaseException) -> None:
        super().__init__(f"{failure.value}: {type(cause).__name__}")
        self.failure = failure


class UpstreamResponse:
    """Status and headers, with the body still on the connection until `read` or `stream`."""

    def __init__(self, pool: ConnectionPool, connection: Connection, method: str) -> None:
        self._pool = pool
        self._connection = connection
        while True:
            version, self.status, self.headers = parse_head(self._read_head())
            if not 100 <= self.status < 200:
                break
        self._lookup = {name.lower(): value for name, value in self.headers}
        connection_header = self._lookup.get("connection", "").lower()
        self.will_close = "close" in connection_header or (
            version == "HTTP/1.0" and "keep-alive" not in connection_header
        )
        self._chunked = "chunked" in self._lookup.get("transfer-encoding", "").lower()
        self._length: int | None = None
        if method == "HEAD" or self.status in NO_BODY_STATUSES:
            self._length, self._chunked = 0, False
        elif not self._chunked:
            length = self._lookup.get("content-length")
            if length is not None:
                if not (length.isdigit() and length.isascii()):
                    raise MalformedResponse("bad Content-Length")
                self._length = int(length)
            else:
                self.will_close = True  # the body runs until the server closes

    def header(self, name: str) -> str | None:
        return self._lookup.get(name.lower())

    def read(self) -> bytes:
        try:
            body = (
                b"".join(self._chunks())
                if self._length is None
                else self._connection.read_exactly(self._length)
            )
        except (OSError, MalformedResponse, ValueError) as exc:
            self._discard()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc
        self._release()
        return body

    def stream(self, chunk_size: int) -> Iterator[bytes]:
        finished = False
        try:
            if self._length is not None:
                remaining = self._length
                while remaining:
                    chunk = self._connection.read_exactly(min(chunk_size, remaining))
                    remaining -= len(chunk)
                    yield chunk
            else:
                yield from self._chunks()
            finished = True
        finally:
            if finished:
                self._release()
            else:
                self._discard()

    def _read_head(self) -> bytes:
        connection = self._connection
        while (end := connection.buffer.find(b"\r\n\r\n")) < 0:
            if len(connection.buffer) > MAX_HEAD_BYTES:
                raise MalformedResponse("response head too large")
            connection.buffer += connection.recv()
        head, connection.buffer = connection.buffer[:end], connection.buffer[end + 4 :]
        return head

    def _chunks(self) -> Iterator[bytes]:
        """The body: chunked transfer coding decoded, or everything until the server closes."""
        connection = self._connection
        if not self._chunked:
            if connection.buffer:
                yield connection.buffer
                connection.buffer = b""
            while chunk := connection.sock.recv(RECV_SIZE):
                yield chunk
            return
        while size := chunk_size(connection.read_line()):
            yield connection.read_exactly(size)
            connection.read_line()
        while connection.read_line():  # trailers, up to the empty line
            pass

    def _release(self) -> None:
        if self.will_close or self._connection.buffer:
            self._connection.close()
        else:
            self._pool.give_back(self._connection)

    def _discard(self) -> None:
        self._connection.close()


class Pending:
    """A request sent on a connection whose answer has not been read yet."""

    def __init__(self, pool: ConnectionPool, connection: Connection, method: str) -> None:
        self._pool = pool
        self._connection = connection
        self._method = method

    def fileno(self) -> int:
        return self._connection.fileno()

    def response(self) -> UpstreamResponse:
        try:
            return UpstreamResponse(self._pool, self._connection, self._method)
        except TimeoutError as exc:
            self._connection.close()
            raise TransportError(UpstreamFailure.TIMEOUT, exc) from exc
        except (OSError, MalformedResponse, ValueError) as exc:
            self._connection.close()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc

    def abandon(self) -> None:
        """Drops a request whose answer is no longer wanted (the connection cannot be reused)."""
        self._connection.close()


def _closed_by_peer(connection: Connection) -> bool:
    """An idle keep-alive connection has nothing to read; if it is readable, the server closed it (say,
    after answering a request whose body the app never read), and a request sent on it would be lost."""
    readable, _, _ = select.select([connection.sock], [], [], 0)
    return bool(readable)


def first_answered(pending: list[Pending], timeout: float) -> Pending | None:
    """The first of `pending` with bytes to read within `timeout` seconds, or None."""
    readable, _, _ = select.select(pending, [], [], max(0.0, timeout))
    return readable[0] if readable else None


class ConnectionPool:
    """Idle keep-alive connections to one instance, newest first; at most `max_idle` are kept."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_idle: int,
        read_deadline: float | None = None,
        https: bool = False,
    ) -> None:
        self._host, self._port = host, port
        self._host_header = f"{host}:{port}"
        self._tls = ssl.create_default_context() if https else None
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._read_deadline = min(read_deadline or read_timeout, read_timeout)
        self._max_idle = max_idle
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | StreamedBody
    ) -> UpstreamResponse:
        return self.start(method, path, headers, body).response()

    def start(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | StreamedBody
    ) -> Pending:
        """Sends the request; the answer is awaited separately (so a slow one can be raced). A streamed
        body goes out chunk by chunk as the client sends it."""
        connection = self._take() or self._connect()
        try:
            connection.sock.settimeout(self.answer_within(method))
            if isinstance(body, bytes):
                connection.sock.sendall(encode_request(method, path, self._host_header, headers, body))
            else:
                send_streamed(connection.sock, method, path, self._host_header, headers, body)
        except OSError as exc:
            connection.close()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc
        except BaseException:  # the client's body broke off or ran over its limit: the request is half sent
            connection.close()
            raise
        return Pending(self, connection, method)

    def answer_within(self, method: str) -> float:
        """Seconds an answer may take: GET and HEAD have the shorter read deadline."""
        return self._read_deadline if method in READ_METHODS else self._read_timeout

    def give_back(self, connection: Connection) -> None:
        connection.since = time.monotonic()
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> Connection | None:
        fresh_after = time.monotonic() - IDLE_SECONDS
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.since >= fresh_after and not _closed_by_peer(connection):
                    return connection
                connection.close()
        return None

    def _connect(self) -> Connection:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        except OSError as exc:
            raise TransportError(UpstreamFailure.CONNECT, exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            except OSError as exc:
                sock.close()
                raise TransportError(UpstreamFailure.CONNECT, exc) from exc
        return Connection(sock)
