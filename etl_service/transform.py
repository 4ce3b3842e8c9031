"""Transforms: source rows in, warehouse rows out.

Bookings (the big table) are transformed in SQL inside the warehouse, straight from the COPY staging
table: no per-row Python work on the hot path. Users, properties and calendar days are small and
transformed here in Python.

PII policy: dim_user keeps id, username, role and signup date. No report needs the email, so it is
never extracted; password hashes are never selected at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple


class SourceUser(NamedTuple):
    id: int
    username: str
    role: str
    created_at: datetime | None
    updated_at: datetime


FACT_BOOKING_COLUMNS = (
    "booking_id", "user_id", "property_id", "start_date_key", "end_date_key", "created_date_key",
    "stay_month", "status", "nights", "price_per_night", "total_price", "revenue", "lead_time_days",
    "created_at", "cancelled_at", "source_updated_at",
)  # fmt: skip
# Source columns, in BOOKINGS_SQL's order, as staged by COPY.
BOOKING_STAGE_COLUMNS = """
    id bigint, user_id bigint, property_id bigint, start_date date, end_date date, status text,
    price_per_night numeric(10, 2), total_price numeric(12, 2), created_at timestamp, updated_at timestamp
"""
# nights, revenue (0 when cancelled), stay month (check-in month), lead time in days, date keys.
FACT_BOOKING_SELECT = """
SELECT id, user_id, property_id,
       to_char(start_date, 'YYYYMMDD')::int, to_char(end_date, 'YYYYMMDD')::int,
       to_char(created_at, 'YYYYMMDD')::int,
       date_trunc('month', start_date)::date, status, end_date - start_date,
       price_per_night, total_price,
       CASE WHEN status = 'cancelled' THEN 0 ELSE total_price END,
       start_date - created_at::date, created_at,
       CASE WHEN status = 'cancelled' THEN updated_at END, updated_at
FROM stage_fact_booking
"""
# Every calendar day a staged batch refers to: check-in, check-out and booking days.
FACT_BOOKING_DAYS = """
SELECT least(min(start_date), min(created_at)::date), greatest(max(end_date), max(created_at)::date)
FROM stage_fact_booking
"""
# The calendar's outer bounds: a booking dated outside them is quarantined instead of stretching dim_date
# by millions of days (a stay in 9999 once overflowed Python's date and halted every run).
CALENDAR_FIRST, CALENDAR_LAST = date(1900, 1, 1), date(2199, 12, 31)
BOOKING_REQUIRED = (
    "user_id", "property_id", "start_date", "end_date", "status", "price_per_night", "total_price",
    "created_at", "updated_at",
)  # fmt: skip
_MISSING = ", ".join(f"CASE WHEN {c} IS NULL THEN '{c}' END" for c in BOOKING_REQUIRED)
# Why a staged booking cannot be loaded (NULL: it can), judged in SQL on the whole staged batch.
BOOKING_PROBLEM = f"""
CASE
  WHEN num_nulls({", ".join(BOOKING_REQUIRED)}) > 0 THEN 'missing ' || concat_ws(', ', {_MISSING})
  WHEN least(start_date, end_date, created_at::date) < DATE '{CALENDAR_FIRST}'
    OR greatest(start_date, end_date, created_at::date) > DATE '{CALENDAR_LAST}'
    THEN 'date outside the warehouse calendar ({CALENDAR_FIRST} to {CALENDAR_LAST})'
  WHEN end_date <= start_date THEN 'check-out is not after check-in'
  WHEN price_per_night < 0 OR total_price < 0 THEN 'negative price'
  WHEN status NOT IN ('confirmed', 'cancelled') THEN 'unknown status: ' || left(status, 32)
END
"""
DIM_USER_COLUMNS = ("user_id", "username", "role", "signup_date", "source_updated_at")
DIM_PROPERTY_COLUMNS = ("property_id", "name", "location", "price_per_night", "availability")
DIM_DATE_COLUMNS = (
    "date_key", "date", "year", "quarter", "month", "day", "iso_day_of_week", "is_weekend", "month_start",
)  # fmt: skip


def naive_utc(value: datetime) -> datetime:
    """Warehouse timestamps are naive UTC; aware values (PostgreSQL timestamptz) are converted."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def date_key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def user_dimension(row: SourceUser) -> tuple[Any, ...]:
    signup = naive_utc(row.created_at).date() if row.created_at is not None else None
    return (row.id, row.username, row.role, signup, naive_utc(row.updated_at))


def property_dimension(row: Any) -> tuple[Any, ...]:
    return (row.id, row.name, row.location, row.price_per_night, bool(row.availability))


def date_dimension(first: date, last: date) -> Iterator[tuple[Any, ...]]:
    """Calendar rows for every day from `first` to `last` inclusive."""
    day = first
    while day <= last:
        iso_weekday = day.isoweekday()
        yield (
            date_key(day),
            day,
            day.year,
            (day.month - 1) // 3 + 1,
            day.month,
            day.day,
            iso_weekday,
            iso_weekday >= 6,
            day.replace(day=1),
        )
        if day == date.max:  # date.max + 1 day overflows
            return
        day += timedelta(days=1)
