"""Prometheus, the Pushgateway and Debian's exporters for a stack (`make run`, and test stacks that ask).

Every server here is a Debian package (`infra/system.py` installs them): `prometheus` scrapes each
service instance's `/metrics` and the exporters — `prometheus-postgres-exporter` (primary, replica,
warehouse), `prometheus-mysqld-exporter`, `prometheus-redis-exporter` (the standalone Redis, and each
Redis Cluster node through its multi-target `/scrape`), `prometheus-nginx-exporter` (nginx's private
`stub_status`) — and the `prometheus-pushgateway` the ETL pushes each run to. Passwords reach the
exporters through their environment or a mode-600 file, never their command line.
"""

from __future__ import annotations

import shutil
import signal
import urllib.request
from pathlib import Path

import yaml

from infra.ports import Ports
from infra.servers import Server
from infra.services import StackSecrets

RULES_DIR = Path(__file__).parent / "prometheus" / "rules"
EXPORTERS = ("postgres_exporter", "mysqld_exporter", "redis_exporter", "nginx_exporter")


def answers(port: int, path: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        return response.status == 200


def _local(port: int) -> str:
    return f"127.0.0.1:{port}"


def scrape_config(ports: Ports, interval: str = "15s") -> dict:
    """The scrape configuration; docker-compose's `infra/prometheus/prometheus.compose.yml` has the same
    jobs (for the exporters it runs)."""
    timeout = interval if int(interval.rstrip("s")) < 5 else "5s"
    obs = ports.observability
    jobs: list[dict] = [
        {"job_name": name, "static_configs": [{"targets": [_local(p) for p in ports.services[name]]}]}
        for name in ports.services
    ]
    for exporter in EXPORTERS:
        jobs.append(
            {
                "job_name": exporter.removesuffix("_exporter"),
                "static_configs": [{"targets": [_local(obs[exporter])]}],
            }
        )
    jobs.append(
        {
            # Each cluster node through the one exporter: `/scrape?target=...` (its multi-target mode).
            "job_name": "redis_cluster",
            "metrics_path": "/scrape",
            "static_configs": [{"targets": [f"redis://127.0.0.1:{p}" for p in ports.cluster]}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": _local(obs["redis_exporter"])},
            ],
        }
    )
    jobs.append(
        {
            "job_name": "pushgateway",
            "honor_labels": True,
            "static_configs": [{"targets": [_local(obs["pushgateway"])]}],
        }
    )
    jobs.append({"job_name": "prometheus", "static_configs": [{"targets": [_local(obs["prometheus"])]}]})
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": timeout},
        "rule_files": [str(RULES_DIR / "*.yml")],
        "scrape_configs": jobs,
    }


def _private_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def observability_servers(
    root: Path, ports: Ports, secrets: StackSecrets, scrape_interval: str = "15s"
) -> list[Server]:
    """Prometheus, the Pushgateway and the exporters of the stack at `root` (data under root/data)."""
    obs, data = ports.observability, root / "data" / "observability"
    data.mkdir(parents=True, exist_ok=True)
    config = data / "prometheus.yml"
    config.write_text(yaml.safe_dump(scrape_config(ports, scrape_interval), sort_keys=False))
    pg = secrets.postgres_password
    dsns = ",".join(
        f"postgresql://postgres:{pg}@127.0.0.1:{port}/postgres?sslmode=disable"
        for port in (ports.postgres_primary, ports.postgres_replica, ports.warehouse)
    )
    my_cnf = _private_file(
        data / "mysqld_exporter.cnf",
        f"[client]\nuser=app\npassword={secrets.mariadb_password}\nhost=127.0.0.1\nport={ports.mariadb}\n",
    )

    # Ready once listening (the landing page): a first scrape of three databases may take seconds.
    def server(name: str, argv: list[str], port: int, path: str = "/", **env: str) -> Server:
        return Server(name, argv, lambda: answers(port, path), stop_signal=signal.SIGTERM, env=env)

    def prepare_prometheus() -> None:
        # Each start begins with an empty store: the series of an earlier run of the stack are noise.
        shutil.rmtree(data / "prometheus", ignore_errors=True)

    prometheus = Server(
        "prometheus",
        [
            _binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={data / 'prometheus'}",
            f"--web.listen-address={_local(obs['prometheus'])}",
            "--storage.tsdb.retention.time=2d",
            "--log.level=warn",
        ],
        lambda: answers(obs["prometheus"], "/-/ready"),
        prepare_prometheus,
    )
    return [
        prometheus,
        server(
            "pushgateway",
            [_binary("prometheus-pushgateway"), f"--web.listen-address={_local(obs['pushgateway'])}"],
            obs["pushgateway"],
            "/-/ready",
        ),
        server(
            "postgres_exporter",
            [
                _binary("prometheus-postgres-exporter"),
                f"--web.listen-address={_local(obs['postgres_exporter'])}",
                "--disable-settings-metrics",
                # with several servers, 0.11's new collectors emit duplicate series (a 500): the per-server
                # default metrics (`server` label) are the ones we use
                "--no-collector.database",
                "--no-collector.bgwriter",
            ],
            obs["postgres_exporter"],
            DATA_SOURCE_NAME=dsns,
        ),
        server(
            "mysqld_exporter",
            [
                _binary("prometheus-mysqld-exporter"),
                f"--config.my-cnf={my_cnf}",
                # the app user has no PROCESS or replication privileges: these would only log refusals
                "--no-collect.slave_status",
                "--no-collect.info_schema.innodb_cmp",
                "--no-collect.info_schema.innodb_cmpmem",
                f"--web.listen-address={_local(obs['mysqld_exporter'])}",
            ],
            obs["mysqld_exporter"],
        ),
        server(
            "redis_exporter",
            [
                _binary("prometheus-redis-exporter"),
                f"-redis.addr=redis://127.0.0.1:{ports.redis}",
                f"-web.listen-address={_local(obs['redis_exporter'])}",
            ],
            obs["redis_exporter"],
            REDIS_PASSWORD=secrets.redis_password,
        ),
        server(
            "nginx_exporter",
            [
                _binary("prometheus-nginx-exporter"),
                f"-nginx.scrape-uri=http://127.0.0.1:{obs['nginx_status']}/stub_status",
                f"-web.listen-address={_local(obs['nginx_exporter'])}",
            ],
            obs["nginx_exporter"],
        ),
    ]


def fresh_metrics_dir(root: Path, instance: str) -> Path:
    """The instance's PROMETHEUS_MULTIPROC_DIR, emptied: the files of a previous run would be summed in."""
    directory = root / "metrics" / instance
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"
