"""The registries' health probe (`service_discovery/probe.py`): one kept-alive connection per instance
across check rounds, a restarted instance healthy at once, nothing listening refused, a slow answer
unhealthy within the timeout. Real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service_discovery.probe import HEALTHY, REFUSED, UNHEALTHY, HealthProbe
from service_discovery.registry import Instance
from tests.support.net import free_port


class HealthServer:
    """`/health` over HTTP/1.1 keep-alive, counting the connections it accepted."""

    def __init__(self, port: int, delay: float = 0.0, status: int = 200) -> None:
        owner = self
        self.connections, self.delay, self.status = 0, delay, status
        self.sockets: list[socket.socket] = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                owner.connections += 1
                owner.sockets.append(self.request)
                super().setup()

            def do_GET(self) -> None:
                time.sleep(owner.delay)
                body = b'{"status":"ok"}'
                self.send_response(owner.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Like a process exiting: the listening socket and every kept connection close."""
        self.server.shutdown()
        self.server.server_close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()


def test_rounds_reuse_one_connection_per_instance(port: int) -> None:
    server, probe = HealthServer(port), HealthProbe(timeout=1.0)
    try:
        outcomes = [probe(Instance("127.0.0.1", port)) for _ in range(5)]
        assert outcomes == [HEALTHY] * 5
        assert server.connections == 1
        server.status = 503
        assert probe(Instance("127.0.0.1", port)) == UNHEALTHY
    finally:
        probe.close()
        server.stop()


def test_a_restarted_instance_is_healthy_on_the_next_probe(port: int) -> None:
    instance, probe = Instance("127.0.0.1", port), HealthProbe(timeout=1.0)
    server = HealthServer(port)
    assert probe(instance) == HEALTHY
    server.stop()
    restarted = HealthServer(port)
    try:
        assert probe(instance) == HEALTHY, "the closed kept connection is replaced, not counted as a failure"
        assert restarted.connections == 1
    finally:
        probe.close()
        restarted.stop()


def test_nothing_listening_is_refused_and_a_slow_answer_unhealthy_within_the_timeout(port: int) -> None:
    probe = HealthProbe(timeout=0.3)
    assert probe(Instance("127.0.0.1", port)) == REFUSED
    server = HealthServer(port, delay=2.0)
    try:
        started = time.monotonic()
        assert probe(Instance("127.0.0.1", port)) == UNHEALTHY
        assert time.monotonic() - started < 0.6, "one timeout, never a second try on a new connection"
    finally:
        probe.close()
        server.stop()


def test_instances_no_longer_checked_lose_their_connections(port: int) -> None:
    server, probe = HealthServer(port), HealthProbe(timeout=1.0)
    try:
        assert probe(Instance("127.0.0.1", port)) == HEALTHY
        probe.forget_all_but([])
        assert probe(Instance("127.0.0.1", port)) == HEALTHY
        assert server.connections == 2
    finally:
        probe.close()
        server.stop()
