"""JSON shapes of the seed contract (field names byte-for-byte)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row


def json_number(value: Decimal) -> int | float:
    """Exact decimals as JSON numbers: integers when whole (120, not 120.0 or "120.00")."""
    return int(value) if value == value.to_integral_value() else float(value)


def property_json(row: Row) -> dict[str, Any]:
    # Key order follows the seed's example response.
    return {
        "availability": bool(row.availability),
        "location": row.location,
        "name": row.name,
        "pricePerNight": json_number(row.price_per_night),
        "propertyId": row.id,
    }


def property_detail_json(row: Row) -> dict[str, Any]:
    """One property: the seed's fields plus what hosts manage (left out when unset, e.g. no owner)."""
    extra = {"description": row.description, "maxGuests": row.max_guests, "ownerId": row.owner_id}
    return {**property_json(row), **{key: value for key, value in extra.items() if value is not None}}


def booking_json(row: Row) -> dict[str, Any]:
    return {
        "bookingId": row.id,
        "userId": row.user_id,
        "propertyId": row.property_id,
        "startDate": row.start_date.isoformat(),
        "endDate": row.end_date.isoformat(),
    }


def booking_summary_json(row: Row) -> dict[str, Any]:
    """The caller's own bookings list: the seed's fields plus status and price."""
    return {
        **booking_json(row),
        "status": row.status,
        "pricePerNight": json_number(row.price_per_night),
        "totalPrice": json_number(row.total_price),
    }
