"""Register a service instance in Consul for the lifetime of its server process.

    python -m service_discovery run --service user_service --port 8000 -- gunicorn ... 'app:create_app()'
    python -m service_discovery register --service NAME --address A --port P
    python -m service_discovery deregister --service NAME --address A --port P

`run` is what Dockerfile entrypoints use: it registers, starts the server, forwards SIGTERM/SIGINT to it
and deregisters when it exits. With DISCOVERY_BACKEND=static it only runs the command.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from service_discovery.consul import ConsulRegistry
from service_discovery.registry import Instance

log = logging.getLogger("service_discovery")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service_discovery")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("register", "deregister", "run"):
        sub = commands.add_parser(name)
        sub.add_argument(
            "--service", default=os.environ.get("SERVICE_NAME"), required=not os.environ.get("SERVICE_NAME")
        )
        sub.add_argument("--address", default=os.environ.get("SERVICE_ADDRESS") or socket.gethostname())
        sub.add_argument("--port", type=int, default=int(os.environ.get("SERVICE_PORT", "8000")))
        sub.add_argument("--consul-host", default=os.environ.get("CONSUL_HOST", "127.0.0.1"))
        sub.add_argument("--consul-port", type=int, default=int(os.environ.get("CONSUL_PORT", "8500")))
        if name == "run":
            sub.add_argument("cmd", nargs=argparse.REMAINDER, help="-- then the server command")
    return parser


def run_registered(
    registry: ConsulRegistry | None, service: str, instance: Instance, cmd: Sequence[str]
) -> int:
    """Start `cmd`, registered while it lives; SIGTERM/SIGINT are passed on to it."""
    child = subprocess.Popen(list(cmd))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda sig, _frame: child.send_signal(sig))
    if registry is not None:
        registry.register(service, instance)
        log.info("registered %s at %s", service, instance.base_url)
    try:
        return child.wait()
    finally:
        if registry is not None:
            _deregister_quietly(registry, service, instance)


def _deregister_quietly(registry: ConsulRegistry, service: str, instance: Instance) -> None:
    try:
        registry.deregister(service, instance)
        log.info("deregistered %s at %s", service, instance.base_url)
    except Exception as exc:  # the agent's deregister-critical-after cleans up anyway
        log.warning("could not deregister %s: %s", service, exc)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    instance = Instance(address=args.address, port=args.port)
    use_consul = os.environ.get("DISCOVERY_BACKEND", "consul").lower() == "consul"
    registry = ConsulRegistry(args.consul_host, args.consul_port) if use_consul else None
    if args.command == "run":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            raise SystemExit("run needs a command after --")
        return run_registered(registry, args.service, instance, cmd)
    if registry is None:
        raise SystemExit("register/deregister need DISCOVERY_BACKEND=consul")
    if args.command == "register":
        registry.register(args.service, instance)
    else:
        registry.deregister(args.service, instance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
