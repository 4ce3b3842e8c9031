"""Each app's own CPU per request, without a server: the figures behind bench/README's "which change
bought how much" tables.

    .venv/bin/python -m bench.bench_app_cpu [--requests 2000] [--repeats 3] [--json OUT]
        [--tracing off,0,0.1,1 [--rounds 3]] [--cases no-cache]

Starts a private stack (real databases, Redis, services on free ports in 20000-29999), then builds the
gateway, booking_service and user_service apps with the stack's settings and calls each one's WSGI
entry `--requests` times for one request (the gateway proxies to the stack's real services), timing
with `time.process_time`. A bare Flask `jsonify` hello is timed the same way. CPU time of one process
barely moves with other load on the machine, unlike throughput, so the median of `--repeats` runs
compares commits fairly; what the server adds (granian, gunicorn) is not included.

`--tracing` measures each configuration in its own process (the OpenTelemetry SDK is set up once per
process): `off` (OTEL_SDK_DISABLED=true) or a sampling ratio for `parentbased_traceidratio`, exporting
over OTLP/HTTP to a local receiver that acknowledges each export (no collector installs here). The
configurations take turns for `--rounds` rounds and each case keeps its least figure (other load on a
shared machine only ever adds). Without it the apps run in this process with the stack's own
environment (tracing off). `--cases` keeps the cases whose name contains that text (and the hello).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
from flask import Flask, jsonify
from werkzeug.test import EnvironBuilder

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LIST, UNCACHED_LIST = "/api/bookings/properties", "/api/bookings/properties?limit=20"
# (name, app, path, with a token, with `Cache-Control: no-cache`)
CASES = (
    ("flask hello", "flask hello", "/", False, False),
    ("gateway: property list (token)", "gateway", LIST, True, False),
    ("gateway: property list (token, no-cache)", "gateway", UNCACHED_LIST, True, True),
    ("booking_service: property list (cache hit)", "booking_service", LIST, False, False),
    ("booking_service: property list (token, no-cache)", "booking_service", UNCACHED_LIST, True, True),
    ("user_service: profile (token)", "user_service", "/api/users/profile", True, False),
)


def flask_hello() -> Flask:
    app = Flask("hello")
    app.add_url_rule("/", "hello", lambda: jsonify(hello="world"))
    return app


def cpu_ms_per_request(app: Wsgi, path: str, headers: dict[str, str], count: int) -> float:
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


def build_apps(env: dict[str, str], keys_dir: str) -> dict[str, Wsgi]:
    os.environ.update(env)
    os.environ["JWT_PRIVATE_KEY_FILE"] = str(Path(keys_dir) / "jwt_private.pem")
    os.environ["LOG_LEVEL"] = "INFO"  # access lines are part of the cost
    from booking_service import create_app as booking_app
    from gateway import create_app as gateway_app
    from user_service import create_app as user_app

    return {"gateway": gateway_app(), "booking_service": booking_app(), "user_service": user_app()}


def measure_apps(
    env: dict[str, str], keys_dir: str, token: str, count: int, repeats: int, cases: str = ""
) -> dict[str, float]:
    # Access lines go to /dev/null: written (their cost counts), not printed over the table.
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        apps = {"flask hello": flask_hello(), **build_apps(env, keys_dir)}
        figures = {}
        for name, app, path, needs_token, no_cache in selected(cases):
            headers = {"Authorization": f"Bearer {token}"} if needs_token else {}
            if no_cache:
                headers["Cache-Control"] = "no-cache"
            runs = [cpu_ms_per_request(apps[app], path, headers, count) for _ in range(repeats)]
            figures[name] = statistics.median(runs)
    return figures


def selected(cases: str) -> list[tuple[str, str, str, bool, bool]]:
    return [case for case in CASES if cases in case[0] or case[1] == "flask hello"]


def tracing_env(setting: str, endpoint: str) -> dict[str, str]:
    if setting == "off":
        return {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    return {
        "OTEL_SDK_DISABLED": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": str(float(setting)),
    }


def measure_in_child(spec: dict[str, Any]) -> dict[str, float]:
    """One configuration in a fresh process: `python -m bench.bench_app_cpu --child SPEC`."""
    with tempfile.TemporaryDirectory() as scratch:
        spec_path, out = Path(scratch) / "spec.json", Path(scratch) / "out.json"
        spec_path.write_text(json.dumps({**spec, "out": str(out)}))
        subprocess.run([sys.executable, "-m", "bench.bench_app_cpu", "--child", str(spec_path)], check=True)
        return json.loads(out.read_text())


def child(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    figures = measure_apps(
        spec["env"], spec["keys_dir"], spec["token"], spec["count"], spec["repeats"], spec["cases"]
    )
    Path(spec["out"]).write_text(json.dumps(figures))
    return 0


def measure(
    count: int, repeats: int, settings: list[str], rounds: int = 1, cases: str = ""
) -> dict[str, dict[str, float]]:
    """{configuration: {case: CPU ms per request}}; configuration "stack" when `settings` is empty."""
    from bench.bench_observability import Receiver
    from bench.workload import suite

    receiver = Receiver()
    try:
        with suite.private_stack(2, 2, 8) as stack:
            token = signed_in_token(stack)
            if not settings:
                figures = measure_apps(dict(stack.env), str(stack.keys_dir), token, count, repeats, cases)
                return {"stack": figures}
            found: dict[str, dict[str, float]] = {}
            for turn in range(rounds):
                for setting in settings:
                    env = {**stack.env, **tracing_env(setting, receiver.endpoint)}
                    spec = {"env": env, "keys_dir": str(stack.keys_dir), "token": token, "cases": cases}
                    figures = measure_in_child({**spec, "count": count, "repeats": repeats})
                    kept = found.setdefault(setting, figures)
                    found[setting] = {name: min(kept[name], figures[name]) for name in figures}
                    print(f"[app-cpu] round {turn + 1}, tracing {setting}: {figures}", flush=True)
            print(f"[app-cpu] {receiver.exports} exports received", flush=True)
            return found
    finally:
        receiver.server.shutdown()


def print_table(found: dict[str, dict[str, float]]) -> None:
    settings = list(found)
    print(f"{'app, request':<50}" + "".join(f"{'tracing ' + s:>14}" for s in settings) + f"{'x hello':>9}")
    for name in found[settings[0]]:
        row = "".join(f"{found[s][name]:>14.3f}" for s in settings)
        print(f"{name:<50}{row}{found[settings[0]][name] / found[settings[0]]['flask hello']:>9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tracing", default="", help="comma-separated: off and/or sampling ratios")
    parser.add_argument("--rounds", type=int, default=1, help="turns of the tracing configurations")
    parser.add_argument("--cases", default="", help="only the cases whose name contains this")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    settings = [s.strip() for s in args.tracing.split(",") if s.strip()]
    for setting in settings:
        if setting != "off" and not 0.0 <= float(setting) <= 1.0:
            parser.error(f"--tracing: {setting} is neither off nor a ratio in [0, 1]")
    found = measure(args.requests, args.repeats, settings, max(1, args.rounds), args.cases)
    print_table(found)
    if args.json:
        args.json.write_text(json.dumps(found if settings else found["stack"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
