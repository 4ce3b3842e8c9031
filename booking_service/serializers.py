"""JSON shapes of the seed contract (field names byte-for-byte) and of the additions, from domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from booking_service.bookings.model import Booked, Booking, MonthlyEarnings
from booking_service.properties.model import Block, Calendar, Photo, Property

# Property attribute -> JSON field, for the properties a host manages.
PROPERTY_FIELDS = {
    "name": "name",
    "location": "location",
    "price_per_night": "pricePerNight",
    "availability": "availability",
    "description": "description",
    "max_guests": "maxGuests",
    "time_zone": "timeZone",
}


def json_number(value: Decimal) -> int | float:
    """Exact decimals as JSON numbers: integers when whole (120, not 120.0 or "120.00")."""
    return int(value) if value == value.to_integral_value() else float(value)


def property_json(prop: Property) -> dict[str, Any]:
    # Key order follows the seed's example response.
    return {
        "availability": bool(prop.availability),
        "location": prop.location,
        "name": prop.name,
        "pricePerNight": json_number(prop.price_per_night),
        "propertyId": prop.id,
    }


def property_detail_json(prop: Property, photos: Sequence[Photo] | None = None) -> dict[str, Any]:
    """One property: the seed's fields plus what hosts manage (left out when unset, e.g. no owner), and
    its photos when the caller looked them up."""
    extra = {"description": prop.description, "maxGuests": prop.max_guests, "ownerId": prop.owner_id,
             "timeZone": prop.time_zone}  # fmt: skip
    found = {**property_json(prop), **{key: value for key, value in extra.items() if value is not None}}
    if photos is not None:
        found["photos"] = [photo_json(photo) for photo in photos]
    return found


def photo_json(photo: Photo) -> dict[str, Any]:
    return {"id": photo.id, "url": photo.url, "thumbUrl": photo.thumb_url}


def property_update_json(changed: Mapping[str, Any]) -> dict[str, Any]:
    """The `changes` of a property's `updated` notification, in JSON field names."""
    return {PROPERTY_FIELDS[name]: _json(value) for name, value in changed.items()}


def booked_json(booked: Booked) -> dict[str, Any]:
    return {"bookingId": booked.booking_id, "message": "Booking confirmed",
            "totalPrice": json_number(booked.total_price)}  # fmt: skip


def booking_json(booking: Booking) -> dict[str, Any]:
    """The seed's fields, then the guest count and status."""
    return {
        "bookingId": booking.id,
        "userId": booking.user_id,
        "propertyId": booking.property_id,
        "startDate": booking.start_date.isoformat(),
        "endDate": booking.end_date.isoformat(),
        "guests": booking.guests,
        "status": booking.status,
    }


def booking_summary_json(booking: Booking) -> dict[str, Any]:
    """The caller's own bookings list: the booking plus its prices."""
    return {
        **booking_json(booking),
        "pricePerNight": json_number(booking.price_per_night),
        "totalPrice": json_number(booking.total_price),
    }


def hosting_booking_json(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "propertyId": booking.property_id,
        "propertyName": booking.property_name,
        "userId": booking.user_id,
        "startDate": booking.start_date.isoformat(),
        "endDate": booking.end_date.isoformat(),
        "guests": booking.guests,
        "totalPrice": json_number(booking.total_price),
        "status": booking.status,
        "createdAt": booking.created_at.isoformat(timespec="seconds") + "Z" if booking.created_at else None,
    }


def earnings_json(month: MonthlyEarnings) -> dict[str, Any]:
    return {"month": month.month, "revenue": f"{month.revenue:.2f}", "nights": month.nights,
            "bookings": month.bookings}  # fmt: skip


def block_json(block: Block) -> dict[str, Any]:
    return {"id": block.id, "propertyId": block.property_id, "startDate": block.start_date.isoformat(),
            "endDate": block.end_date.isoformat()}  # fmt: skip


def calendar_json(calendar: Calendar) -> dict[str, Any]:
    """`booked` lists every unavailable range (bookings and blocks, no guest identity); `blocked` the
    owner's blocks with their ids."""
    return {
        "propertyId": calendar.property_id,
        "from": calendar.window.start.isoformat(),
        "to": calendar.window.end.isoformat(),
        "booked": [{"startDate": s.isoformat(), "endDate": e.isoformat()} for s, e in calendar.taken],
        "blocked": [block_json(block) for block in calendar.blocks],
    }


def _json(value: Any) -> Any:
    return json_number(value) if isinstance(value, Decimal) else value
