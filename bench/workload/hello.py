"""The baseline app: the least a gunicorn gthread worker can do per request (no Flask, no I/O)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"hello":"world"}'


def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def start(port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    """gunicorn gthread with the stack's worker settings, in its own session (stop with killpg)."""
    argv = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO_ROOT), "-k", "gthread",
            "-w", str(workers), "--threads", str(threads), "-b", f"127.0.0.1:{port}",
            "--no-control-socket", "--log-level", "warning", "bench.workload.hello:app"]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
