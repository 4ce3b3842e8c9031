"""Pure row transforms: source rows in, warehouse rows out (no I/O, unit-tested).

PII policy: dim_user keeps id, username, role and signup date. No report needs the email, so it is
never extracted; password hashes are never selected at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

CANCELLED = "cancelled"
ZERO = Decimal("0.00")


class SourceBooking(NamedTuple):
    id: int
    user_id: int
    property_id: int
    start_date: date
    end_date: date
    status: str
    price_per_night: Decimal
    total_price: Decimal | None
    created_at: datetime
    updated_at: datetime


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


def booking_fact(row: SourceBooking) -> tuple[Any, ...]:
    """One fact row: nights, revenue (0 when cancelled), stay month, lead time in days."""
    nights = (row.end_date - row.start_date).days
    total = row.total_price if row.total_price is not None else row.price_per_night * nights
    cancelled = row.status == CANCELLED
    created_at = naive_utc(row.created_at)
    updated_at = naive_utc(row.updated_at)
    return (
        row.id,
        row.user_id,
        row.property_id,
        date_key(row.start_date),
        date_key(row.end_date),
        date_key(created_at.date()),
        row.start_date.replace(day=1),
        row.status,
        nights,
        row.price_per_night,
        total,
        ZERO if cancelled else total,
        (row.start_date - created_at.date()).days,
        created_at,
        updated_at if cancelled else None,
        updated_at,
    )


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
        day += timedelta(days=1)


def date_span(facts: Iterable[tuple[Any, ...]]) -> tuple[date, date] | None:
    """The first and last calendar day a batch of fact rows refers to (check-in, check-out, created)."""
    keys = [key for fact in facts for key in (fact[3], fact[4], fact[5])]
    if not keys:
        return None
    return _key_to_date(min(keys)), _key_to_date(max(keys))


def _key_to_date(key: int) -> date:
    return date(key // 10000, key // 100 % 100, key % 100)
