"""Properties as the rules see them: a listing, a host's date block, the search and calendar inputs."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

DEFAULT_TIME_ZONE = "UTC"  # existing listings, and new ones that name none
MAX_TIME_ZONE_NAME = 64  # the time_zone column
BOOKING_HORIZON_DAYS = 730  # no stay or block lies further ahead of the property's today than this
CALENDAR_DAYS = 365  # a calendar asked for without dates shows this many days from the property's today
# Civil time on Earth runs from UTC-12 to UTC+14: every property's today lies within these offsets of UTC.
WESTMOST, EASTMOST = dt.timedelta(hours=-12), dt.timedelta(hours=14)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Property:
    id: int
    name: str
    location: str
    price_per_night: Decimal
    availability: bool
    owner_id: int | None = None
    description: str | None = None
    max_guests: int | None = None
    time_zone: str = DEFAULT_TIME_ZONE  # IANA name; the property's dates are its local dates


@dataclass(frozen=True)
class Photo:
    """One listing photo, as its site-relative URLs (full size and thumbnail)."""

    id: str
    url: str
    thumb_url: str


@dataclass(frozen=True)
class Block:
    """Nights [start_date, end_date) the owner took off the calendar."""

    id: int
    property_id: int
    start_date: dt.date
    end_date: dt.date


@dataclass(frozen=True)
class PropertyFilters:
    location: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    available: bool | None = None
    free_from: dt.date | None = None
    free_to: dt.date | None = None
    guests: int | None = None
    sort: str = "id"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class PropertyFields:
    """Validated attribute values of a create or a partial update (keys are `Property` field names)."""

    values: Mapping[str, Any]


@dataclass(frozen=True)
class DateWindow:
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Calendar:
    property_id: int
    window: DateWindow
    taken: list[tuple[dt.date, dt.date]]  # booked or blocked ranges, in start order
    blocks: list[Block]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_today(time_zone: str, now: dt.datetime) -> dt.date:
    """The date on the property's wall calendar at the instant `now` (an aware datetime)."""
    return now.astimezone(zoneinfo.ZoneInfo(time_zone)).date()


def todays_on_earth(now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The earliest and the latest "today" of any property at `now` (UTC-12 and UTC+14): the bounds an
    input can be checked against before anyone knows which property it is for."""
    utc = now.astimezone(dt.UTC)
    return (utc + WESTMOST).date(), (utc + EASTMOST).date()


@functools.cache
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    """An IANA time zone name the tz database knows ("Europe/Lisbon", "UTC"); never a file path."""
    return len(name) <= MAX_TIME_ZONE_NAME and name in known_time_zones()
