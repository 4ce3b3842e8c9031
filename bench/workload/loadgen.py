"""HTTP/1.1 load over keep-alive connections: open loop (constant arrival rate) and closed loop.

Open loop is wrk2-style: request i of a run is *due* at t0 + i / rate whatever happened before, and its
latency is measured from that intended time, so a stalled server is charged for the requests that queue
behind it (no coordinated omission). Requests that find every connection busy wait client-side, and
that wait counts too. Closed loop (each connection sends its next request when the previous answer
arrives) is only used to find the maximum throughput and for the one-client unloaded latency.

Several forked processes, each an asyncio loop, share the rate; requests are pre-encoded bytes. The loops
wait on `select`, not asyncio's default `epoll`: `epoll_wait` takes its timeout in whole milliseconds,
rounded up, so every request due less than 1 ms ahead was sent up to 1 ms late and that lateness was
charged to the server (p50 of nginx answering a static file open loop at 400 req/s: 0.75 ms on `epoll`,
0.25 ms on `select`). `select` waits to the microsecond and a process holds at most 64 connections.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import selectors
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.workload.connections import Pool

Request = tuple[str, bytes]  # (kind, raw HTTP/1.1 request)
OK_STATUSES = frozenset({200, 201})


@dataclass
class Outcome:
    """What one run (all processes merged) produced; latencies in seconds, per kind, successes only."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    edge: Counter[str] = field(default_factory=Counter)  # "kind X-Cache-Status" of answers that had one
    late_s: list[float] = field(default_factory=list)  # open loop: how long after its due time each send left
    sent: int = 0
    elapsed_s: float = 0.0
    generator_cpu_s: float = 0.0

    def merge(self, other: Outcome) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.errors.update(other.errors)
        self.edge.update(other.edge)
        self.late_s.extend(other.late_s)
        self.sent += other.sent
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)
        self.generator_cpu_s += other.generator_cpu_s

    def record(self, kind: str, status: int, latency: float, edge: str = "") -> None:
        if edge:
            self.edge[f"{kind} {edge}"] += 1
        if status in OK_STATUSES:
            self.latencies.setdefault(kind, []).append(latency)
        else:
            self.errors[f"{kind} {status or 'conn'}"] += 1

    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]


class StartSignal:
    """The open-loop processes' common start: each waits, connections open, until all are ready; the last
    one to arrive sets t0 a moment later. Request i is due from t0, so a process that forked or connected
    late is not charged to the server as latency (it was, up to ~130 ms at the start of a step)."""

    LEAD_S = 0.05

    def __init__(self, procs: int) -> None:
        context = mp.get_context("fork")
        self._t0 = context.Value("d", 0.0)
        self._ready = context.Barrier(procs, action=self._set_t0)

    def _set_t0(self) -> None:
        self._t0.value = time.monotonic() + self.LEAD_S

    def wait(self, timeout: float = 30.0) -> float:
        self._ready.wait(timeout)
        return self._t0.value


async def open_loop(
    address: tuple[str, int],
    plan: Sequence[Request],
    rate: float,
    start: StartSignal,
    offset: float,
    conns: int,
    drain_s: float,
) -> Outcome:
    """Sends plan[i] at t0 + offset + i / rate (the caller staggers processes through `offset`).

    Every send is a timer of the loop's own (`call_at`), not a coroutine that sleeps until it is due: the
    coroutine's future, task step and resumption cost 20-35 µs of the generator's CPU per request, CPU taken
    from the stack it measures (bench/README.md). How late each send left is recorded (`Outcome.late_s`)."""
    outcome = Outcome()
    pool = Pool(address, conns, outcome.record)
    await pool.prefill(min(conns, 8))
    loop = asyncio.get_running_loop()
    t0 = start.wait() + offset

    def send(kind: str, raw: bytes, intended: float) -> None:
        outcome.late_s.append(time.monotonic() - intended)
        pool.submit(kind, raw, intended)

    for index, (kind, raw) in enumerate(plan):
        intended = t0 + index / rate
        loop.call_at(intended, send, kind, raw, intended)
    await asyncio.sleep(max(0.0, t0 + len(plan) / rate - time.monotonic()))
    while len(outcome.late_s) < len(plan):  # the last timer may still be due in this iteration
        await asyncio.sleep(0)
    await _drain(pool, outcome, drain_s)
    outcome.sent = len(plan)
    outcome.elapsed_s = time.monotonic() - t0
    return outcome


async def closed_loop(
    address: tuple[str, int], plan: Sequence[Request], t0: float, conns: int, seconds: float
) -> Outcome:
    """`conns` connections each send the next request of `plan` as soon as the previous one is answered."""
    outcome = Outcome()
    pool = Pool(address, conns, outcome.record)
    await pool.prefill(conns)
    cursor = iter(plan)
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))
    t0 = time.monotonic()
    deadline = t0 + seconds

    def send_next() -> None:
        now = time.monotonic()
        if now < deadline and (request := next(cursor, None)) is not None:
            outcome.sent += 1
            pool.submit(*request, now)

    pool.after = send_next
    for _ in range(conns):
        send_next()
    await _drain(pool, outcome, seconds + 30)
    outcome.elapsed_s = time.monotonic() - t0
    return outcome


async def _drain(pool: Pool, outcome: Outcome, timeout: float) -> None:
    """Waits for the answers still due; those not in by `timeout` count as errors."""
    unanswered = await pool.drained(timeout)
    if unanswered:
        outcome.errors["timeout (unanswered at drain)"] += unanswered


def punctual_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose timers fire to the microsecond (see the module's docstring)."""
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def _child(mode: str, args: tuple, queue: mp.Queue) -> None:
    runner = open_loop if mode == "open" else closed_loop
    with asyncio.Runner(loop_factory=punctual_loop) as loop:
        outcome = loop.run(runner(*args))
    times = os.times()
    outcome.generator_cpu_s = times.user + times.system
    queue.put(outcome)


def _fan_out(jobs: list[tuple[str, tuple]], timeout: float) -> Outcome:
    context = mp.get_context("fork")
    queue: mp.Queue = context.Queue()
    procs = [context.Process(target=_child, args=(mode, args, queue), daemon=True) for mode, args in jobs]
    for proc in procs:
        proc.start()
    merged = Outcome()
    try:
        for _ in procs:
            merged.merge(queue.get(timeout=timeout))
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
    return merged


def split(plan: Sequence[Request], parts: int) -> list[list[Request]]:
    return [list(plan[index::parts]) for index in range(parts)]


def run_open(
    address: tuple[str, int], plan: Sequence[Request], rate: float, *, procs: int = 2, conns: int = 64
) -> Outcome:
    """Offers `rate` req/s for len(plan) / rate seconds from `procs` processes (interleaved arrivals)."""
    start, drain = StartSignal(procs), 5.0
    jobs = [
        ("open", (address, part, rate / procs, start, index / rate, conns, drain))
        for index, part in enumerate(split(plan, procs))
    ]
    return _fan_out(jobs, timeout=len(plan) / rate + drain + 30)


def run_closed(
    address: tuple[str, int], plan: Sequence[Request], seconds: float, *, procs: int = 2, conns: int = 32
) -> Outcome:
    t0 = time.monotonic() + 0.5
    jobs = [("closed", (address, part, t0, conns, seconds)) for part in split(plan, procs)]
    return _fan_out(jobs, timeout=seconds + 60)
