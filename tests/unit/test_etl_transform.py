"""ETL row transforms (the booking fact transform is SQL: see tests/integration), upsert SQL, settings and schedule parsing: pure functions, no servers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from common.settings import ConfigurationError
from etl_service.extract import Watermark, booking_line_watermark
from etl_service.load import DIM_DATE, FACT_BOOKING
from etl_service.reports import ReportRow, format_table
from etl_service.schedule import build_scheduler, cron_trigger
from etl_service.settings import EtlSettings
from etl_service.transform import DIM_USER_COLUMNS, SourceUser, date_dimension, naive_utc, user_dimension


def test_aware_timestamps_become_naive_utc():
    paris = dt.timezone(dt.timedelta(hours=2))
    assert naive_utc(dt.datetime(2024, 1, 1, 2, 30, tzinfo=paris)) == dt.datetime(2024, 1, 1, 0, 30)
    assert naive_utc(dt.datetime(2024, 1, 1, 2, 30)) == dt.datetime(2024, 1, 1, 2, 30)


def test_booking_watermark_is_the_lines_updated_at_and_id():
    line = "42\t3\t2\t2024-10-10\t2024-10-15\tconfirmed\t120.00\t600.00\t2024-09-30 22:00:00.000000\t"
    line += "2024-10-01 08:00:00.123456"
    assert booking_line_watermark(line) == Watermark(dt.datetime(2024, 10, 1, 8, 0, 0, 123456), 42)


def test_user_dimension_carries_no_email_or_password_hash():
    user = SourceUser(4, "john", "host", dt.datetime(2024, 5, 1, tzinfo=dt.UTC), dt.datetime(2024, 6, 1))
    assert set(DIM_USER_COLUMNS).isdisjoint({"email", "password_hash"})
    assert user_dimension(user) == (4, "john", "host", dt.date(2024, 5, 1), dt.datetime(2024, 6, 1))


def test_date_dimension_spans_inclusive_range_with_calendar_attributes():
    days = list(date_dimension(dt.date(2024, 2, 28), dt.date(2024, 3, 2)))
    assert [d[0] for d in days] == [20240228, 20240229, 20240301, 20240302]
    _key, _day, year, quarter, month, dom, weekday, weekend, month_start = days[-1]
    assert (year, quarter, month, dom, weekday, weekend, month_start) == (
        2024,
        1,
        3,
        2,
        6,
        True,
        dt.date(2024, 3, 1),
    )


def test_upsert_rewrites_only_changed_rows_and_calendar_never_rewrites():
    sql = FACT_BOOKING.upsert_sql
    assert "ON CONFLICT (booking_id) DO UPDATE SET" in sql
    assert "IS DISTINCT FROM" in sql and "booking_id = EXCLUDED.booking_id" not in sql
    assert "FROM stage_fact_booking" in sql  # the fact is transformed in SQL from the raw stage
    assert DIM_DATE.upsert_sql.endswith("ON CONFLICT (date_key) DO NOTHING")


def test_settings_read_users_from_the_first_replica_only():
    settings = EtlSettings(user_db_replica_urls="postgresql://r1/users, postgresql://r2/users")
    assert settings.user_db_url == "postgresql://r1/users"
    with pytest.raises(ConfigurationError):
        EtlSettings(user_db_replica_urls=" , ")
    with pytest.raises(ConfigurationError):
        EtlSettings(batch_size=0)


def test_cron_expression_is_parsed_and_invalid_ones_refused():
    trigger = cron_trigger("30 2 * * 1")
    after = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)  # a Thursday
    assert trigger.get_next_fire_time(None, after) == dt.datetime(2026, 11, 30, 2, 30, tzinfo=dt.UTC)
    sunday = cron_trigger("0 3 * * 0").get_next_fire_time(None, after)
    assert sunday == dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.UTC)
    weekdays = cron_trigger("0 3 * * 1-5").get_next_fire_time(None, after)
    assert weekdays == dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)
    for invalid in ("not a cron", "61 * * * *", "* * * *", "0 3 * * 9"):
        with pytest.raises(ConfigurationError):
            cron_trigger(invalid)


def test_scheduler_never_starts_two_runs_at_once():
    [job] = build_scheduler(EtlSettings(etl_schedule="*/5 * * * *")).get_jobs()
    assert (job.max_instances, job.coalesce) == (1, True)


def test_report_table_shows_occupancy_and_truncates_to_the_limit():
    rows = [ReportRow(1, "Cabin", dt.date(2024, 2, 1), 3, 1, 14, 29, Decimal("1234.5"))] * 3
    text = format_table(rows, limit=2)
    assert "Cabin" in text and "2024-02" in text and "48.3%" in text and "1,234.50" in text
    assert text.endswith("... 1 more rows in the CSV")


def test_calendar_reaches_the_last_representable_day_without_overflowing():
    days = list(date_dimension(dt.date(9999, 12, 30), dt.date.max))
    assert [row[0] for row in days] == [99991230, 99991231]
