"""The bench's load generator (bench/workload/connections.py, loadgen.py) against a real asyncio HTTP server
on 127.0.0.1: every answer framing the stack uses (Content-Length, chunked, delimited by the close),
keep-alive reuse, the client-side queue, refused and cut-short connections, and both loops end to end."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from bench.workload.connections import Pool
from bench.workload.loadgen import run_closed, run_open

T = TypeVar("T")

ANSWERS = {
    b"/length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Cache-Status: hit\r\n\r\nhello",
    b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    b"/empty": b"HTTP/1.1 204 No Content\r\n\r\n",
    b"/missing": b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
    b"/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
}


class Server:
    """Answers each request by its path; `/cut` closes the connection halfway through an answer."""

    def __init__(self) -> None:
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                path = head.split(b" ")[1]
                if path == b"/cut":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                    break
                answer = ANSWERS[path]
                for at in range(0, len(answer), 7):  # in small pieces: the client must reassemble them
                    writer.write(answer[at : at + 7])
                    await writer.drain()
                if path == b"/close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


async def pooled(paths: list[str], limit: int, address: tuple[str, int] | None = None) -> tuple[list, Server]:
    server, records = Server(), []
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    async with listening:
        pool = Pool(address or listening.sockets[0].getsockname()[:2], limit, lambda *r: records.append(r))
        for path in paths:
            pool.submit(path, request(path), asyncio.get_running_loop().time())
        assert await pool.drained(5.0) == 0
    return records, server


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a thread of its own: the test session's main thread may hold a running loop (the
    browser tests' Playwright keeps one), and asyncio.run refuses to start inside it."""
    found: list[T] = []
    thread = threading.Thread(target=lambda: found.append(asyncio.run(coroutine)))
    thread.start()
    thread.join(30)
    assert found, "the coroutine failed or did not finish"
    return found[0]


def statuses(records: list) -> dict[str, int]:
    return {kind: status for kind, status, _, _ in records}


def test_every_framing_is_read_to_its_end_over_one_kept_alive_connection() -> None:
    paths = ["/length", "/chunked", "/empty", "/missing", "/length"]
    records, server = run_async(pooled(paths, limit=1))
    assert [r[0] for r in records] == paths  # in order: one connection, one request at a time
    assert statuses(records) == {"/length": 200, "/chunked": 200, "/empty": 204, "/missing": 404}
    assert server.connections == 1
    assert [r[3] for r in records] == ["HIT", "", "", "", "HIT"]
    assert all(latency >= 0 for _, _, latency, _ in records)


def test_an_answer_delimited_by_the_close_is_complete_and_the_next_request_opens_a_connection() -> None:
    records, server = run_async(pooled(["/close", "/length"], limit=1))
    assert statuses(records) == {"/close": 200, "/length": 200}
    assert server.connections == 2


def test_a_cut_short_answer_counts_as_no_answer_and_the_others_still_complete() -> None:
    records, _ = run_async(pooled(["/cut", "/length", "/length"], limit=2))
    assert sorted((kind, status) for kind, status, _, _ in records) == [
        ("/cut", 0), ("/length", 200), ("/length", 200)
    ]  # fmt: skip


def test_a_refused_address_counts_each_request_as_no_answer() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = unused.getsockname()[:2]  # bound, never listening: connections are refused
        records, _ = run_async(pooled(["/length", "/length"], limit=1, address=address))
    assert [(kind, status) for kind, status, _, _ in records] == [("/length", 0), ("/length", 0)]


@pytest.fixture
def server_address() -> Iterator[tuple[str, int]]:
    """The server on its own thread's loop: the loops under test run in forked processes."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started = asyncio.run_coroutine_threadsafe(asyncio.start_server(Server().handle, "127.0.0.1", 0), loop)
    listening = started.result(5)
    yield listening.sockets[0].getsockname()[:2]
    loop.call_soon_threadsafe(listening.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_the_open_loop_sends_the_whole_plan_and_times_every_answer(server_address: tuple[str, int]) -> None:
    plan = [("length", request("/length")), ("chunked", request("/chunked"))] * 100
    outcome = run_open(server_address, plan, rate=1000, procs=2, conns=4)
    assert outcome.sent == 200 and not outcome.errors
    assert sorted((k, len(v)) for k, v in outcome.latencies.items()) == [("chunked", 100), ("length", 100)]
    assert outcome.edge == {"length HIT": 100}
    assert outcome.elapsed_s >= 0.09  # 100 requests per process at 500 req/s each: ~0.2 s
    assert len(outcome.late_s) == 200 and min(outcome.late_s) >= 0  # every send timed, none before it was due


def test_the_open_loop_spreads_its_sends_over_the_plan_at_the_rate(server_address: tuple[str, int]) -> None:
    plan = [("length", request("/length"))] * 40
    outcome = run_open(server_address, plan, rate=100, procs=1, conns=2)
    assert len(outcome.latencies["length"]) == 40
    assert 0.39 <= outcome.elapsed_s < 5  # the 40th send is due 0.39 s after the first, not all at once


def test_the_closed_loop_keeps_each_connection_busy_until_the_time_is_up(
    server_address: tuple[str, int],
) -> None:
    plan = [("length", request("/length")), ("missing", request("/missing"))] * 5000
    outcome = run_closed(server_address, plan, 0.3, procs=1, conns=2)
    answered = len(outcome.latencies["length"]) + outcome.errors["missing 404"]
    assert outcome.sent == answered > 10
    assert set(outcome.errors) == {"missing 404"}


def test_answers_that_come_after_the_drain_are_not_recorded() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.3)
        writer.write(ANSWERS[b"/length"])
        await writer.drain()

    async def drain_early() -> tuple[int, list]:
        records: list = []
        listening = await asyncio.start_server(slow, "127.0.0.1", 0)
        async with listening:
            pool = Pool(listening.sockets[0].getsockname()[:2], 1, lambda *r: records.append(r))
            pool.submit("slow", request("/length"), asyncio.get_running_loop().time())
            unanswered = await pool.drained(0.05)
            await asyncio.sleep(0.5)  # the answer arrives now
        return unanswered, records

    assert run_async(drain_early()) == (1, [])
