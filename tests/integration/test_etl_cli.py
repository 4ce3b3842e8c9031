"""`python -m etl_service` on the real stack: run lock, warehouse down, report files, scheduled job.
Real MariaDB, PostgreSQL replica and warehouse; nothing is mocked."""

from __future__ import annotations

import csv
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from decimal import Decimal

import psycopg
from sqlalchemy.engine import make_url

from etl_service.pipeline import RUN_LOCK_KEY
from etl_service.schedule import scheduled_run
from tests.support.etl import REPO, etl_settings, run_cli


def warehouse_conninfo(stack) -> str:
    return make_url(stack.env["WAREHOUSE_DB_URL"]).set(drivername="postgresql").render_as_string(False)


def test_second_run_while_one_holds_the_lock_exits_busy_and_loads_nothing(stack, sources, warehouse):
    properties = [sources.add_property()]
    assert run_cli(stack, "run").returncode == 0
    sources.add_bookings(properties, 5, seed=11)
    with psycopg.connect(warehouse_conninfo(stack), autocommit=True) as holder:
        assert holder.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()[0]
        busy = run_cli(stack, "run")
    assert busy.returncode == 75
    assert "another ETL run is in progress" in busy.stderr
    assert warehouse.totals(properties) == {}
    assert run_cli(stack, "run").returncode == 0
    assert warehouse.totals(properties) == sources.totals(properties)


def test_progress_bar_only_on_a_terminal(stack, sources):
    sources.add_bookings([sources.add_property()], 3, seed=14)
    piped = run_cli(stack, "run")
    assert piped.returncode == 0 and "%|" not in piped.stderr
    sources.add_bookings([sources.add_property()], 3, seed=15)
    env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING"}
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120-column terminal
    with subprocess.Popen([sys.executable, "-m", "etl_service", "run"], cwd=REPO, env=env,
                          stdout=subprocess.DEVNULL, stderr=terminal) as child:  # fmt: skip
        os.close(terminal)
        shown = _read_all(controller)
    assert child.returncode == 0
    assert "fact_booking" in shown and "%|" in shown and "rows" in shown


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode(errors="replace")


def test_warehouse_down_exits_non_zero_with_a_clear_message(stack):
    url = make_url(stack.env["WAREHOUSE_DB_URL"]).set(port=1).render_as_string(False)
    failed = run_cli(stack, "run", WAREHOUSE_DB_URL=url)
    assert failed.returncode == 1
    assert "warehouse is unavailable" in failed.stderr and "Traceback" not in failed.stderr


def test_invalid_cron_expression_is_refused_before_scheduling(stack):
    refused = run_cli(stack, "schedule", ETL_SCHEDULE="61 * * * *")
    assert refused.returncode == 2
    assert "ETL_SCHEDULE is not a valid cron expression" in refused.stderr


def test_scheduled_job_loads_changes(stack, sources, warehouse):
    properties = [sources.add_property()]
    sources.add_bookings(properties, 7, seed=12)
    scheduled_run(etl_settings(stack))
    assert warehouse.totals(properties) == sources.totals(properties)


def test_report_prints_table_and_writes_csv_and_png_matching_the_warehouse(
    stack, sources, warehouse, tmp_path
):
    properties = [sources.add_property(), sources.add_property()]
    sources.add_bookings(properties, 60, seed=13)
    assert run_cli(stack, "run").returncode == 0

    report = run_cli(stack, "report", "--out", str(tmp_path), "--limit", "100000")
    assert report.returncode == 0, report.stderr
    assert "occ." in report.stdout and "revenue" in report.stdout
    with (tmp_path / "occupancy_revenue.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["property_id"]) in properties]
    expected = sources.totals(properties)
    by_cell = {(int(r["property_id"]), r["month"]): r for r in rows}
    for (prop, month), (bookings, _nights, revenue, cancelled) in expected.items():
        cell = by_cell[(prop, month)]
        assert (int(cell["bookings"]), Decimal(cell["revenue"])) == (bookings, revenue)
        assert int(cell["cancellations"]) == cancelled
    assert all(0 <= float(r["occupancy"]) <= 1 for r in rows if int(r["booked_nights"]) < 28)
    png = (tmp_path / "occupancy_revenue.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
