"""HTTP routes of the booking API (seed paths plus host property management): parse, call, shape."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, jsonify, request

from booking_service.property_services import PropertyService
from booking_service.services import BookingService
from booking_service.validation import parse_property_filters
from common.auth import current_identity, require_auth
from common.web import json_body

api = Blueprint("booking_api", __name__)
MANAGERS = {"host", "admin"}
# Public reads may sit in nginx's edge cache: fresh 1 s, then served stale for at most 1 s more.
EDGE_CACHEABLE = "public, max-age=1, stale-while-revalidate=1, stale-if-error=1"


def bookings() -> BookingService:
    return current_app.extensions["booking"]


def properties() -> PropertyService:
    return current_app.extensions["properties"]


def edge_cacheable(encoded: bytes) -> Response:
    """Encoded JSON from the property cache, sent as is, cacheable at the edge."""
    return Response(encoded, mimetype="application/json", headers={"Cache-Control": EDGE_CACHEABLE})


@api.get("/api/bookings/properties")
def list_properties() -> Response:
    filters = parse_property_filters(request.args)
    use_cache = request.headers.get("Cache-Control", "").lower() != "no-cache"
    return edge_cacheable(properties().search(filters, use_cache=use_cache))


@api.post("/api/bookings/properties")
@require_auth(roles=MANAGERS)
def create_property() -> tuple[Response, int]:
    return jsonify(properties().create(current_identity(), json_body())), 201


@api.get("/api/bookings/properties/<int:property_id>")
def get_property(property_id: int) -> Response:
    return edge_cacheable(properties().get(property_id))


@api.patch("/api/bookings/properties/<int:property_id>")
@require_auth(roles=MANAGERS)
def update_property(property_id: int) -> Response:
    return jsonify(properties().update(current_identity(), property_id, json_body()))


@api.delete("/api/bookings/properties/<int:property_id>")
@require_auth(roles=MANAGERS)
def retire_property(property_id: int) -> Response:
    return jsonify(properties().retire(current_identity(), property_id))


@api.get("/api/bookings/properties/<int:property_id>/calendar")
def property_calendar(property_id: int) -> Response:
    return edge_cacheable(orjson.dumps(properties().calendar(property_id, request.args)))


@api.post("/api/bookings/book")
@require_auth()
def book() -> tuple[Response, int]:
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    payload, status = bookings().book(current_identity(), body, key)
    return jsonify(payload), status


@api.get("/api/bookings/booking/<int:booking_id>")
@require_auth()
def get_booking(booking_id: int) -> Response:
    return jsonify(bookings().get_booking(current_identity(), booking_id))


@api.get("/api/bookings/mine")
@require_auth()
def my_bookings() -> Response:
    return jsonify(bookings().my_bookings(current_identity()))


@api.delete("/api/cancel-booking/<int:booking_id>")
@require_auth()
def cancel_booking(booking_id: int) -> Response:
    return jsonify(bookings().cancel(current_identity(), booking_id))
