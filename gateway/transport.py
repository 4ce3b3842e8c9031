"""Keep-alive HTTP/1.1 connections to service instances on the standard library's `http.client`.

At under half urllib3's CPU per call, this is the gateway's largest single saving after logging. Each
failure is raised as a `TransportError` that says how far the request got, which decides retries:
CONNECT (nothing was sent), TIMEOUT (sent, no answer in time) or BROKEN (sent, the answer broke off).
Idle connections are closed before the services' keep-alive (granian: 30 s) would close them, and a
connection the server has already closed is never reused, so a request never races a close.
"""

from __future__ import annotations

import http.client
import select
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gateway.failures import UpstreamFailure

IDLE_SECONDS = 10.0


class TransportError(Exception):
    def __init__(self, failure: UpstreamFailure, cause: BaseException) -> None:
        super().__init__(f"{failure.value}: {type(cause).__name__}")
        self.failure = failure


@dataclass
class _Idle:
    connection: http.client.HTTPConnection
    since: float


class UpstreamResponse:
    """Status and headers, with the body still on the connection until `read` or `stream`."""

    def __init__(self, pool: ConnectionPool, connection: http.client.HTTPConnection) -> None:
        self._pool = pool
        self._connection = connection
        self._response = connection.getresponse()
        self.status = self._response.status
        self.headers = self._response.getheaders()

    def header(self, name: str) -> str | None:
        return self._response.getheader(name)

    def read(self) -> bytes:
        try:
            body = self._response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._discard()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc
        self._release()
        return body

    def stream(self, chunk_size: int) -> Iterator[bytes]:
        finished = False
        try:
            while chunk := self._response.read(chunk_size):
                yield chunk
            finished = True
        finally:
            if finished:
                self._release()
            else:
                self._discard()

    def _release(self) -> None:
        if self._response.will_close:
            self._connection.close()
        else:
            self._pool.give_back(self._connection)

    def _discard(self) -> None:
        self._connection.close()


class Pending:
    """A request sent on a connection whose answer has not been read yet."""

    def __init__(self, pool: ConnectionPool, connection: http.client.HTTPConnection) -> None:
        self._pool = pool
        self._connection = connection

    def fileno(self) -> int:
        assert self._connection.sock is not None
        return self._connection.sock.fileno()

    def response(self) -> UpstreamResponse:
        try:
            return UpstreamResponse(self._pool, self._connection)
        except TimeoutError as exc:
            self._connection.close()
            raise TransportError(UpstreamFailure.TIMEOUT, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            self._connection.close()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc

    def abandon(self) -> None:
        """Drops a request whose answer is no longer wanted (the connection cannot be reused)."""
        self._connection.close()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection has nothing to read; if it is readable, the server closed it (say,
    after answering a request whose body the app never read), and a request sent on it would be lost."""
    sock = connection.sock
    if sock is None:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
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
        https: bool = False,
    ) -> None:
        self._host, self._port = host, port
        self._connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._max_idle = max_idle
        self._idle: list[_Idle] = []
        self._lock = threading.Lock()

    def request(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> UpstreamResponse:
        return self.start(method, path, headers, body).response()

    def start(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Pending:
        """Sends the request; the answer is awaited separately (so a slow one can be raced)."""
        connection = self._take() or self._connect()
        try:
            connection.request(method, path, body=body or None, headers=dict(headers))
        except OSError as exc:
            connection.close()
            raise TransportError(UpstreamFailure.BROKEN, exc) from exc
        return Pending(self, connection)

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(_Idle(connection, time.monotonic()))
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for entry in idle:
            entry.connection.close()

    def _take(self) -> http.client.HTTPConnection | None:
        fresh_after = time.monotonic() - IDLE_SECONDS
        with self._lock:
            while self._idle:
                entry = self._idle.pop()
                if entry.since >= fresh_after and not _closed_by_peer(entry.connection):
                    return entry.connection
                entry.connection.close()
        return None

    def _connect(self) -> http.client.HTTPConnection:
        connection = self._connection_class(self._host, self._port, timeout=self._connect_timeout)
        try:
            connection.connect()
        except OSError as exc:
            connection.close()
            raise TransportError(UpstreamFailure.CONNECT, exc) from exc
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        return connection
