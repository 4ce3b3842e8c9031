"""Which real servers one stack runs, on which ports and data directories: the recipes of
infra/postgres.py and infra/servers.py put together for a `Ports` plan (infra/stack.py starts them)."""

from __future__ import annotations

from pathlib import Path

from infra import postgres
from infra import servers as srv
from infra.nginx_conf import render_local
from infra.ports import Ports
from infra.procs import running_as_root
from infra.services import StackSecrets


def infrastructure(ports: Ports, data: Path, secrets: StackSecrets) -> dict[str, srv.Server]:
    """The stores by name: PostgreSQL primary, replica and warehouse, MariaDB, Redis, the cluster's nodes."""
    p, pg_pass, redis_pass = ports, secrets.postgres_password, secrets.redis_password
    found = {
        "postgres_primary": postgres.postgres(
            "postgres_primary", data / "pg_primary", p.postgres_primary, ("users",), pg_pass
        ),
        "postgres_replica": postgres.postgres_replica(
            "postgres_replica", data / "pg_replica", p.postgres_replica, p.postgres_primary, pg_pass
        ),
        "warehouse": postgres.postgres(
            "warehouse", data / "pg_warehouse", p.warehouse, ("warehouse",), pg_pass
        ),
        "mariadb": srv.mariadb(data / "mariadb", p.mariadb, secrets.mariadb_password),
        "redis": srv.redis_server("redis", data / "redis", p.redis, redis_pass),
    }
    for i, (port, bus) in enumerate(zip(p.cluster, p.cluster_bus, strict=True)):
        found[f"redis_cluster_{i}"] = srv.redis_server(
            f"redis_cluster_{i}", data / f"redis_cluster_{i}", port, redis_pass, bus
        )
    return found


def nginx_server(prefix: Path, ports: Ports, photo_dir: Path) -> srv.Server:
    """The edge, its configuration rendered under `prefix` for these ports."""
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_local(
            prefix,
            ports.nginx_http,
            ports.nginx_socket,
            ports.services["gateway"],
            ports.services["booking_realtime"],
            running_as_root(),
            ports.observability["nginx_status"],
            photo_dir,
        )
    )
    return srv.nginx(prefix, conf, ports.nginx_http)
