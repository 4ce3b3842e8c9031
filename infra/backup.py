"""Logical backups of the users (PostgreSQL) and bookings (MariaDB) databases, and their restore.

The dumps are made by the same script as the Kubernetes backup CronJobs (deploy/k8s/base/backup/backup.sh),
so `make backup` exercises what runs in the cluster:

    python -m infra.backup backup  [--dir backups]   dump the local stack's (`make run`) databases
    python -m infra.backup restore [--dir backups]   load the newest dumps into the local stack

Restoring replaces the tables the dumps hold (pg_restore --clean, the dump's DROP TABLE IF EXISTS).
Passwords reach the client tools through PGPASSWORD / MYSQL_PWD, never their command lines.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKUP_SCRIPT = REPO_ROOT / "deploy" / "k8s" / "base" / "backup" / "backup.sh"
# (folder, kind for backup.sh, the variable holding the database's URL, the dump's file suffix)
DATABASES = (
    ("postgres", "postgres", "USER_DB_URL", ".dump"),
    ("mariadb", "mariadb", "BOOKING_DB_URL", ".sql.gz"),
)


class BackupError(RuntimeError):
    """A dump or a restore did not complete."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parsed = make_url(url)
        return cls(
            parsed.host or "127.0.0.1", int(parsed.port or 0), parsed.username or "", parsed.password or "",
            parsed.database or "",
        )  # fmt: skip


def backup(env: Mapping[str, str], directory: Path) -> list[Path]:
    """Dump both databases into `directory`/{postgres,mariadb}; returns the new files."""
    made = []
    for folder, kind, variable, suffix in DATABASES:
        target = directory / folder
        before = set(target.glob(f"*{suffix}"))
        _run(
            ["bash", str(BACKUP_SCRIPT), kind, variable],
            {**os.environ, variable: env[variable], "BACKUP_DIR": str(target)},
        )
        made += sorted(set(target.glob(f"*{suffix}")) - before)
    return made


def newest(directory: Path, suffix: str) -> Path:
    dumps = sorted(directory.glob(f"*{suffix}"))
    if not dumps:
        raise BackupError(f"no *{suffix} dump in {directory}")
    return dumps[-1]


def restore(directory: Path, env: Mapping[str, str]) -> list[Path]:
    """Load the newest PostgreSQL and MariaDB dumps under `directory` into the databases of `env`."""
    users, bookings = Endpoint.from_url(env["USER_DB_URL"]), Endpoint.from_url(env["BOOKING_DB_URL"])
    pg_dump = newest(directory / "postgres", ".dump")
    _run(
        ["pg_restore", "--host", users.host, "--port", str(users.port), "--username", users.user,
         "--dbname", users.database, "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", str(pg_dump)],
        {**os.environ, "PGPASSWORD": users.password},
    )  # fmt: skip
    sql_dump = newest(directory / "mariadb", ".sql.gz")
    with gzip.open(sql_dump, "rb") as sql:
        _run(
            ["mariadb", "--host", bookings.host, "--port", str(bookings.port), "--user", bookings.user,
             "--skip-ssl", bookings.database],
            {**os.environ, "MYSQL_PWD": bookings.password}, stdin=sql.read(),
        )  # fmt: skip
    return [pg_dump, sql_dump]


def _run(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed (make system)")
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, timeout=600, check=False)
    if result.returncode != 0:
        raise BackupError(f"{' '.join(argv[:2])} failed: {result.stderr.decode(errors='replace')[-500:]}")


def local_stack_env() -> dict[str, str]:
    """The database URLs of the stack `make run` started (its passwords are kept under .run/)."""
    from infra.ports import Ports
    from infra.stack import DEFAULT_ROOT, Stack

    if not (DEFAULT_ROOT / "stack.json").exists():
        raise BackupError("no local stack under .run/ (make run)")
    return Stack(DEFAULT_ROOT, Ports.local()).env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.backup")
    parser.add_argument("command", choices=("backup", "restore"))
    parser.add_argument("--dir", type=Path, default=REPO_ROOT / "backups", help="where the dumps live")
    args = parser.parse_args(argv)
    try:
        env = local_stack_env()
        files = backup(env, args.dir) if args.command == "backup" else restore(args.dir, env)
    except BackupError as exc:
        print(f"{args.command} failed: {exc}", file=sys.stderr)
        return 1
    for path in files:
        print(f"{'wrote' if args.command == 'backup' else 'restored'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
