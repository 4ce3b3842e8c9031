"""Free local ports for the servers a test starts by hand (the stack's own come from `infra/ports.py`)."""

from __future__ import annotations

import random
import socket

from infra.ports import port_in_use

LOW, HIGH = 20000, 29999  # the tests' private port range (README)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` consecutive ports nobody listens on, at a random place in the range (parallel runs differ)."""
    for _ in range(200):
        base = random.randrange(LOW, HIGH - count)
        ports = list(range(base, base + count))
        if not any(port_in_use(port) for port in ports):
            return ports
    raise RuntimeError(f"no {count} free ports in {LOW}-{HIGH}")


def closed_port() -> int:
    """A port nothing listens on (bound once by the kernel, then released): a server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
