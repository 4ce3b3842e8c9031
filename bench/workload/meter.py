"""What a step cost and who served it: CPU per component (bench/workload/cpu.py) and the requests each
component answered, counted from the access lines it wrote during the step.

Counting per component keeps edge-cache hits from diluting the gateway's CPU per request: nginx answers
them without the gateway seeing them. Each access line also carries its status, so every non-2xx answer
of a step is counted, whichever load generator sent it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from bench.workload import cpu
from infra.stack import Stack

SERVICES = ("gateway", "booking_service", "user_service")
NGINX = "nginx"
STATUS = re.compile(rb'status_code":"?(\d{3})')  # services: {"status_code":200}; nginx: "...code":"200"
CLIENT_CLOSED = b"499"  # nginx: the client closed first (wrk does, with requests in flight, when it stops)
FEWEST_SERVED = 20  # below this, CPU per request served is background work over a handful of requests


@dataclass(frozen=True)
class Mark:
    cpu: dict[str, float]
    logs: dict[str, dict[Path, int]]  # component -> access log -> size at the mark


def access_logs(stack: Stack) -> dict[str, list[Path]]:
    found = {NGINX: [stack.root / "nginx" / "logs" / "access.log"]}
    for service in SERVICES:
        count = len(stack.ports.services.get(service, ()))
        found[service] = [stack.log_path(service, i) for i in range(count)]
    return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def mark(stack: Stack, extra: dict[str, int] | None = None) -> Mark:
    """CPU so far (the stack's components plus `extra` {name: pid} trees) and where each log ends."""
    seconds = cpu.snapshot(stack)
    for name, pid in (extra or {}).items():
        seconds[name] = cpu.tree_seconds(pid)
    logs = {c: {p: _size(p) for p in paths} for c, paths in access_logs(stack).items()}
    return Mark(seconds, logs)


def settle(stack: Stack, quiet_s: float = 0.5, limit_s: float = 15.0) -> None:
    """Waits until no access log has grown for `quiet_s`: requests a generator abandoned when it stopped
    are finished (and counted) before the next mark, not in the next step."""
    paths = [p for found in access_logs(stack).values() for p in found]
    sizes, deadline = [_size(p) for p in paths], time.monotonic() + limit_s
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = [_size(p) for p in paths]
        if now == sizes:
            return
        sizes = now


def served_since(before: Mark) -> dict[str, dict[str, int]]:
    """Per component: access lines written since `before` (n), how many were not 2xx, and the 499s (the
    client closed before the answer: not an error of the server's)."""
    found = {}
    for component, paths in before.logs.items():
        statuses: list[bytes] = []
        for path, offset in paths.items():
            with path.open("rb") as log:
                log.seek(offset)
                statuses += STATUS.findall(log.read())
        closed = statuses.count(CLIENT_CLOSED)
        non_2xx = sum(1 for s in statuses if not s.startswith(b"2")) - closed
        found[component] = {"n": len(statuses), "non_2xx": non_2xx, "client_closed": closed}
    return found


def step(
    stack: Stack, before: Mark, generator_s: float, wall_s: float, extra: dict[str, int] | None = None
) -> dict:
    """CPU shares and requests served per component since `before`."""
    after = mark(stack, extra)
    return {"cpu": cpu.shares(before.cpu, after.cpu, generator_s, wall_s), "served": served_since(before)}


def cpu_ms_per_request(row: dict, component: str, requests: int | None = None) -> float | None:
    """A component's CPU ms per request: per client request by default, or per `requests` given."""
    seconds = row.get("cpu", {}).get(component, {}).get("cpu_s")
    requests = requests if requests is not None else row.get("requests")
    if seconds is None or not requests:
        return None
    return 1000 * seconds / requests


def per_served(row: dict, component: str) -> float | None:
    """CPU ms per request the component itself answered (its access lines) during the step."""
    served = row.get("served", {}).get(component, {}).get("n", 0)
    return cpu_ms_per_request(row, component, served) if served >= FEWEST_SERVED else None
