"""tests/support/client_load.py, the chaos tests' and benches' threaded load, against a real local HTTP
server started here (and a closed port for "no answer"). Counts, not speed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support.client_load import ClientLoop
from tests.support.faults import wait_until
from tests.support.net import closed_port


class Teapot(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 418 if self.path == "/teapot" else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Teapot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_run_of_a_total_makes_exactly_that_many_calls_spread_over_the_clients(base: str) -> None:
    loop = ClientLoop(lambda session, _client: session.get(base + "/", timeout=5).status_code, 4)
    figures = loop.run(total=37).figures()
    assert len(loop.answers) == figures["requests"] == 37
    assert figures["errors"] == 0 and loop.successes() == 37
    assert {answer.client for answer in loop.answers} <= {0, 1, 2, 3}


def test_answers_outside_2xx_and_no_answer_at_all_are_failures(base: str) -> None:
    closed = closed_port()

    def call(session: requests.Session, client: int) -> int:
        url = f"http://127.0.0.1:{closed}/" if client == 0 else base + "/teapot"
        return session.get(url, timeout=5).status_code

    loop = ClientLoop(call, 2).run(total=10)
    assert {answer.status for answer in loop.failures()} <= {0, 418}
    assert len(loop.failures()) == 10 and loop.successes() == 0


def test_a_with_block_runs_the_clients_until_it_ends(base: str) -> None:
    with ClientLoop(lambda session, _client: session.get(base + "/", timeout=5).status_code, 2) as loop:
        assert wait_until(lambda: loop.successes() >= 20, 10)
    ended = len(loop.answers)
    assert all(not thread.is_alive() for thread in loop._threads)
    assert len(loop.answers) == ended
