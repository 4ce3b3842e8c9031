"""The reference rows: each hop alone and the whole path, every maximum measured with wrk in the same run.

A row first sends one probe and checks its answer (status 200, and nginx's X-Cache-Status where the edge
cache is involved), warms up, then runs wrk -t2 -c32 while the meter records CPU per component and the
requests each component answered, then measures one-client latency with the Python generator.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.workload import meter, suite, wrk
from bench.workload.hello import FLASK_HELLO, HELLOS
from bench.workload.loadgen import run_closed
from bench.workload.mix import BROWSE_MODES, Fixture, Planner, http_request
from bench.workload.suite import Timing, address
from infra.stack import Stack

STATIC = "nginx static file"
ANON_LIST = "full path: property list, anonymous (edge-cached)"
TOKEN_LIST = "full path: property list, with a token (not edge-cached)"
BY_ID, PROFILE = "full path: booking by id (owner's token)", "full path: profile (token)"
CACHE_HIT = "booking_service: property list (its cache)"
# The rows the targets use run as long as the wrk -d8s; the others as long as the mixed maxima, so
# the suite stays within its budget (bench/run.py) and the other benchmarks still run.
TARGET_ROWS = frozenset({FLASK_HELLO, ANON_LIST, TOKEN_LIST, BY_ID, PROFILE})
MIX_PLAN_RPS = 4000  # requests planned per second of a mixed maximum run (above what it reaches)
EDGE_ANSWERS = frozenset({"HIT", "MISS", "EXPIRED", "STALE", "UPDATING", "REVALIDATED"})


@dataclass(frozen=True)
class Row:
    """One request repeated: where it goes, what it sends, which component logs every one of them."""

    base: str
    path: str
    entry: str | None  # the component whose access log sees each request (None: the hello apps)
    token: str | None = None
    no_cache: bool = False
    method: str = "GET"
    body: dict | None = None
    edge: frozenset[str] = field(default_factory=frozenset)  # X-Cache-Status values allowed; empty: none

    @property
    def raw(self) -> bytes:
        return http_request(self.method, self.path, self.token, self.body, no_cache=self.no_cache)

    @property
    def headers(self) -> dict[str, str]:
        found = {"Accept": "application/json"}
        if self.token:
            found["Authorization"] = f"Bearer {self.token}"
        if self.no_cache:
            found["Cache-Control"] = "no-cache"
        if self.body is not None:
            found["Content-Type"] = "application/json"
        return found

    @property
    def payload(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body).encode()


def probe(row: Row) -> dict:
    """One request the way wrk will send it; the problems with its answer, if any."""
    conn = http.client.HTTPConnection(*address(row.base), timeout=10)
    try:
        conn.request(row.method, row.path, body=row.payload, headers=row.headers)
        answer = conn.getresponse()
        body, edge = answer.read(), answer.getheader("X-Cache-Status") or ""
    finally:
        conn.close()
    problems = [] if answer.status == 200 else [f"status {answer.status}"]
    if (edge or row.edge) and edge not in row.edge:
        problems.append(
            f"X-Cache-Status {edge or 'missing'}, expected {'/'.join(sorted(row.edge)) or 'none'}"
        )
    return {"status": answer.status, "x_cache_status": edge, "body_bytes": len(body), "problems": problems}


def measure(
    stack: Stack, row: Row, timing: Timing, binary: str | None, extra: dict[str, int], seconds: float
) -> dict:
    """Probe, warm-up, maximum (wrk, or the Python generator when wrk is missing), one-client latency."""
    checked = probe(row)
    loaded = _maximum(stack, row, timing, binary, extra, seconds)
    single = run_closed(address(row.base), [("one", row.raw)] * 100_000, timing.unloaded_s, procs=1, conns=1)
    latencies = sorted(single.all_latencies())
    served = loaded.get("served", {}).get(row.entry or "", {})
    detail = {
        "no answer (wrk: connect, read, write, timeout)": loaded.get("socket_errors", 0),
        "non-2xx (wrk's >= 400, or the access lines')": max(
            loaded.get("status_errors", 0), served.get("non_2xx", 0)
        ),
        "one-client run": sum(single.errors.values()),
        "probe": len(checked["problems"]),
    }
    return {**loaded, "url": row.base + row.path, "probe": checked, "errors": sum(detail.values()),
            "error_detail": detail, "unloaded_errors": detail["one-client run"],
            "unloaded_p50_ms": _pct(latencies, 0.50), "unloaded_p99_ms": _pct(latencies, 0.99)}  # fmt: skip


def _maximum(
    stack: Stack, row: Row, timing: Timing, binary: str | None, extra: dict[str, int], seconds: float
) -> dict:
    """Warm-up, then the measured run between two marks of the meter, each once the stack has settled."""
    load = _wrk_load(binary, row) if binary else _python_load(row)
    load(timing.warm_s)
    meter.settle(stack)
    before = meter.mark(stack, extra)
    found = load(seconds)
    return {**found, **meter.step(stack, before, found["generator_cpu_s"], found["wall_s"], extra)}


def _wrk_load(binary: str, row: Row) -> Callable[[float], dict]:
    options = {"method": row.method, "headers": row.headers, "body": row.payload}
    return lambda seconds: wrk.measure(binary, row.base + row.path, seconds, **options)


def _python_load(row: Row) -> Callable[[float], dict]:
    """The fallback without wrk: the Python generator, closed loop 2 x 32 (its ceiling is far lower)."""

    def load(seconds: float) -> dict:
        outcome = run_closed(address(row.base), [("max", row.raw)] * 400_000, seconds)
        answered, failed = len(outcome.all_latencies()), sum(outcome.errors.values())
        return {"tool": "python closed loop 2 x 32", "requests": answered + failed, "wall_s": outcome.elapsed_s,
                "rps": answered / outcome.elapsed_s if outcome.elapsed_s else 0.0, "status_errors": failed,
                "socket_errors": 0, "generator_cpu_s": outcome.generator_cpu_s}  # fmt: skip

    return load


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def rows(stack: Stack, hellos: dict[str, str], fixture: Fixture) -> dict[str, Row]:
    """Every reference row of the report, in its order."""
    reader = next(iter(fixture.reader_bookings))
    owner, booking = fixture.tokens[reader], fixture.reader_bookings[reader][0]
    by_id, listing = f"/api/bookings/booking/{booking}", "/api/bookings/properties"
    profile, login = "/api/users/profile", fixture.logins[0]
    book, users, gw, nginx = (stack.url("booking_service", 0), stack.url("user_service", 0),
                              stack.url("gateway", 0), stack.nginx_url)  # fmt: skip
    return {
        STATIC: Row(nginx, "/index.html", "nginx"),
        **{name: Row(hellos[name], "/", None) for name in HELLOS},
        CACHE_HIT: Row(book, listing, "booking_service"),
        "booking_service: property list (no-cache: database)": Row(
            book, listing, "booking_service", no_cache=True
        ),
        "booking_service: booking by id": Row(book, by_id, "booking_service", owner),
        "user_service: profile": Row(users, profile, "user_service", fixture.profile_token),
        "user_service: login (argon2)": Row(
            users, "/api/users/login", "user_service", method="POST", body=login
        ),
        "gateway: property list": Row(gw, listing, "gateway"),
        "gateway: booking by id": Row(gw, by_id, "gateway", owner),
        ANON_LIST: Row(nginx, listing, "nginx", edge=EDGE_ANSWERS),
        TOKEN_LIST: Row(nginx, listing, "nginx", owner, edge=frozenset({"BYPASS"})),
        BY_ID: Row(nginx, by_id, "nginx", owner),
        PROFILE: Row(nginx, profile, "nginx", fixture.profile_token),
    }


def measure_all(
    stack: Stack, hellos: dict[str, tuple[str, int]], planner: Planner, timing: Timing, binary: str | None
) -> dict:
    """The reference rows (wrk), then the mixed workload's maxima in each browse mode."""
    extra = {name: pid for name, (_, pid) in hellos.items()}
    found = {}
    table = rows(stack, {n: url for n, (url, _) in hellos.items()}, planner.fixture)
    for name, row in table.items():
        print(f"[bench]   {name}", flush=True)
        seconds = timing.wrk_s if name in TARGET_ROWS else timing.max_s
        found[name] = measure(stack, row, timing, binary, extra, seconds)
    # The yardstick again after the other rows: others' work on the machine can only lower it.
    again = measure(stack, table[FLASK_HELLO], timing, binary, extra, timing.wrk_s)
    tries = [found[FLASK_HELLO]["rps"], again["rps"]]
    found[FLASK_HELLO] = {**max(found[FLASK_HELLO], again, key=lambda r: r["rps"]), "tries_rps": tries}
    for browse in BROWSE_MODES:
        mix = planner.with_browse(browse)
        plan = lambda mix=mix: mix.plan(int(MIX_PLAN_RPS * timing.max_s))  # noqa: E731
        run_closed(address(stack.nginx_url), plan()[:5000], timing.warm_s, procs=1, conns=8)
        found[suite.mixed(browse)] = {**suite.saturate(stack.nginx_url, plan, timing, stack, suite.MIX_TRIES),
                                      "url": stack.nginx_url, "tool": "python closed loop 2 x 32"}  # fmt: skip
    return found


def generator_ceiling(stack: Stack, timing: Timing) -> dict[str, float]:
    """What the Python generator reaches where wrk shows the server can do far more."""
    found = {}
    for name, path in ((STATIC, "/index.html"), (ANON_LIST, "/api/bookings/properties")):
        outcome = run_closed(
            address(stack.nginx_url), [("max", http_request("GET", path))] * 400_000, timing.max_s
        )
        found[name] = len(outcome.all_latencies()) / outcome.elapsed_s if outcome.elapsed_s else 0.0
    return found
