"""Turns untrusted request input into typed values, or a 400 naming the offending field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from booking_service.property_repository import SORTS, PropertyFilters
from common.errors import BadRequest

MAX_NIGHTS = 365
MAX_PAGE = 200
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


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
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value > 2**31 - 1:
        raise BadRequest(f"{field} must be a positive integer")
    return value


def parse_date(value: Any, field: str) -> dt.date:
    if value is None:
        raise BadRequest(f"{field} is required")
    if not isinstance(value, str) or not _DATE.match(value):
        raise BadRequest(f"{field} must be a date in YYYY-MM-DD format")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{field} must be a date in YYYY-MM-DD format") from exc


def check_range(start: dt.date, end: dt.date, start_field: str, end_field: str) -> None:
    if end <= start:
        raise BadRequest(f"{end_field} must be after {start_field}")
    if (end - start).days > MAX_NIGHTS:
        raise BadRequest(f"A stay cannot exceed {MAX_NIGHTS} nights")


def parse_booking(body: Mapping[str, Any]) -> BookingRequest:
    user_id = positive_int(body, "userId")
    property_id = positive_int(body, "propertyId")
    start = parse_date(body.get("startDate"), "startDate")
    end = parse_date(body.get("endDate"), "endDate")
    check_range(start, end, "startDate", "endDate")
    if start < today():
        raise BadRequest("startDate must not be in the past")
    return BookingRequest(user_id, property_id, start, end)


def parse_property_filters(args: Mapping[str, str]) -> PropertyFilters:
    free_from, free_to = _date_window(args)
    return PropertyFilters(
        location=_text(args, "location"),
        min_price=_price(args, "minPrice"),
        max_price=_price(args, "maxPrice"),
        available=_flag(args, "available"),
        free_from=free_from,
        free_to=free_to,
        sort=_sort(args),
        limit=_bounded_int(args, "limit", default=50, low=1, high=MAX_PAGE),
        offset=_bounded_int(args, "offset", default=0, low=0, high=10_000_000),
    )


def _text(args: Mapping[str, str], name: str) -> str | None:
    value = args.get(name, "").strip()
    if len(value) > 200:
        raise BadRequest(f"{name} must be at most 200 characters")
    return value or None


def _price(args: Mapping[str, str], name: str) -> Decimal | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise BadRequest(f"{name} must be a non-negative number") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("1e8"):
        raise BadRequest(f"{name} must be a non-negative number")
    return value


def _flag(args: Mapping[str, str], name: str) -> bool | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false")


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
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} must be an integer between {low} and {high}")
    return int(raw)
