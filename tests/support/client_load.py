"""Concurrent HTTP clients on threads, each with its own keep-alive `requests.Session`: the one closed-loop
load of the chaos tests (reads that run while a fault happens) and of the per-service benches.

`call(session, client)` makes one request (or one step of a scripted client) as client number `client`
and returns the HTTP status: 0 when no answer came (`requests.RequestException`) or none it could use.

    with ClientLoop(call, clients=4) as loop:        # until the block ends
        ...
    loop.failures()
    figures = ClientLoop(call, 16).run(total=2000).figures()   # or .run(seconds=3)

bench/workload/loadgen.py is the other generator: asyncio, pre-encoded requests, several processes,
open loop; it is for throughput, this one for clients that log in, book and count what they got.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

Call = Callable[[requests.Session, int], int]


@dataclass(frozen=True)
class Answer:
    client: int
    at: float  # time.time() when the request began (comparable with log timestamps)
    elapsed: float  # seconds
    status: int  # 0: no answer

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ClientLoop:
    """`clients` threads calling `call` until stopped (the `with` block ends), `seconds` pass, or
    `total` calls have been made between them."""

    def __init__(self, call: Call, clients: int) -> None:
        self._call = call
        self.answers: list[Answer] = []
        self.wall_s = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._left: int | None = None
        self._deadline = float("inf")
        self._threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]

    def __enter__(self) -> ClientLoop:
        self._started = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self.wall_s = time.perf_counter() - self._started

    def run(self, *, seconds: float | None = None, total: int | None = None) -> ClientLoop:
        """Runs to the end of `seconds` or of `total` calls, whichever comes first."""
        assert seconds is not None or total is not None, "an endless run: use `with` instead"
        self._left = total
        self._deadline = time.perf_counter() + seconds if seconds is not None else float("inf")
        with self:
            for thread in self._threads:
                thread.join()
        return self

    def _client(self, index: int) -> None:
        with requests.Session() as session:
            while not self._stop.is_set() and time.perf_counter() < self._deadline and self._take():
                at, started = time.time(), time.perf_counter()
                try:
                    status = self._call(session, index)
                except requests.RequestException:
                    status = 0
                answer = Answer(index, at, time.perf_counter() - started, status)
                with self._lock:
                    self.answers.append(answer)

    def _take(self) -> bool:
        if self._left is None:
            return True
        with self._lock:
            self._left -= 1
            return self._left >= 0

    def failures(self) -> list[Answer]:
        return [answer for answer in self.answers if not answer.ok]

    def successes(self) -> int:
        return len(self.answers) - len(self.failures())

    def figures(self) -> dict[str, float]:
        """Requests, throughput over the run's wall time, latency p50/p99 in ms, and the answers not 2xx."""
        latencies = sorted(answer.elapsed * 1000 for answer in self.answers)
        percentiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        return {
            "requests": len(latencies),
            "rps": len(latencies) / self.wall_s if self.wall_s else 0.0,
            "p50_ms": percentiles[49],
            "p99_ms": percentiles[98],
            "errors": len(self.failures()),
        }
