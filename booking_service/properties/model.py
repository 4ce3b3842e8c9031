"""Properties as the rules see them: a listing, a host's date block, the search and calendar inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


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


def today() -> dt.date:
    """The platform's "today": UTC (a time zone per property is still to come)."""
    return dt.datetime.now(dt.UTC).date()
