"""Debian packages the local stack needs beyond the machine's defaults; installed when running as root."""

from __future__ import annotations

import shutil
import subprocess
import sys

# binary that must exist -> Debian package that provides it
REQUIRED = {
    "nginx": "nginx-light",
    "redis-server": "redis-server",
    "mariadbd": "mariadb-server",
    # backups (infra/backup.py, the backup CronJobs' script)
    "pg_dump": "postgresql-client",
    "pg_restore": "postgresql-client",
    "mariadb-dump": "mariadb-client",
    # observability (infra/observability.py): Prometheus (+ promtool), the Pushgateway, the exporters
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "prometheus-postgres-exporter": "prometheus-postgres-exporter",
    "prometheus-mysqld-exporter": "prometheus-mysqld-exporter",
    "prometheus-redis-exporter": "prometheus-redis-exporter",
    "prometheus-nginx-exporter": "prometheus-nginx-exporter",
    # the realtime watchdog cuts a frozen instance's connections with `ss -K`
    "ss": "iproute2",
}
OPTIONAL = {"chromium": "chromium"}


def missing(binaries: dict[str, str]) -> list[str]:
    return sorted(
        {
            package
            for binary, package in binaries.items()
            if not shutil.which(binary) and not shutil.which(binary, path="/usr/sbin:/usr/bin")
        }
    )


def apt_install(packages: list[str]) -> bool:
    env_cmd = ["env", "DEBIAN_FRONTEND=noninteractive"]
    install = [*env_cmd, "apt-get", "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(install, capture_output=True).returncode == 0:
        return True
    subprocess.run([*env_cmd, "apt-get", "update", "-q"], capture_output=True)
    return subprocess.run(install).returncode == 0


def ensure(binaries: dict[str, str]) -> int:
    packages = missing(binaries)
    if not packages:
        return 0
    import os

    if os.geteuid() != 0:
        print(f"missing packages; run: sudo apt-get install -y {' '.join(packages)}", file=sys.stderr)
        return 1
    print(f"installing {' '.join(packages)} ...")
    return 0 if apt_install(packages) else 1


if __name__ == "__main__":
    wanted = dict(REQUIRED)
    if "--browser" in sys.argv:
        wanted.update(OPTIONAL)
    sys.exit(ensure(wanted))
