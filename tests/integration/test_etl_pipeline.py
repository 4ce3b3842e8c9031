"""ETL end to end on the real stack: MariaDB bookings, PostgreSQL replica users, warehouse PostgreSQL.

Nothing is mocked. Each test seeds its own properties (unique names, fresh ids) and compares the
warehouse with totals computed straight from MariaDB for those properties only, so other suites
writing to the same stack cannot disturb the comparison.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl_service.pipeline import run_etl
from tests.support.etl import REPO, etl_settings, run_cli
from tests.support.faults import wait_until


@pytest.fixture
def properties(sources) -> list[int]:
    return [sources.add_property(price=90 + 10 * i) for i in range(3)]


def test_full_then_incremental_runs_match_source_totals_per_property_and_month(
    stack, sources, warehouse, properties
):
    first_ids = sources.add_bookings(properties, 300, seed=1)
    full = run_etl(etl_settings(stack, batch_size=64), full=True)
    assert full.tables["fact_booking"].loaded >= 300
    assert warehouse.totals(properties) == sources.totals(properties)

    new_ids = sources.add_bookings(properties, 40, seed=2)
    sources.cancel(new_ids[:10] + first_ids[:5])
    incremental = run_etl(etl_settings(stack, batch_size=64))
    assert incremental.tables["fact_booking"].loaded == 45  # 40 new + 5 cancelled after the full run
    totals = warehouse.totals(properties)
    assert totals == sources.totals(properties)
    assert sum(cancelled for *_, cancelled in totals.values()) == 15


def test_fact_row_has_nights_revenue_stay_month_lead_time_and_calendar_days(
    stack, sources, warehouse, properties
):
    with sources.engine.begin() as conn:
        booking_id = conn.execute(
            sa.text(
                "INSERT INTO bookings (user_id, property_id, start_date, end_date, status, price_per_night, "
                "total_price, created_at) VALUES (900000005, :p, '2031-01-29', '2031-02-03', 'confirmed', 120, 600, "
                "'2030-12-30 23:30:00')"
            ),
            {"p": properties[0]},
        ).lastrowid
    run_etl(etl_settings(stack))
    sql = (
        "SELECT start_date_key, end_date_key, created_date_key, stay_month, nights, revenue, lead_time_days, "
        "cancelled_at, (SELECT count(*) FROM dim_date WHERE date_key BETWEEN 20301230 AND 20310203) "
        "FROM fact_booking WHERE booking_id = :b"
    )
    with warehouse.engine.connect() as conn:
        row = conn.execute(sa.text(sql), {"b": booking_id}).one()
    assert tuple(row) == (
        20310129, 20310203, 20301230, dt.date(2031, 1, 1), 5, Decimal("600.00"), 30, None, 36,
    )  # fmt: skip


def test_warehouse_holds_no_email_or_password_hash(stack, warehouse):
    run_etl(etl_settings(stack))
    assert warehouse.scalar("SELECT count(*) FROM dim_user") > 0
    leaked = warehouse.scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
        "AND (column_name LIKE '%email%' OR column_name LIKE '%password%')"
    )
    assert leaked == 0


def test_cancellation_updates_the_existing_fact_row(stack, sources, warehouse, properties):
    [booking_id] = sources.add_bookings(properties[:1], 1, seed=4)
    run_etl(etl_settings(stack))
    assert warehouse.scalar("SELECT revenue FROM fact_booking WHERE booking_id = :b", b=booking_id) > 0

    sources.cancel([booking_id])
    run_etl(etl_settings(stack))
    with warehouse.engine.connect() as conn:
        status, revenue, cancelled_at, total = conn.execute(
            sa.text(
                "SELECT status, revenue, cancelled_at, total_price FROM fact_booking WHERE booking_id = :b"
            ),
            {"b": booking_id},
        ).one()
    assert (status, revenue) == ("cancelled", Decimal("0.00"))
    assert cancelled_at is not None and total > 0
    assert warehouse.scalar("SELECT count(*) FROM fact_booking WHERE booking_id = :b", b=booking_id) == 1


def test_running_twice_in_a_row_changes_nothing(stack, sources, warehouse, properties):
    sources.add_bookings(properties, 50, seed=5)
    run_etl(etl_settings(stack))
    before = warehouse.checksums()
    again = run_etl(etl_settings(stack))
    assert warehouse.checksums() == before
    assert all(stats.loaded == 0 for stats in again.tables.values()), again.tables


def test_run_killed_mid_batch_then_rerun_gives_the_source_totals(
    stack, sources, warehouse, properties, tmp_path
):
    sources.add_bookings(properties, 400, seed=6)
    marker = tmp_path / "paused"
    user_batches = -(-replica_user_count(stack) // 50)
    pause_at = user_batches + 3  # the third booking batch: two are committed when we kill
    env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING", "BATCH_SIZE": "50"}
    paused = ["-m", "tests.support.etl_paused", str(pause_at), str(marker), "run", "--full"]
    process = subprocess.Popen([sys.executable, *paused], cwd=REPO, env=env)
    try:
        _wait_for(marker, process)
    finally:
        process.kill()  # SIGKILL inside the paused batch's open transaction
        process.wait(timeout=10)

    assert warehouse.scalar("SELECT count(*) FROM fact_booking") == 100  # two whole batches, no more
    newest = warehouse.scalar(
        "SELECT booking_id FROM fact_booking ORDER BY source_updated_at DESC, booking_id DESC LIMIT 1"
    )
    # The watermark committed with the last batch names exactly that batch's last row.
    assert warehouse.scalar("SELECT last_id FROM etl_watermark WHERE source = 'bookings'") == newest
    with sources.engine.connect() as conn:
        total = conn.execute(sa.text("SELECT COUNT(*) FROM bookings")).scalar_one()

    rerun = run_cli(stack, "run")
    assert rerun.returncode == 0, rerun.stderr
    assert warehouse.scalar("SELECT count(*) FROM fact_booking") == total
    assert warehouse.totals(properties) == sources.totals(properties)
    after_crash = warehouse.checksums()
    run_etl(etl_settings(stack), full=True)
    assert warehouse.checksums() == after_crash  # crash + rerun == a clean full load, byte for byte


def replica_user_count(stack) -> int:
    engine = sa.create_engine(stack.env["USER_DB_REPLICA_URLS"].split(",")[0])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    finally:
        engine.dispose()


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    paused_or_ended = wait_until(lambda: marker.exists() or process.poll() is not None, timeout, 0.05)
    assert paused_or_ended, "the ETL never reached the paused batch"
    assert process.poll() is None, "the ETL ended before reaching the paused batch"
