"""One bad source row never halts the ETL: it is quarantined (etl_quarantine, with the reason), reported
(count and ids in the run summary and log), and everything else loads. Real MariaDB, PostgreSQL replica
and warehouse; the bad rows are written straight into MariaDB, as a manual fix or an old bug would.

Bad rows are deleted from MariaDB when each test ends: other ETL tests compare the whole fact table
with the whole source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from etl_service import load
from etl_service.pipeline import run_etl
from tests.support.etl import SYNTHETIC_USER_IDS, etl_settings, run_cli

CALENDAR = "date outside the warehouse calendar (1900-01-01 to 2199-12-31)"


@pytest.fixture
def bad_rows(sources) -> Iterator[list[int]]:
    """Ids of bookings a test writes straight into MariaDB; deleted afterwards."""
    ids: list[int] = []
    yield ids
    if ids:
        with sources.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM bookings WHERE id IN :ids"), {"ids": tuple(ids)})


def insert_booking(sources, property_id: int, start: str, end: str, price: str = "100", **session) -> int:
    with sources.engine.begin() as conn:
        for name, value in session.items():
            conn.execute(sa.text(f"SET SESSION {name} = :v"), {"v": value})
        return conn.execute(
            sa.text(
                "INSERT INTO bookings (user_id, property_id, start_date, end_date, status, price_per_night, "
                "total_price, created_at) VALUES (:u, :p, :s, :e, 'confirmed', :price, :price, '2026-01-05')"
            ),
            {"u": SYNTHETIC_USER_IDS + 77, "p": property_id, "s": start, "e": end, "price": price},
        ).lastrowid


def quarantined(warehouse, booking_id: int) -> str | None:
    return warehouse.scalar(
        "SELECT reason FROM etl_quarantine WHERE source = 'bookings' AND source_id = :b", b=booking_id
    )


def in_fact(warehouse, booking_id: int) -> bool:
    return bool(warehouse.scalar("SELECT count(*) FROM fact_booking WHERE booking_id = :b", b=booking_id))


def test_a_cancelled_booking_in_year_9999_is_quarantined_and_reported_and_the_rest_loads(
    stack, sources, warehouse, bad_rows
):
    good = [sources.add_property(), sources.add_property()]
    sources.add_bookings(good, 40, seed=21)
    far = sources.add_property()
    bad_rows.append(insert_booking(sources, far, "9999-12-30", "9999-12-31"))
    sources.cancel(bad_rows)

    ran = run_cli(stack, "run")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "OverflowError" not in ran.stderr
    assert f"quarantined fact_booking ids: {bad_rows[0]}" in ran.stderr
    assert quarantined(warehouse, bad_rows[0]) == CALENDAR
    assert not in_fact(warehouse, bad_rows[0])
    assert warehouse.totals(good) == sources.totals(good)
    assert warehouse.scalar("SELECT max(date) FROM dim_date") < dt.date(2200, 1, 1)  # not stretched to 9999


def test_negative_prices_and_unreadable_dates_are_quarantined_in_a_full_run_too(
    stack, sources, warehouse, bad_rows
):
    good = [sources.add_property()]
    sources.add_bookings(good, 30, seed=22)
    negative = insert_booking(sources, good[0], "2032-03-01", "2032-03-04", price="-50")
    # A zero date, as MariaDB keeps it when a client turned strict mode off.
    zero = insert_booking(sources, good[0], "0000-00-00", "2032-04-02", sql_mode="")
    bad_rows.extend([negative, zero])

    summary = run_etl(etl_settings(stack, batch_size=16), full=True)
    assert {negative, zero} <= set(summary.tables["fact_booking"].quarantined)
    assert quarantined(warehouse, negative) == "negative price"
    assert quarantined(warehouse, zero).startswith("unreadable: ")
    assert not in_fact(warehouse, negative) and not in_fact(warehouse, zero)
    with sources.engine.begin() as conn:  # totals of the good rows only
        conn.execute(sa.text("DELETE FROM bookings WHERE id IN :ids"), {"ids": (negative, zero)})
    assert warehouse.totals(good) == sources.totals(good)


def test_a_fixed_row_loads_and_leaves_the_quarantine(stack, sources, warehouse, bad_rows):
    prop = sources.add_property()
    bad_rows.append(insert_booking(sources, prop, "9999-12-30", "9999-12-31"))
    run_etl(etl_settings(stack))
    assert quarantined(warehouse, bad_rows[0]) == CALENDAR

    with sources.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE bookings SET start_date = '2040-05-01', end_date = '2040-05-05' WHERE id = :b"),
            {"b": bad_rows[0]},
        )
    run_etl(etl_settings(stack))
    assert quarantined(warehouse, bad_rows[0]) is None
    assert in_fact(warehouse, bad_rows[0])


def test_missing_values_bad_dates_and_a_malformed_line_are_quarantined_by_the_loader(stack, warehouse):
    """Lines as the extract sends them, built here: the source's NOT NULL and CHECK constraints keep
    such rows out of MariaDB today, but the loader must not depend on that."""
    ok = "2100000001\t7\t1\t2033-01-01\t2033-01-03\tconfirmed\t10.00\t20.00\t2032-12-01 10:00:00\t2032-12-01 10:00:00"
    null_price = ok.replace("2100000001", "2100000002").replace("\t10.00\t", "\t\\N\t")
    backwards = ok.replace("2100000001", "2100000003").replace("2033-01-03", "2032-12-30")
    short = "2100000004\t7\t1\t2033-01-01"
    with warehouse.engine.connect() as conn:
        result = load.load_fact_lines(conn, [ok, null_price, backwards, short], load.Calendar(conn))
        reasons = dict(
            conn.execute(
                sa.text("SELECT source_id, reason FROM etl_quarantine WHERE source_id > 2100000000")
            ).all()
        )
        conn.rollback()
    assert (result.loaded, sorted(result.quarantined)) == (1, [2100000002, 2100000003, 2100000004])
    assert reasons[2100000002] == "missing price_per_night"
    assert reasons[2100000003] == "check-out is not after check-in"
    assert reasons[2100000004].startswith("unreadable: ")
