"""The per-service benchmarks other issues added, run as subprocesses with bounded parameters.

Each gets a wall-clock budget; past it the child gets SIGINT (so its `finally: stack.down()` runs), then
SIGKILL 30 s later. Their JSON (when they write one) and the tail of their output go into the results.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class External:
    name: str
    script: str
    args: tuple[str, ...]
    budget_s: float
    writes_json: bool = True
    columns: str = ""  # what the numbers of a parsed table are


EXTERNALS = (
    External("gateway overhead", "bench_gateway.py", ("--seconds", "3"), 120),
    External("booking_service direct", "bench_booking_service.py", ("--requests", "600"), 120),
    External("user_service direct", "bench_user_service.py", ("--seconds", "3", "--threads", "8"), 120),
    External(
        "availability search",
        "bench_search.py",
        ("--properties", "20000", "--bookings-per-property", "5", "--requests", "100"),
        150,
        writes_json=False,
        columns="HTTP p50 / HTTP p99 / SQL p50 / SQL p99 (ms) / results",
    ),
    External(
        "Socket.IO fan-out",
        "bench_socketio.py",
        ("--clients", "300", "--events", "20", "--timeout", "60"),
        150,
    ),
    External(
        "ETL", "bench_etl.py", ("--bookings", "100000", "--users", "10000", "--max-seconds", "150"), 180
    ),
    External("observability overhead", "bench_observability.py", ("--seconds", "4", "--rounds", "3"), 150),
)


def available() -> list[External]:
    return [e for e in EXTERNALS if (REPO_ROOT / "bench" / e.script).exists()]


def run_one(external: External, extra: tuple[str, ...] = ()) -> dict:
    """Runs one benchmark to completion or budget; returns its figures, exit status, time and output tail."""
    with tempfile.TemporaryDirectory(prefix="hrp-bench-ext-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, str(REPO_ROOT / "bench" / external.script), *external.args, *extra]
        if external.writes_json:
            argv += ["--json", str(out)]
        started = time.monotonic()
        returncode, output = _run_bounded(argv, external.budget_s)
        row = {
            "script": f"bench/{external.script}",
            "args": argv[2:],
            "returncode": returncode,
            "seconds": round(time.monotonic() - started, 1),
            "output_tail": output.splitlines()[-30:],
        }
        if out.exists():
            row["figures"] = json.loads(out.read_text())
        elif table := parse_table(output):
            row["figures"], row["columns"] = table, external.columns
    return row


NUMBER_ROW = re.compile(r"^(\S.*?)\s+((?:-?[\d.]+\s+){2,}-?[\d.]+)\s*$")


def parse_table(output: str) -> dict[str, list[float]]:
    """Rows of a printed table ("name  1.0  2.0 ...") for benchmarks that write no JSON."""
    rows = {}
    for line in output.splitlines():
        if (match := NUMBER_ROW.match(line)) is not None:
            rows[match.group(1).strip()] = [float(x) for x in match.group(2).split()]
    return rows


def _run_bounded(argv: list[str], budget_s: float) -> tuple[int | None, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate(timeout=budget_s)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        return None, output + f"\n[bench.run] stopped after its {budget_s:.0f} s budget"
