"""Untrusted request input → the typed inputs of the rules, or a 400 naming the offending field.

Every value goes through a bounded parser of `common.inputs`; this module only says which field is what.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from booking_service.bookings.model import STATUSES, BookingRequest, HostingQuery
from booking_service.properties.model import (
    BOOKING_HORIZON_DAYS,
    CALENDAR_DAYS,
    DateWindow,
    PropertyFields,
    PropertyFilters,
    is_time_zone,
    todays_on_earth,
    utc_now,
)
from booking_service.properties.repository import SORTS
from common import inputs
from common.errors import BadRequest

MAX_NIGHTS = 365
MAX_PAGE = 200
MAX_OFFSET = 10_000_000
MAX_ID = 2**31 - 1  # ids and user ids are INT columns
MAX_BOOKING_GUESTS = 50
HISTORY_DAYS = 365  # no date a request names lies further back (searches and calendars may look back)
MAX_PRICE_FILTER = Decimal("99999999.99")  # the price column's range
# Price x the longest stay (365 nights) must fit the bookings' total_price column, DECIMAL(12,2).
MAX_PRICE = Decimal("999999.99")
MIN_PRICE = Decimal("0.01")
MAX_DESCRIPTION = 4000
MAX_GUESTS = 100
REQUIRED_ON_CREATE = ("name", "location", "pricePerNight")
PAST_START = "startDate must not be in the past"
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}")  # printable ASCII


def positive_int(body: Mapping[str, Any], field: str) -> int:
    if field not in body or body[field] is None:
        raise BadRequest(f"{field} is required")
    return inputs.json_int(
        body[field], field, low=1, high=MAX_ID, message=f"{field} must be a positive integer"
    )


def parse_date(value: Any, field: str, *, earliest: dt.date | None = None) -> dt.date:
    """A date at most BOOKING_HORIZON_DAYS ahead and, unless `earliest` says otherwise, a year back at most,
    of today anywhere on Earth: the rules check a property's own dates against its local today."""
    if value is None:
        raise BadRequest(f"{field} is required")
    westmost, eastmost = todays_on_earth(utc_now())
    earliest = earliest or westmost - dt.timedelta(days=HISTORY_DAYS)
    latest = eastmost + dt.timedelta(days=BOOKING_HORIZON_DAYS)
    return inputs.date_text(value, field, earliest=earliest, latest=latest)


def check_range(start: dt.date, end: dt.date, start_field: str, end_field: str) -> None:
    if end <= start:
        raise BadRequest(f"{end_field} must be after {start_field}")
    if (end - start).days > MAX_NIGHTS:
        raise BadRequest(f"A stay cannot exceed {MAX_NIGHTS} nights")


def future_window(body: Mapping[str, Any]) -> DateWindow:
    """`startDate`/`endDate` of a stay or a block, at most MAX_NIGHTS nights. A start in the past
    everywhere is refused here; the rules check the property's own today (`check_stay_dates`)."""
    # Any past date parses, so that it gets the "in the past" answer below.
    start = parse_date(body.get("startDate"), "startDate", earliest=dt.date.min)
    end = parse_date(body.get("endDate"), "endDate", earliest=dt.date.min)
    check_range(start, end, "startDate", "endDate")
    if start < todays_on_earth(utc_now())[0]:
        raise BadRequest(PAST_START)
    return DateWindow(start, end)


def parse_booking(body: Mapping[str, Any]) -> BookingRequest:
    user_id = positive_int(body, "userId")
    property_id = positive_int(body, "propertyId")
    window = future_window(body)
    guests = 1
    if body.get("guests") is not None:
        guests = _guests("guests", body["guests"], MAX_BOOKING_GUESTS)
    return BookingRequest(user_id, property_id, window.start, window.end, guests)


def parse_idempotency_key(raw: str | None) -> str | None:
    if raw is not None and not IDEMPOTENCY_KEY.fullmatch(raw):
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return raw


def parse_property_filters(args: Mapping[str, str]) -> PropertyFilters:
    window = _optional_window(args)
    return PropertyFilters(
        location=inputs.text(args.get("location", ""), "location", max_length=200, allow_empty=True) or None,
        min_price=_price_filter(args, "minPrice"),
        max_price=_price_filter(args, "maxPrice"),
        available=inputs.flag_text(args["available"], "available") if args.get("available") else None,
        free_from=window.start if window else None,
        free_to=window.end if window else None,
        guests=_query_int(args, "guests", default=None, low=1, high=MAX_BOOKING_GUESTS),
        sort=_sort(args),
        limit=_query_int(args, "limit", default=50, low=1, high=MAX_PAGE),
        offset=_query_int(args, "offset", default=0, low=0, high=MAX_OFFSET),
    )


def parse_calendar_window(args: Mapping[str, str]) -> DateWindow | None:
    """The window asked for; None for neither date (the rules start it at the property's local today)."""
    if not args.get("from") and not args.get("to"):
        return None
    start = parse_date(args["from"], "from") if args.get("from") else utc_now().date()
    end = parse_date(args["to"], "to") if args.get("to") else start + dt.timedelta(days=CALENDAR_DAYS)
    check_range(start, end, "from", "to")
    return DateWindow(start, end)


def parse_hosting_query(args: Mapping[str, str]) -> HostingQuery:
    start = parse_date(args["from"], "from") if args.get("from") else None
    end = parse_date(args["to"], "to") if args.get("to") else None
    if start is not None and end is not None and end <= start:
        raise BadRequest("to must be after from")
    status = args.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest("status must be one of confirmed, cancelled")
    return HostingQuery(
        start=start,
        end=end,
        property_id=_query_int(args, "propertyId", default=None, low=1, high=MAX_ID),
        status=status,
        limit=_query_int(args, "limit", default=50, low=1, high=MAX_PAGE),
        offset=_query_int(args, "offset", default=0, low=0, high=MAX_OFFSET),
    )


def _text(limit: int, *, optional: bool = False) -> Callable[[str, Any], str | None]:
    def parse(field: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        return inputs.text(value, field, max_length=limit, allow_empty=optional)

    return parse


def _guests(field: str, value: Any, high: int) -> int:
    return inputs.json_int(
        value, field, low=1, high=high, message=f"{field} must be an integer between 1 and {high}"
    )


def _guest_capacity(field: str, value: Any) -> int | None:
    return None if value is None else _guests(field, value, MAX_GUESTS)


def _time_zone(field: str, value: Any) -> str:
    if not isinstance(value, str) or not is_time_zone(value):
        raise BadRequest(f"{field} must be an IANA time zone name such as Europe/Lisbon")
    return value


# JSON field -> (Property attribute, parser)
PROPERTY_FIELDS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "name": ("name", _text(200)),
    "location": ("location", _text(200)),
    "pricePerNight": (
        "price_per_night",
        lambda f, v: inputs.json_decimal(v, f, low=MIN_PRICE, high=MAX_PRICE),
    ),
    "availability": ("availability", lambda f, v: inputs.json_flag(v, f)),
    "description": ("description", _text(MAX_DESCRIPTION, optional=True)),
    "maxGuests": ("max_guests", _guest_capacity),
    "timeZone": ("time_zone", _time_zone),
}


def parse_property_fields(body: Mapping[str, Any], *, partial: bool) -> PropertyFields:
    """Every field is required on create except the optional ones; an update names at least one."""
    unknown = sorted(set(body) - set(PROPERTY_FIELDS))
    if unknown:
        raise BadRequest(f"Unknown field: {unknown[0]}")
    if not partial:
        for field in REQUIRED_ON_CREATE:
            if body.get(field) is None:
                raise BadRequest(f"{field} is required")
    elif not body:
        raise BadRequest("At least one field must be given")
    values = {}
    for field, raw in body.items():
        name, parse = PROPERTY_FIELDS[field]
        values[name] = parse(field, raw)
    return PropertyFields(values)


def _price_filter(args: Mapping[str, str], name: str) -> Decimal | None:
    raw = args.get(name)
    return inputs.decimal_text(raw, name, low=Decimal(0), high=MAX_PRICE_FILTER) if raw else None


def _optional_window(args: Mapping[str, str]) -> DateWindow | None:
    raw_from, raw_to = args.get("from"), args.get("to")
    if not raw_from and not raw_to:
        return None
    if not raw_from or not raw_to:
        raise BadRequest("from and to must be given together")
    start, end = parse_date(raw_from, "from"), parse_date(raw_to, "to")
    check_range(start, end, "from", "to")
    return DateWindow(start, end)


def _sort(args: Mapping[str, str]) -> str:
    value = args.get("sort") or "id"
    if value not in SORTS:
        raise BadRequest("sort must be one of price, -price, name")
    return value


def _query_int(args: Mapping[str, str], name: str, *, default: Any, low: int, high: int) -> Any:
    raw = args.get(name)
    if not raw:
        return default
    return inputs.int_text(
        raw, name, low=low, high=high, message=f"{name} must be an integer between {low} and {high}"
    )
