"""Backups of the users and bookings databases restore into fresh servers: every table's row count and
a booking made through the API come back. Real everywhere: the session stack's PostgreSQL and MariaDB,
the CronJobs' own dump script (deploy/k8s/base/backup/backup.sh, run by infra.backup), pg_restore and the
mariadb client loading into a second private stack's brand-new servers."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from infra import backup
from infra.ports import free_block
from infra.stack import Stack
from tests.support.data import insert_property
from tests.support.users import registered_user_id

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def fresh_servers() -> Iterator[Stack]:
    """A second private stack's servers only (no services): empty databases to restore into."""
    root = Path(tempfile.mkdtemp(prefix="hrp-restore-"))
    root.chmod(0o755)
    fresh = Stack(root, free_block(), env_name="test", workers=1, threads=2)
    try:
        fresh.up(with_services=False)
        yield fresh
    finally:
        fresh.down()
        shutil.rmtree(root, ignore_errors=True)


def engine(url: str) -> sa.Engine:
    args = {"ssl_disabled": True} if url.startswith("mysql") else {}
    return sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)


def row_counts(url: str) -> dict[str, int]:
    db = engine(url)
    with db.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        counts = {
            t: conn.execute(
                sa.text(f'SELECT COUNT(*) FROM "{t}"' if "postgres" in url else f"SELECT COUNT(*) FROM `{t}`")
            ).scalar_one()
            for t in tables
        }
    db.dispose()
    return counts


def booking_row(url: str, booking_id: int) -> dict:
    db = engine(url)
    with db.connect() as conn:
        row = (
            conn.execute(sa.text("SELECT * FROM bookings WHERE id = :id"), {"id": booking_id})
            .mappings()
            .one()
        )
    db.dispose()
    return dict(row)


def test_backups_restore_into_fresh_servers_with_every_row(
    stack, stack_booking_db, fresh_servers, tmp_path
) -> None:
    user_id = registered_user_id(stack)
    property_id = insert_property(stack_booking_db, "Backup Bay, BB", 123, "backup")
    start = dt.date.today() + dt.timedelta(days=60)
    stay = {"startDate": start.isoformat(), "endDate": (start + dt.timedelta(days=3)).isoformat()}
    made = requests.post(
        f"{stack.nginx_url}/api/bookings/book",
        json={"userId": user_id, "propertyId": property_id, **stay},
        headers={"Authorization": f"Bearer {stack.token(user_id)}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    booking_id = made.json()["bookingId"]
    source_users, source_bookings = (
        row_counts(stack.env["USER_DB_URL"]),
        row_counts(stack.env["BOOKING_DB_URL"]),
    )

    files = backup.backup(stack.env, tmp_path)
    assert [f.parent.name for f in files] == ["postgres", "mariadb"] and all(
        f.stat().st_size > 0 for f in files
    )
    assert all(f.stat().st_mode & 0o077 == 0 for f in files), "dumps are private to their owner"

    assert row_counts(fresh_servers.env["BOOKING_DB_URL"]) == {}, "the fresh MariaDB starts empty"
    backup.restore(tmp_path, fresh_servers.env)

    assert row_counts(fresh_servers.env["USER_DB_URL"]) == source_users
    assert row_counts(fresh_servers.env["BOOKING_DB_URL"]) == source_bookings
    assert source_users["users"] > 0 and source_bookings["bookings"] > 0
    restored = booking_row(fresh_servers.env["BOOKING_DB_URL"], booking_id)
    assert restored == booking_row(stack.env["BOOKING_DB_URL"], booking_id)
    assert (restored["user_id"], restored["property_id"]) == (user_id, property_id)


def test_restore_refuses_a_folder_without_dumps(tmp_path) -> None:
    with pytest.raises(backup.BackupError, match=r"no \*\.dump"):
        backup.restore(
            tmp_path,
            {"USER_DB_URL": "postgresql://u:p@127.0.0.1:1/x", "BOOKING_DB_URL": "mysql://u:p@127.0.0.1:1/y"},
        )
