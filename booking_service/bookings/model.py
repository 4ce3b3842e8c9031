"""Bookings as the rules see them: the stay asked for, the booking kept, host views of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
STATUSES = (CONFIRMED, CANCELLED)


@dataclass(frozen=True)
class BookingRequest:
    user_id: int
    property_id: int
    start: dt.date
    end: dt.date
    guests: int = 1

    @property
    def nights(self) -> int:
        return (self.end - self.start).days


@dataclass(frozen=True)
class Booking:
    id: int
    user_id: int
    property_id: int
    start_date: dt.date
    end_date: dt.date
    status: str
    price_per_night: Decimal
    total_price: Decimal
    guests: int = 1
    created_at: dt.datetime | None = None
    property_name: str | None = None


@dataclass(frozen=True)
class Booked:
    """What a confirmed booking answers (and what an idempotent retry replays)."""

    booking_id: int
    total_price: Decimal


@dataclass(frozen=True)
class HostingQuery:
    """Bookings on the caller's listings (an admin: on every listing) staying within [start, end)."""

    start: dt.date | None = None
    end: dt.date | None = None
    property_id: int | None = None
    status: str | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class MonthlyEarnings:
    month: str  # YYYY-MM
    revenue: Decimal
    nights: int
    bookings: int
