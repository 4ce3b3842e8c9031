"""Operator commands against the `make run` stack (the passwords live in `.run/`, so these read them):

python -m infra.operate status            every process, its URL and its health
python -m infra.operate logs [NAME] [-n N] the logs of one service (or all), one readable line per entry
python -m infra.operate etl [--full]      run the ETL once, then write the report to .run/reports/
python -m infra.operate mail-sink         start the local SMTP sink if it is not running
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra.procs import alive, read_pid, spawn
from infra.services import MAIL_SINK_PORT
from infra.stack import DEFAULT_ROOT, Stack

MAIL_SINK = "mail_sink"
LEVELS = {"debug": "DEBUG", "info": "INFO ", "warning": "WARN ", "error": "ERROR", "critical": "CRIT "}


def local_stack(root: Path = DEFAULT_ROOT) -> Stack:
    from infra.cli import local_stack as build

    return build(root)


# ---- status ---------------------------------------------------------------------------------------
def endpoints(stack: Stack) -> dict[str, tuple[str, str]]:
    """Process name -> (URL, how to probe it: 'http:<path>' or 'tcp')."""
    p = stack.ports
    found = {
        "nginx": (f"http://127.0.0.1:{p.nginx_http}/", "http:/nginx-health"),
        "postgres_primary": (f"postgresql://127.0.0.1:{p.postgres_primary}/users", "tcp"),
        "postgres_replica": (f"postgresql://127.0.0.1:{p.postgres_replica}/users", "tcp"),
        "warehouse": (f"postgresql://127.0.0.1:{p.warehouse}/warehouse", "tcp"),
        "mariadb": (f"mysql://127.0.0.1:{p.mariadb}/bookings", "tcp"),
        "redis": (f"redis://127.0.0.1:{p.redis}/0", "tcp"),
    }
    for i, port in enumerate(p.cluster):
        found[f"redis_cluster_{i}"] = (f"redis://127.0.0.1:{port}", "tcp")
    for service, ports in p.services.items():
        for i, port in enumerate(ports):
            probe = "tcp" if service == MAIL_SINK else "http:/ready"
            scheme = "smtp" if service == MAIL_SINK else "http"
            found[f"{service}-{i}" if service != MAIL_SINK else MAIL_SINK] = (
                f"{scheme}://127.0.0.1:{port}",
                probe,
            )
    for name, port in getattr(p, "observability", {}).items():
        found[name] = (f"http://127.0.0.1:{port}/", "tcp")
    return found


def probe(url: str, how: str) -> str:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if how == "tcp":
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return "ok"
        except OSError:
            return "down"
    try:
        with urllib.request.urlopen(f"http://{host_port}{how.removeprefix('http:')}", timeout=2) as response:
            return "ok" if response.status == 200 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except OSError:
        return "down"


def command_status(stack: Stack) -> int:
    running = stack.status()
    if not running:
        print("nothing running (start it with: make run)")
        return 0
    known = endpoints(stack)
    print(f"  {'process':24} {'state':8} {'health':9} url")
    for name, up in sorted(running.items()):
        url, how = known.get(name, ("", ""))
        health = probe(url, how) if up and url else ("-" if up else "")
        print(f"  {name:24} {'running' if up else 'STOPPED':8} {health:9} {url}")
    unhealthy = [n for n, up in running.items() if not up]
    print(
        f"\n{len(running) - len(unhealthy)} of {len(running)} processes running; web app: {stack.nginx_url}/"
    )
    return 0


# ---- logs -----------------------------------------------------------------------------------------
def field(entry: dict[str, Any], dotted: str) -> Any:
    """ECS fields come dotted ("service.name") or nested ({"service": {"name": ...}})."""
    if dotted in entry:
        return entry[dotted]
    node: Any = entry
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def human(line: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return line.rstrip()
    if not isinstance(entry, dict):
        return line.rstrip()
    when = str(field(entry, "@timestamp") or "")[11:23]
    level = LEVELS.get(str(field(entry, "log.level") or "info").lower(), "INFO ")
    service = field(entry, "service.name") or "?"
    request_id = field(entry, "http.request.id")
    user = field(entry, "user.id")
    error = field(entry, "error.message")
    text = f"{when} {level} {service:16} {field(entry, 'message') or ''}"
    extras = [f"req={str(request_id)[:8]}" if request_id else "", f"user={user}" if user else ""]
    text += "".join(f"  {extra}" for extra in extras if extra)
    return f"{text}\n      {error}" if error else text


def log_files(stack: Stack, name: str | None) -> list[Path]:
    files = sorted(stack.logs.glob("*.log")) + sorted((stack.root / "nginx" / "logs").glob("*.log"))
    return [
        f for f in files if name is None or f.stem.startswith(name) or (name == "nginx" and "nginx" in str(f))
    ]


def command_logs(stack: Stack, name: str | None, lines: int) -> int:
    files = log_files(stack, name)
    if not files:
        print(f"no logs{f' for {name}' if name else ''} under {stack.logs} (is the stack running?)")
        return 1
    for path in files:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        if tail:
            print(f"== {path.relative_to(stack.root)} ==")
            print("\n".join(human(line) for line in tail))
    return 0


# ---- etl ------------------------------------------------------------------------------------------
def command_etl(stack: Stack, full: bool) -> int:
    if not stack.status().get("warehouse"):
        print("the stack is not running: start it with `make run`, then `make etl`", file=sys.stderr)
        return 1
    env = {**os.environ, **stack.env, "SERVICE_NAME": "etl_service", "LOG_LEVEL": "WARNING"}
    python = [sys.executable, "-m", "etl_service"]
    run = subprocess.run([*python, "run", *(["--full"] if full else [])], env=env, check=False)
    if run.returncode != 0:
        return run.returncode
    out = stack.root / "reports"
    return subprocess.run([*python, "report", "--out", str(out)], env=env, check=False).returncode


# ---- mail sink ------------------------------------------------------------------------------------
def command_mail_sink(stack: Stack) -> int:
    pid = read_pid(stack.pids, MAIL_SINK)
    folder = stack.root / "mail"
    if not (pid and alive(pid)):
        argv = [sys.executable, "-m", "infra.mailsink", "--port", str(MAIL_SINK_PORT), "--dir", str(folder)]
        spawn(MAIL_SINK, argv, logs=stack.logs, pids=stack.pids, cwd=Path(__file__).resolve().parent.parent)
    print(
        f"  mail (password resets)  : smtp://127.0.0.1:{MAIL_SINK_PORT} -> {folder}/ (make logs NAME=mail_sink)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.operate", description=__doc__)
    parser.add_argument("command", choices=["status", "logs", "etl", "mail-sink"])
    parser.add_argument(
        "name", nargs="?", help="logs: a process name or prefix (gateway, user_service-0, nginx)"
    )
    parser.add_argument("-n", "--lines", type=int, default=30)
    parser.add_argument("--full", action="store_true", help="etl: reload everything")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args(argv)
    if not (args.root / "pids").exists():
        print("nothing running (start it with: make run)")
        return 0 if args.command in ("status", "logs") else 1
    stack = local_stack(args.root)
    if args.command == "status":
        return command_status(stack)
    if args.command == "logs":
        return command_logs(stack, args.name, args.lines)
    if args.command == "etl":
        return command_etl(stack, args.full)
    return command_mail_sink(stack)


if __name__ == "__main__":
    sys.exit(main())
