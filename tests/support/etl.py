"""ETL test support: source writers, a warehouse reader, the CLI runner and the fixtures built on them.

Registered as a pytest plugin in tests/conftest.py, so `sources` and `warehouse` serve every ETL suite.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_service.settings import EtlSettings

REPO = Path(__file__).resolve().parents[2]
# Bookings written straight into MariaDB belong to ids no registered user can have: the session stack is
# shared, and a real user must never find a synthetic booking in `GET /api/bookings/mine`.
SYNTHETIC_USER_IDS = 900_000_000
STAR_TABLES = {
    "fact_booking": "booking_id",
    "dim_user": "user_id",
    "dim_property": "property_id",
    "dim_date": "date_key",
    "etl_watermark": "source",
}


def etl_settings(stack, **overrides) -> EtlSettings:
    env = stack.env
    return EtlSettings(
        booking_db_url=env["BOOKING_DB_URL"],
        user_db_replica_urls=env["USER_DB_REPLICA_URLS"],
        warehouse_db_url=env["WAREHOUSE_DB_URL"],
        **overrides,
    )


def run_cli(stack, *args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING", **env_overrides}
    return subprocess.run(
        [sys.executable, "-m", "etl_service", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


class Sources:
    """Seeds MariaDB directly and computes the reference totals from it."""

    def __init__(self, booking_url: str) -> None:
        self.engine = sa.create_engine(booking_url, pool_pre_ping=True, connect_args={"ssl_disabled": True})

    def add_property(self, price: int = 100) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.text(
                    "INSERT INTO properties (name, location, price_per_night, availability) "
                    "VALUES (:name, 'Warehouse, WH', :price, 1)"
                ),
                {"name": f"etl-{uuid.uuid4().hex[:10]}", "price": price},
            )
            return int(result.lastrowid)

    def add_bookings(self, property_ids: list[int], count: int, seed: int) -> list[int]:
        rng = random.Random(seed)
        rows = []
        for _ in range(count):
            start = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(400))
            nights = rng.randint(1, 14)
            price = Decimal(rng.randint(50, 500))
            rows.append({
                "u": SYNTHETIC_USER_IDS + rng.randint(1, 10_000), "p": rng.choice(property_ids), "s": start,
                "e": start + dt.timedelta(days=nights), "price": price, "total": price * nights,
                "c": dt.datetime(2024, 12, 1) + dt.timedelta(minutes=rng.randrange(500_000)),
            })  # fmt: skip
        with self.engine.begin() as conn:
            first = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM bookings")).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO bookings (user_id, property_id, start_date, end_date, status, "
                    "price_per_night, total_price, created_at) "
                    "VALUES (:u, :p, :s, :e, 'confirmed', :price, :total, :c)"
                ),
                rows,
            )
            ids = conn.execute(
                sa.text("SELECT id FROM bookings WHERE id > :first AND property_id IN :props ORDER BY id"),
                {"first": first, "props": tuple(property_ids)},
            ).scalars()
            return list(ids)

    def cancel(self, booking_ids: list[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE bookings SET status = 'cancelled' WHERE id IN :ids"),
                {"ids": tuple(booking_ids)},
            )

    def totals(self, property_ids: list[int]) -> dict:
        sql = sa.text(
            "SELECT property_id, DATE_FORMAT(start_date, '%Y-%m'), COUNT(*), "
            "SUM(DATEDIFF(end_date, start_date)), "
            "SUM(CASE WHEN status = 'cancelled' THEN 0 ELSE total_price END), "
            "SUM(status = 'cancelled') FROM bookings WHERE property_id IN :props GROUP BY 1, 2"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sql, {"props": tuple(property_ids)}).all()
        return {(r[0], r[1]): (int(r[2]), int(r[3]), Decimal(r[4]), int(r[5])) for r in rows}


class Warehouse:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def totals(self, property_ids: list[int]) -> dict:
        sql = sa.text(
            "SELECT property_id, to_char(stay_month, 'YYYY-MM'), count(*), sum(nights), sum(revenue), "
            "count(*) FILTER (WHERE status = 'cancelled') "
            "FROM fact_booking WHERE property_id = ANY(:props) GROUP BY 1, 2"
        )
        with self.engine.connect() as conn:
            rows = conn.execute(sql, {"props": list(property_ids)}).all()
        return {(r[0], r[1]): (int(r[2]), int(r[3]), Decimal(r[4]), int(r[5])) for r in rows}

    def checksums(self) -> dict[str, tuple[int, str]]:
        result = {}
        with self.engine.connect() as conn:
            for table, key in STAR_TABLES.items():
                digest = f"md5(coalesce(string_agg(t::text, '|' ORDER BY {key}), ''))"
                sql = f"SELECT count(*), {digest} FROM {table} t"
                count, digest = conn.exec_driver_sql(sql).one()
                result[table] = (count, digest)
        return result

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()


@pytest.fixture(scope="module")
def sources(stack):
    s = Sources(stack.env["BOOKING_DB_URL"])
    yield s
    s.engine.dispose()


@pytest.fixture(scope="module")
def warehouse(stack):
    migrated = run_cli(stack, "migrate")  # the stack migrates too; this is idempotent
    assert migrated.returncode == 0, migrated.stderr
    w = Warehouse(stack.env["WAREHOUSE_DB_URL"])
    yield w
    w.engine.dispose()
