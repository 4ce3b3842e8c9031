"""Proof of life for the watchdog (`watchdog.py`): a real OS thread bumps this instance's counter in the
standalone Redis every `BEAT_SECONDS` (`HINCRBY realtime:beats <address> 1`).

An OS thread, not a greenlet: it must keep ticking while the gevent loop is busy with a fan-out (it takes
the GIL at the next switch interval, 5 ms) and stop only when the whole process is frozen or dead, which
is what the watchdog acts on. It speaks RESP over an unpatched socket of its own, so nothing of gevent's
(hub, patched sockets and locks) is touched from outside the worker's thread. A Redis error only skips
beats: the watchdog never judges an instance while no instance is beating.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)
BEATS_KEY = "realtime:beats"
BEAT_SECONDS = 0.1
TIMEOUT_SECONDS = 1.0


def original(module: str, name: str) -> Any:
    """The unpatched object when gevent has monkey-patched `module` (as gunicorn's gevent worker does)."""
    if "gevent.monkey" in sys.modules:
        from gevent import monkey

        return monkey.get_original(module, name)
    return getattr(__import__(module), name)


def command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded)


class BeatConnection:
    """One RESP connection to the Redis of `redis_url` (password and db taken from it)."""

    def __init__(self, redis_url: str) -> None:
        url = urlsplit(redis_url)
        self._address = (url.hostname or "127.0.0.1", url.port or 6379)
        self._setup = []
        if url.password:
            user = [unquote(url.username)] if url.username else []
            self._setup.append(command("AUTH", *user, unquote(url.password)))
        if url.path.strip("/"):
            self._setup.append(command("SELECT", url.path.strip("/")))
        self._sock: Any = None
        self._socket_class = original("socket", "socket")

    def call(self, request: bytes) -> bytes:
        if self._sock is None:
            sock = self._socket_class(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(TIMEOUT_SECONDS)
            sock.connect(self._address)
            self._sock = sock
            for setup in self._setup:
                self._exchange(setup)
        return self._exchange(request)

    def _exchange(self, request: bytes) -> bytes:
        self._sock.sendall(request)
        reply = self._sock.recv(512)  # a small integer or status reply, one segment
        if not reply.endswith(b"\r\n") or reply.startswith(b"-"):
            raise OSError(f"unexpected Redis reply {reply[:80]!r}")
        return reply

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None


def beat_forever(redis_url: str, address: str, interval: float = BEAT_SECONDS) -> None:
    connection, sleep = BeatConnection(redis_url), original("time", "sleep")
    request = command("HINCRBY", BEATS_KEY, address, "1")
    failing = False
    while True:
        try:
            connection.call(request)
            failing = False
        except OSError as exc:
            connection.close()
            if not failing:
                log.warning("realtime heartbeat not written (%s): the watchdog will not judge", exc)
            failing = True
        sleep(interval)


def start_heartbeat(redis_url: str, address: str, interval: float = BEAT_SECONDS) -> None:
    """Starts the beating OS thread (a daemon: it ends with the process)."""
    start_new_thread = original("_thread", "start_new_thread")
    start_new_thread(beat_forever, (redis_url, address, interval))
    log.info("realtime heartbeat for %s every %ss", address, interval)


def advertised_address(service_address: str, service_port: int) -> str:
    """host:port as nginx's upstream names this instance (the container's address if none is set)."""
    host = service_address or socket.gethostbyname(socket.gethostname())
    return f"{host}:{service_port}"
