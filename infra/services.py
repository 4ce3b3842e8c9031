"""The Python service processes of a stack: what they run and the environment they get."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from common.identity import TOKEN_ISSUER
from infra.ports import Ports
from infra.serve import CPU_CORES, blocking_threads

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_ADMIN_EMAIL = "admin@example.com"
DEV_ADMIN_PASSWORD = "admin-dev-password"
MAIL_SINK_PORT = 8025  # `make run`'s local SMTP sink (infra/mailsink.py); test stacks send no mail


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    app: str
    worker_class: str = "gthread"
    migrate_package: str | None = None


SERVICES = (
    ServiceSpec("user_service", "user_service", worker_class="granian", migrate_package="user_service"),
    ServiceSpec(
        "booking_service", "booking_service", worker_class="granian", migrate_package="booking_service"
    ),
    ServiceSpec("booking_realtime", "booking_service.realtime:create_app()", worker_class="gevent"),
    ServiceSpec("gateway", "gateway", worker_class="granian"),
    # The read-only reports app of the warehouse (admin-only, behind the gateway at /api/reports/).
    ServiceSpec("etl_reports", "etl_service", worker_class="granian"),
)


def available_services() -> list[ServiceSpec]:
    return list(SERVICES)


@dataclass(frozen=True)
class StackSecrets:
    """What a stack generates once under its root, one file per secret (mode 0600)."""

    secret_key: str
    mariadb_password: str
    postgres_password: str
    redis_password: str

    @classmethod
    def remembered(cls, root: Path) -> StackSecrets:
        """The secrets kept under `root`, each made on first use, so a stack restarted on the same root
        finds its stores' passwords unchanged."""
        return cls(**{field.name: _remembered(root / field.name) for field in fields(cls)})


def _remembered(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def base_env(ports: Ports, keys_dir: Path, env_name: str, stack_secrets: StackSecrets) -> dict[str, str]:
    """The environment every service process of this stack shares (see docs/CONVENTIONS.md)."""
    cluster = ",".join(f"127.0.0.1:{port}" for port in ports.cluster)
    postgres = f"postgresql+psycopg://postgres:{stack_secrets.postgres_password}@127.0.0.1"
    return {
        "ENV": env_name,
        "LOG_LEVEL": "INFO",
        "SECRET_KEY": stack_secrets.secret_key,
        "JWT_ISSUER": TOKEN_ISSUER,
        "JWT_PUBLIC_KEY_FILE": str(keys_dir / "jwt_public.pem"),
        "USER_DB_URL": f"{postgres}:{ports.postgres_primary}/users",
        "USER_DB_REPLICA_URLS": f"{postgres}:{ports.postgres_replica}/users",
        "WAREHOUSE_DB_URL": f"{postgres}:{ports.warehouse}/warehouse",
        "BOOKING_DB_URL": f"mysql+pymysql://app:{stack_secrets.mariadb_password}@127.0.0.1:{ports.mariadb}/bookings",
        "REDIS_CLUSTER_NODES": cluster,
        "REDIS_CLUSTER_PASSWORD": stack_secrets.redis_password,
        "REDIS_URL": f"redis://:{stack_secrets.redis_password}@127.0.0.1:{ports.redis}/0",
        "USER_SERVICE_URLS": urls(ports.services["user_service"]),
        "BOOKING_SERVICE_URLS": urls(ports.services["booking_service"]),
        "REPORTS_SERVICE_URLS": urls(ports.services["etl_reports"]),
        "DISCOVERY_BACKEND": "static",
        "CORS_ORIGINS": f"http://127.0.0.1:{ports.nginx_http},http://localhost:{ports.nginx_http}",
        "PUBLIC_URL": f"http://127.0.0.1:{ports.nginx_http}",
        **({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(MAIL_SINK_PORT)} if env_name == "development" else {}),
    }


def urls(ports: tuple[int, ...]) -> str:
    return ",".join(f"http://127.0.0.1:{port}" for port in ports)


def service_env(
    spec: ServiceSpec,
    instance: int,
    port: int,
    shared: dict[str, str],
    keys_dir: Path,
    workers: int,
    threads: int,
    instances: int = 1,
) -> dict[str, str]:
    env = {
        **shared,
        "SERVICE_NAME": spec.name,
        "SERVICE_INSTANCE": str(instance),
        "SERVICE_ADDRESS": "127.0.0.1",
        "SERVICE_PORT": str(port),
        "BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1" if spec.worker_class == "gevent" else str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_WORKER_CLASS": spec.worker_class,
        "HTTP_WORKERS": str(workers),
        "HTTP_THREADS": str(blocking_threads(spec.app, threads)),
    }
    cores = cores_for(instance, instances, sorted(os.sched_getaffinity(0)))
    if spec.worker_class == "granian" and cores:
        env[CPU_CORES] = ",".join(map(str, cores))
    if spec.name == "user_service":
        env["JWT_PRIVATE_KEY_FILE"] = str(keys_dir / "jwt_private.pem")
    return env


def cores_for(instance: int, instances: int, cores: list[int]) -> list[int]:
    """The cores instance `instance` of `instances` runs on: the instances share the cores out evenly, each
    core to one instance while there are more cores than instances, and the instances round-robin over the
    cores while there are more instances. [] (anywhere) for a single instance or a single core."""
    if instances < 2 or len(cores) < 2:
        return []
    if instances >= len(cores):
        return [cores[instance % len(cores)]]
    return [core for position, core in enumerate(cores) if position % instances == instance % instances]


def server_argv(spec: ServiceSpec) -> list[str]:
    """HTTP services on granian (infra/serve.py), the Socket.IO process on gunicorn's gevent worker."""
    if spec.worker_class == "granian":
        return [sys.executable, "-m", "infra.serve", spec.app]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(REPO_ROOT / "infra" / "gunicorn_conf.py"),
        "--no-control-socket",
        spec.app,
    ]


def migrate_argv(package: str) -> list[str]:
    return [sys.executable, "-m", package, "migrate"]


def create_admin_argv() -> list[str]:
    return [
        sys.executable,
        "-m",
        "user_service",
        "create-admin",
        "--email",
        DEV_ADMIN_EMAIL,
        "--password",
        DEV_ADMIN_PASSWORD,
        "--username",
        "admin",
    ]


def realtime_watchdog_argv() -> list[str]:
    return [sys.executable, "-m", "booking_service.realtime.watchdog"]


def etl_schedule_argv() -> list[str]:
    return [sys.executable, "-m", "etl_service", "schedule"]
