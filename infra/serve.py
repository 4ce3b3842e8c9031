"""Runs a service's WSGI app on granian: `python -m infra.serve PACKAGE` (local stack and containers).

Measured on these 2-core machines (bench/README.md): granian's Rust HTTP layer costs a fraction of
gunicorn gthread's per-request work, so the same Flask apps serve 1.6-2.4x the requests. It keeps what
gunicorn gave us: worker processes respawned when they die, SIGTERM drains in-flight requests
(`--workers-kill-timeout` bounds it), SIGHUP reloads the workers, and the launcher's `/ready` checks
are unchanged. The Socket.IO process stays on gunicorn's gevent worker, which Flask-SocketIO supports.
Settings: BIND (host:port), HTTP_WORKERS, HTTP_THREADS (blocking threads per worker; unset: the package's
count, `blocking_threads`), CPU_CORES (the cores the server and its workers run on, e.g. `0` or `0,2`;
unset: wherever the kernel puts them).

Each worker builds its app through `create_app` below, which then freezes what start-up allocated out
of the cycle collector's reach (`gc.freeze()`): every full collection scanned those long-lived objects
again (user_service: ~117,000 of them, 50-75 ms with the GIL held on a busy 2-core machine), a pause
paid by every request in flight in that worker (the mixed workload's p99).
"""

from __future__ import annotations

import gc
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

SERVER_IDLE_MS = 30_000
WHOLE_LIMIT = 1024 * 1024  # answers up to this size are handed to granian whole (whole_answers)
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DEFAULTS = {"BIND": "0.0.0.0:8000", "HTTP_WORKERS": "2"}
DEFAULT_THREADS = 8
# A blocking thread is held for the whole of a request, its waits on other servers included. The gateway
# waits on every service and user_service's logins wait on the argon2 threads, so with 8 threads a burst
# of 24 logins held every gateway thread and each read queued behind it (reads' p99 347-404 ms against
# 10-11 ms with 32; bench/README.md). An idle thread costs a parked stack; a busy one waits on a socket.
THREADS_BY_PACKAGE = {"gateway": 32, "user_service": 32}
APP_PACKAGE = "HRP_APP_PACKAGE"  # the package whose create_app a worker builds
CPU_CORES = "CPU_CORES"


def granian_argv(env: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """The server's command line; its workers build the app of `env[APP_PACKAGE]`."""
    host, _, port = env.get("BIND", DEFAULTS["BIND"]).rpartition(":")
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--factory",
        "--host", host, "--port", port,
        "--workers", env.get("HTTP_WORKERS", DEFAULTS["HTTP_WORKERS"]),
        "--blocking-threads", env.get("HTTP_THREADS") or str(blocking_threads(env.get(APP_PACKAGE, ""))),
        "--backlog", "1024",
        # Idle keep-alive connections are closed after 30 s; every client of ours (nginx upstream
        # keepalive_timeout, the gateway's pools) drops them after 10 s, so no request races a close.
        "--http1-header-read-timeout", str(SERVER_IDLE_MS),
        "--workers-kill-timeout", "5",
        "--respawn-failed-workers",
        "--no-ws",
        "--log-level", "warning",
        "infra.serve:create_app",
    ]  # fmt: skip


def blocking_threads(package: str, default: int = DEFAULT_THREADS) -> int:
    """Blocking threads per worker for `package`'s server: its own count, or `default`."""
    return THREADS_BY_PACKAGE.get(package, default)


def create_app() -> object:
    """Granian's factory, called in each worker after it forked: the package's app, built while the
    worker's environment still holds its secrets, which are then dropped from it (`drop_secrets`), with
    start-up frozen."""
    app = importlib.import_module(os.environ[APP_PACKAGE]).create_app()
    drop_secrets(os.environ)
    gc.freeze()
    return whole_answers(app)


SECRET_NAME = re.compile(r"SECRET|PASSWORD|PRIVATE_KEY|TOKEN|CREDENTIAL", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]*:[^/@\s]*@")


def drop_secrets(env: MutableMapping[str, str]) -> None:
    """Removes the variables that hold secrets (by name, or a URL with a password in it).

    granian copies the worker's environment, as it is once the app is built, into every request's WSGI
    environ (`granian/wsgi.py`), where a secret is one error report or debug dump away from a client or a
    log. Each service reads its settings in its app factory, before this runs, and nothing reads them
    from the environment later; the master process keeps them for the workers it starts next."""
    names = [
        name for name, value in env.items() if SECRET_NAME.search(name) or CREDENTIALS_IN_URL.search(value)
    ]
    for name in names:
        del env[name]


def whole_answers(app: Wsgi) -> Wsgi:
    """`app` answering with a list whenever its answer is small and of known length.

    Granian hands a list's bytes to its HTTP layer as one complete body, written with the head in one
    `writev`; any other iterable (Flask's `ClosingIterator`, even around a body already in memory) goes
    through its streamed-body channel, chunk by chunk, and the head and body were often two writes
    (strace: 257 `writev` for 200 answers, 208 with this). Streamed answers (no Content-Length, or above
    WHOLE_LIMIT) pass through untouched.
    """

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length: list[str] = []

        def recording_start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            length[:] = [value for name, value in headers if name.lower() == "content-length"]
            return start_response(status, headers, *exc_info)

        body = app(environ, recording_start)
        if isinstance(body, list) or len(length) != 1 or not length[0].isdigit():
            return body
        if int(length[0]) > WHOLE_LIMIT:
            return body
        try:
            return list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


def keep_to_cores(setting: str) -> set[int]:
    """Runs this process, and so every worker and thread it starts later, on the cores `setting` names
    (`"0,2"`) among those it may use; an empty setting, or one naming none of those, changes nothing.

    Why the local stack sets it (infra/services.py `cores_for`): a request crosses a granian worker's Rust
    threads and a Python thread, and each hand-off between threads on different cores of a VM is an
    interprocessor interrupt, often to a halted vCPU. Kept on one core, the hand-offs stay local; the mix
    at 50 % of its maximum had fewer requests above the p99 bound in 19 of 21 interleaved rounds
    (bench/README.md).
    """
    allowed = os.sched_getaffinity(0)
    wanted = {int(core) for core in setting.split(",") if core.strip().isdigit()} & allowed
    if wanted:
        os.sched_setaffinity(0, wanted)
    return wanted or allowed


if __name__ == "__main__":
    os.environ[APP_PACKAGE] = sys.argv[1]
    keep_to_cores(os.environ.get(CPU_CORES, ""))
    argv = granian_argv()
    os.execv(argv[0], argv)
