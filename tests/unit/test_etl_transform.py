"""ETL transforms, upsert SQL, settings and schedule parsing: pure functions, no servers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from common.settings import ConfigurationError
from etl_service.load import DIM_DATE, FACT_BOOKING
from etl_service.reports import ReportRow, format_table
from etl_service.schedule import build_scheduler, cron_trigger
from etl_service.settings import EtlSettings
from etl_service.transform import (
    DIM_USER_COLUMNS,
    FACT_BOOKING_COLUMNS,
    SourceBooking,
    SourceUser,
    booking_fact,
    date_dimension,
    date_span,
    naive_utc,
    user_dimension,
)


def booking(status: str = "confirmed", **changes) -> SourceBooking:
    base = SourceBooking(
        id=7, user_id=3, property_id=2, start_date=dt.date(2024, 10, 10), end_date=dt.date(2024, 10, 15),
        status=status, price_per_night=Decimal("120.00"), total_price=Decimal("600.00"),
        created_at=dt.datetime(2024, 9, 30, 22, 0), updated_at=dt.datetime(2024, 10, 1, 8, 0),
    )  # fmt: skip
    return base._replace(**changes)


def fact(row: SourceBooking) -> dict:
    return dict(zip(FACT_BOOKING_COLUMNS, booking_fact(row), strict=True))


def test_confirmed_booking_has_nights_revenue_stay_month_and_lead_time():
    f = fact(booking())
    assert (f["nights"], f["revenue"], f["total_price"]) == (5, Decimal("600.00"), Decimal("600.00"))
    assert f["stay_month"] == dt.date(2024, 10, 1)
    assert f["lead_time_days"] == 10
    assert (f["start_date_key"], f["end_date_key"], f["created_date_key"]) == (20241010, 20241015, 20240930)
    assert f["cancelled_at"] is None


def test_cancelled_booking_earns_nothing_and_records_when_it_was_cancelled():
    f = fact(booking("cancelled"))
    assert f["revenue"] == Decimal("0.00")
    assert f["total_price"] == Decimal("600.00")
    assert f["cancelled_at"] == dt.datetime(2024, 10, 1, 8, 0)


def test_missing_total_price_is_nights_times_price():
    assert fact(booking(total_price=None))["revenue"] == Decimal("600.00")


def test_aware_timestamps_become_naive_utc():
    paris = dt.timezone(dt.timedelta(hours=2))
    assert naive_utc(dt.datetime(2024, 1, 1, 2, 30, tzinfo=paris)) == dt.datetime(2024, 1, 1, 0, 30)
    f = fact(booking(created_at=dt.datetime(2024, 10, 1, 1, 0, tzinfo=paris)))
    assert f["created_date_key"] == 20240930  # 23:00 UTC the day before


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


def test_date_span_covers_check_in_check_out_and_creation_days():
    rows = [booking_fact(booking()), booking_fact(booking(id=8, end_date=dt.date(2025, 1, 3)))]
    assert date_span(rows) == (dt.date(2024, 9, 30), dt.date(2025, 1, 3))
    assert date_span([]) is None


def test_upsert_rewrites_only_changed_rows_and_calendar_never_rewrites():
    sql = FACT_BOOKING.upsert_sql
    assert "ON CONFLICT (booking_id) DO UPDATE SET" in sql
    assert "IS DISTINCT FROM" in sql and "booking_id = EXCLUDED.booking_id" not in sql
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
