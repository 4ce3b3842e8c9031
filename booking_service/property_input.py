"""Validates a host's property body (create or partial update) into column values, or a 400."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from common.errors import BadRequest

MAX_PRICE = Decimal("99999999.99")
MAX_DESCRIPTION = 4000
MAX_GUESTS = 100
REQUIRED_ON_CREATE = ("name", "location", "pricePerNight")


def _text(limit: int, *, allow_empty: bool = False) -> Callable[[str, Any], str | None]:
    kind = "a string" if allow_empty else "a non-empty string"

    def parse(field: str, value: Any) -> str | None:
        if value is None and allow_empty:
            return None
        if not isinstance(value, str) or (not allow_empty and not value.strip()) or len(value) > limit:
            raise BadRequest(f"{field} must be {kind} of at most {limit} characters")
        if not _is_storable(value):
            raise BadRequest(f"{field} must be valid Unicode text")
        return value.strip()

    return parse


def _is_storable(text: str) -> bool:
    """False for lone surrogates (JSON allows them, UTF-8 cannot encode them)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _price(field: str, value: Any) -> Decimal:
    message = f"{field} must be a positive number with at most 2 decimals"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(message)
    try:
        price = Decimal(str(value))
    except InvalidOperation as exc:
        raise BadRequest(message) from exc
    if not price.is_finite() or price <= 0 or price > MAX_PRICE or price != price.quantize(Decimal("0.01")):
        raise BadRequest(message)
    return price


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{field} must be true or false")
    return value


def _guests(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GUESTS:
        raise BadRequest(f"{field} must be an integer between 1 and {MAX_GUESTS}")
    return value


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
