"""Command line of the local stack: `python -m infra.stack up [--no-services] | down | status | clean`."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from infra.ports import Ports
from infra.procs import StartupError
from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD
from infra.stack import DEFAULT_ROOT, Stack


def local_stack(root: Path = DEFAULT_ROOT) -> Stack:
    return Stack(root, Ports.local(), observability=True)


def print_urls(stack: Stack) -> None:
    print(f"  web frontend + REST API : {stack.nginx_url}/")
    print(f"  REST API                : {stack.nginx_url}/api/bookings/properties")
    print(f"  API docs                : {stack.nginx_url}/api/docs")
    print(
        f"  Socket.IO               : ws://127.0.0.1:{stack.ports.nginx_socket} (and {stack.nginx_url}/socket.io/)"
    )
    print(f"  Prometheus              : {stack.prometheus_url}/  (targets: {stack.prometheus_url}/targets)")
    print(f"  Pushgateway (ETL runs)  : {stack.pushgateway_url}/")
    print(f"  dev admin               : {DEV_ADMIN_EMAIL} / {DEV_ADMIN_PASSWORD}")
    print(f"  logs                    : {stack.logs}/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack")
    parser.add_argument("command", choices=["up", "down", "status", "clean"])
    parser.add_argument("--no-services", action="store_true", help="start only the servers")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where data, logs and pids live")
    args = parser.parse_args(argv)
    root = args.root
    if args.command == "clean":
        if (root / "pids").exists():
            local_stack(root).down()
        shutil.rmtree(root, ignore_errors=True)
        print("removed .run/")
        return 0
    if args.command != "up" and not (root / "pids").exists():
        print("nothing running")
        return 0
    stack = local_stack(root)
    if args.command == "up":
        return command_up(stack, not args.no_services)
    if args.command == "down":
        stopped = stack.down()
        print(f"stopped {len(stopped)} processes" if stopped else "nothing running")
        return 0
    status = stack.status()
    for name, up in status.items():
        print(f"  {name:22} {'running' if up else 'stopped'}")
    if not status:
        print("nothing running")
    return 0


def command_up(stack: Stack, with_services: bool) -> int:
    try:
        timings = stack.up(with_services)
    except (StartupError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"stack is up in {timings['total_s']:.1f}s:")
    print_urls(stack)
    return 0
