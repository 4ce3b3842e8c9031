"""Turns untrusted request input into typed values, or a 400 naming the offending field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from booking_service.property_repository import SORTS, PropertyFilters
from common import inputs
from common.errors import BadRequest

MAX_NIGHTS = 365
MAX_PAGE = 200
MAX_OFFSET = 10_000_000
MAX_ID = 2**31 - 1  # ids and user ids are INT columns
BOOKING_HORIZON_DAYS = 730  # no date a request names lies further ahead than this
HISTORY_DAYS = 365  # nor further back than this (searches and calendars may look into the past)
MAX_PRICE_FILTER = Decimal("99999999.99")  # the price column's range


@dataclass(frozen=True)
class BookingRequest:
    user_id: int
    property_id: int
    start: dt.date
    end: dt.date

    @property
    def nights(self) -> int:
        return (self.end - self.start).days


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def positive_int(body: Mapping[str, Any], field: str) -> int:
    if field not in body or body[field] is None:
        raise BadRequest(f"{field} is required")
    return inputs.json_int(
        body[field], field, low=1, high=MAX_ID, message=f"{field} must be a positive integer"
    )


def parse_date(value: Any, field: str, *, earliest: dt.date | None = None) -> dt.date:
    """A date at most BOOKING_HORIZON_DAYS ahead and, unless `earliest` says otherwise, a year back at most."""
    if value is None:
        raise BadRequest(f"{field} is required")
    now = today()
    earliest = earliest or now - dt.timedelta(days=HISTORY_DAYS)
    latest = now + dt.timedelta(days=BOOKING_HORIZON_DAYS)
    return inputs.date_text(value, field, earliest=earliest, latest=latest)


def check_range(start: dt.date, end: dt.date, start_field: str, end_field: str) -> None:
    if end <= start:
        raise BadRequest(f"{end_field} must be after {start_field}")
    if (end - start).days > MAX_NIGHTS:
        raise BadRequest(f"A stay cannot exceed {MAX_NIGHTS} nights")


def parse_booking(body: Mapping[str, Any]) -> BookingRequest:
    user_id = positive_int(body, "userId")
    property_id = positive_int(body, "propertyId")
    # Any past date parses, so that it gets the "in the past" answer below.
    start = parse_date(body.get("startDate"), "startDate", earliest=dt.date.min)
    end = parse_date(body.get("endDate"), "endDate", earliest=dt.date.min)
    check_range(start, end, "startDate", "endDate")
    if start < today():
        raise BadRequest("startDate must not be in the past")
    return BookingRequest(user_id, property_id, start, end)


def parse_property_filters(args: Mapping[str, str]) -> PropertyFilters:
    free_from, free_to = _date_window(args)
    return PropertyFilters(
        location=inputs.text(args.get("location", ""), "location", max_length=200, allow_empty=True) or None,
        min_price=_price(args, "minPrice"),
        max_price=_price(args, "maxPrice"),
        available=inputs.flag_text(args["available"], "available") if args.get("available") else None,
        free_from=free_from,
        free_to=free_to,
        sort=_sort(args),
        limit=_bounded_int(args, "limit", default=50, low=1, high=MAX_PAGE),
        offset=_bounded_int(args, "offset", default=0, low=0, high=MAX_OFFSET),
    )


def _price(args: Mapping[str, str], name: str) -> Decimal | None:
    raw = args.get(name)
    if not raw:
        return None
    return inputs.decimal_text(raw, name, low=Decimal(0), high=MAX_PRICE_FILTER)


def _date_window(args: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    raw_from, raw_to = args.get("from"), args.get("to")
    if not raw_from and not raw_to:
        return None, None
    if not raw_from or not raw_to:
        raise BadRequest("from and to must be given together")
    start, end = parse_date(raw_from, "from"), parse_date(raw_to, "to")
    check_range(start, end, "from", "to")
    return start, end


def _sort(args: Mapping[str, str]) -> str:
    value = args.get("sort") or "id"
    if value not in SORTS:
        raise BadRequest("sort must be one of price, -price, name")
    return value


def _bounded_int(args: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if not raw:
        return default
    message = f"{name} must be an integer between {low} and {high}"
    return inputs.int_text(raw, name, low=low, high=high, message=message)
