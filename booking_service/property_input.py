"""Validates a host's property body (create or partial update) into column values, or a 400."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from common import inputs
from common.errors import BadRequest

# Price x the longest stay (365 nights) must fit the bookings' total_price column, DECIMAL(12,2).
MAX_PRICE = Decimal("999999.99")
MIN_PRICE = Decimal("0.01")
MAX_DESCRIPTION = 4000
MAX_GUESTS = 100
REQUIRED_ON_CREATE = ("name", "location", "pricePerNight")


def _text(limit: int, *, allow_empty: bool = False) -> Callable[[str, Any], str | None]:
    def parse(field: str, value: Any) -> str | None:
        if value is None and allow_empty:
            return None
        return inputs.text(value, field, max_length=limit, allow_empty=allow_empty)

    return parse


def _price(field: str, value: Any) -> Decimal:
    return inputs.json_decimal(value, field, low=MIN_PRICE, high=MAX_PRICE)


def _flag(field: str, value: Any) -> bool:
    return inputs.json_flag(value, field)


def _guests(field: str, value: Any) -> int | None:
    if value is None:
        return None
    message = f"{field} must be an integer between 1 and {MAX_GUESTS}"
    return inputs.json_int(value, field, low=1, high=MAX_GUESTS, message=message)


# JSON field -> (column, parser)
FIELDS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "name": ("name", _text(200)),
    "location": ("location", _text(200)),
    "pricePerNight": ("price_per_night", _price),
    "availability": ("availability", _flag),
    "description": ("description", _text(MAX_DESCRIPTION, allow_empty=True)),
    "maxGuests": ("max_guests", _guests),
}


def parse_property_fields(body: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Column values for the given fields; every field is required on create except the optional ones."""
    unknown = sorted(set(body) - set(FIELDS))
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
        column, parse = FIELDS[field]
        values[column] = parse(field, raw)
    return values
