"""Port plans for a stack: the fixed local ones of DESIGN.md, or a private block for tests."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass, field

from common import ports as local

CLUSTER_NODES = 6
OBSERVABILITY = ("nginx_status", "prometheus", "pushgateway", "postgres_exporter", "mysqld_exporter",
                 "redis_exporter", "nginx_exporter")  # fmt: skip
# Debian's defaults for the exporters and Prometheus; nginx's stub_status on a private port.
LOCAL_OBSERVABILITY_PORTS = (8089, 9090, 9091, 9187, 9104, 9121, 9113)


class PortInUse(RuntimeError):
    """A port the stack needs is taken by something else."""


@dataclass(frozen=True)
class Ports:
    nginx_http: int
    nginx_socket: int
    postgres_primary: int
    postgres_replica: int
    warehouse: int
    mariadb: int
    redis: int
    cluster: tuple[int, ...]
    cluster_bus: tuple[int, ...]
    services: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # nginx's private stub_status, Prometheus, the Pushgateway and the exporters (infra/observability.py)
    observability: dict[str, int] = field(default_factory=dict)

    @classmethod
    def local(cls) -> Ports:
        """DESIGN.md's table, as common/ports.py writes it (the services' default addresses)."""
        return cls(
            nginx_http=local.NGINX_HTTP,
            nginx_socket=local.NGINX_SOCKET,
            postgres_primary=local.POSTGRES_PRIMARY,
            postgres_replica=local.POSTGRES_REPLICA,
            warehouse=local.WAREHOUSE,
            mariadb=local.MARIADB,
            redis=local.REDIS,
            cluster=tuple(range(local.CLUSTER_FIRST, local.CLUSTER_FIRST + CLUSTER_NODES)),
            cluster_bus=tuple(range(local.CLUSTER_BUS_FIRST, local.CLUSTER_BUS_FIRST + CLUSTER_NODES)),
            services=dict(local.SERVICES),
            observability=dict(zip(OBSERVABILITY, LOCAL_OBSERVABILITY_PORTS, strict=True)),
        )

    @classmethod
    def block(cls, base: int) -> Ports:
        """Every port of a test stack inside [base, base + 100)."""
        return cls(
            nginx_http=base,
            nginx_socket=base + 1,
            postgres_primary=base + 50,
            postgres_replica=base + 51,
            warehouse=base + 52,
            mariadb=base + 53,
            redis=base + 54,
            cluster=tuple(range(base + 60, base + 60 + CLUSTER_NODES)),
            cluster_bus=tuple(range(base + 70, base + 70 + CLUSTER_NODES)),
            services={
                "gateway": (base + 10, base + 11),
                "user_service": (base + 20, base + 21),
                "booking_service": (base + 30, base + 31),
                "booking_realtime": (base + 40, base + 41),
                "etl_reports": (base + 45,),
            },
            observability={name: base + 80 + i for i, name in enumerate(OBSERVABILITY)},
        )

    def named(self) -> dict[str, int]:
        """Every port with the name of what wants it."""
        names = {
            "nginx http": self.nginx_http,
            "nginx socket.io": self.nginx_socket,
            "postgres primary": self.postgres_primary,
            "postgres replica": self.postgres_replica,
            "warehouse postgres": self.warehouse,
            "mariadb": self.mariadb,
            "redis standalone": self.redis,
        }
        for i, (port, bus) in enumerate(zip(self.cluster, self.cluster_bus, strict=True)):
            names[f"redis cluster node {i}"] = port
            names[f"redis cluster bus {i}"] = bus
        for service, ports in self.services.items():
            for i, port in enumerate(ports):
                names[f"{service} instance {i}"] = port
        for name, port in self.observability.items():
            names[name] = port
        return names


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def ensure_free(ports: Ports) -> None:
    for what, port in ports.named().items():
        if port_in_use(port):
            raise PortInUse(f"port {port} is already in use (wanted by {what})")


def free_block(low: int = 20000, high: int = 29900, attempts: int = 200) -> Ports:
    """A random block of 100 ports in [low, high) with every port we need free."""
    rng = random.Random()
    for _ in range(attempts):
        candidate = Ports.block(rng.randrange(low, high, 100))
        if not any(port_in_use(port) for port in candidate.named().values()):
            return candidate
    raise PortInUse(f"no free block of ports between {low} and {high}")
