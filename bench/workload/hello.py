"""The baselines: a bare Flask `jsonify` hello on gunicorn gthread (the reference every ratio is taken to),
a raw WSGI hello on the same (the least a gthread worker can do per request: no Flask, no I/O), and the
Flask hello on granian, the server the stack's HTTP services run on (infra/serve.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Flask, Response, jsonify

REPO_ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"hello":"world"}'
FLASK_HELLO = "Flask jsonify hello (gunicorn gthread)"
RAW_HELLO = "raw WSGI hello (gunicorn gthread)"
GRANIAN_HELLO = "Flask jsonify hello (granian)"
HELLOS = (FLASK_HELLO, RAW_HELLO, GRANIAN_HELLO)


def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def create_flask_app() -> Flask:
    """Flask with nothing added: one route answering `jsonify`, as a Flask service's floor."""
    flask_app = Flask(__name__)

    @flask_app.get("/")
    def hello() -> Response:
        return jsonify(hello="world")

    return flask_app


def argv(name: str, port: int, workers: int, threads: int) -> list[str]:
    """gunicorn gthread with the keep-alive of infra/gunicorn_conf.py, or granian as infra/serve.py runs it."""
    if name == GRANIAN_HELLO:
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--backlog",
            "1024",
            "--no-ws",
            "--log-level",
            "warning",
            "bench.workload.hello:create_flask_app",
        ]
    app = "bench.workload.hello:create_flask_app()" if name == FLASK_HELLO else "bench.workload.hello:app"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "--keep-alive",
        "15",
        "-b",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--log-level",
        "warning",
        app,
    ]


def start(name: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen[bytes]:
    """One baseline with the stack's workers and threads, in its own session (stop with killpg)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv(name, port, workers, threads), cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
