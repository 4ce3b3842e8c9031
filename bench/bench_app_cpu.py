"""Each app's own CPU per request, without a server: the figures behind bench/README's "which change
bought how much" table.

    .venv/bin/python -m bench.bench_app_cpu [--requests 2000] [--repeats 3] [--json OUT]

Starts a private stack (real databases, Redis, services on free ports in 20000-29999), then builds the
gateway, booking_service and user_service apps in this process with the stack's settings and calls
each one's WSGI entry `--requests` times for one signed-in request (the gateway proxies to the stack's
real services), timing with `time.process_time`. A bare Flask `jsonify` hello is timed the same way.
CPU time of one process barely moves with other load on the machine, unlike throughput, so the median
of `--repeats` runs compares commits fairly; what the server adds (granian, gunicorn) is not included.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
from flask import Flask, jsonify
from werkzeug.test import EnvironBuilder

from bench.workload import suite

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def flask_hello() -> Flask:
    app = Flask("hello")
    app.add_url_rule("/", "hello", lambda: jsonify(hello="world"))
    return app


def cpu_ms_per_request(app: Wsgi, path: str, token: str | None, count: int) -> float:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    environ["REMOTE_ADDR"] = "127.0.0.1"

    def one() -> None:
        body = app(dict(environ), lambda *_: None)
        for _ in body:
            pass
        getattr(body, "close", lambda: None)()

    for _ in range(min(200, count)):  # warm pools and caches
        one()
    started = time.process_time()
    for _ in range(count):
        one()
    return (time.process_time() - started) * 1000 / count


def signed_in_token(stack: Any) -> str:
    name = f"cpu{os.getpid()}{int(time.time())}"
    creds = {"email": f"{name}@example.com", "password": "bench-password-1"}
    base = stack.nginx_url + "/api/users"
    requests.post(base + "/register", json={"username": name, **creds}, timeout=10).raise_for_status()
    return requests.post(base + "/login", json=creds, timeout=10).json()["token"]


def build_apps(stack: Any) -> dict[str, Wsgi]:
    os.environ.update(stack.env)
    os.environ["JWT_PRIVATE_KEY_FILE"] = str(stack.keys_dir / "jwt_private.pem")
    os.environ["LOG_LEVEL"] = "INFO"  # access lines are part of the cost
    from booking_service import create_app as booking_app
    from gateway import create_app as gateway_app
    from user_service import create_app as user_app

    return {"gateway": gateway_app(), "booking_service": booking_app(), "user_service": user_app()}


def measure(count: int, repeats: int) -> dict[str, float]:
    cases = [
        ("flask hello", "/", False),
        ("gateway: property list (token)", "/api/bookings/properties", True),
        ("booking_service: property list (cache hit)", "/api/bookings/properties", False),
        ("user_service: profile (token)", "/api/users/profile", True),
    ]
    # Access lines go to /dev/null: written (their cost counts), not printed over the table.
    with (
        suite.private_stack(2, 2, 8) as stack,
        open(os.devnull, "w") as sink,
        contextlib.redirect_stdout(sink),
    ):
        token = signed_in_token(stack)
        apps = {"flask hello": flask_hello(), **build_apps(stack)}
        figures = {}
        for name, path, needs_token in cases:
            app = apps[name.split(":")[0]]
            runs = [
                cpu_ms_per_request(app, path, token if needs_token else None, count) for _ in range(repeats)
            ]
            figures[name] = statistics.median(runs)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = measure(args.requests, args.repeats)
    hello = figures["flask hello"]
    print(f"{'app, request':<46} {'CPU ms/request':>15} {'x hello':>8}")
    for name, value in figures.items():
        print(f"{name:<46} {value:>15.3f} {value / hello:>8.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
