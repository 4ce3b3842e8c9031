"""A deadline on replica reads that holds even when the replica is frozen (SIGSTOP, a stalled VM).

A frozen server still completes TCP at the kernel, so neither the driver nor a server-side
statement_timeout ever ends a read sent to it. The watchdog shuts down the socket of a read that outlives
its deadline: the driver then fails at once, the replica is marked down and the read reruns on the
primary (database.py). One thread per process checks every 0.1 s; a read costs two dict operations.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

from sqlalchemy import Connection

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.1


class ReadWatchdog:
    def __init__(self, deadline_seconds: float) -> None:
        self._deadline = deadline_seconds
        self._active: dict[int, tuple[float, int]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, connection: Connection) -> Iterator[None]:
        fd = _socket_fd(connection)
        if fd is None:
            yield
            return
        token = next(self._ids)
        self._active[token] = (time.monotonic() + self._deadline, fd)
        self._ensure_thread()
        try:
            yield
        finally:
            self._active.pop(token, None)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:  # started in the worker on first use, never before a fork
                    self._thread = threading.Thread(target=self._run, name="replica-watchdog", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(CHECK_SECONDS)
            now = time.monotonic()
            for token, (deadline, fd) in list(self._active.items()):
                if deadline <= now and self._active.pop(token, None) is not None:
                    log.warning("replica read past its %.1fs deadline; connection shut", self._deadline)
                    _shut(fd)


def _socket_fd(connection: Connection) -> int | None:
    try:
        return int(connection.connection.dbapi_connection.pgconn.socket)  # type: ignore[union-attr]
    except Exception:  # not psycopg, or no live socket: nothing to guard
        return None


def _shut(fd: int) -> None:
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=os.dup(fd))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
