"""HTTP routes of the seed's booking API: parse, call one service method, shape the response."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from booking_service.services import BookingService
from booking_service.validation import parse_property_filters
from common.auth import current_identity, require_auth
from common.web import json_body

api = Blueprint("booking_api", __name__)


def service() -> BookingService:
    return current_app.extensions["booking"]


@api.get("/api/bookings/properties")
def list_properties() -> Response:
    filters = parse_property_filters(request.args)
    use_cache = request.headers.get("Cache-Control", "").lower() != "no-cache"
    return jsonify(service().list_properties(filters, use_cache=use_cache))


@api.post("/api/bookings/book")
@require_auth()
def book() -> tuple[Response, int]:
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    payload, status = service().book(current_identity(), body, key)
    return jsonify(payload), status


@api.get("/api/bookings/booking/<int:booking_id>")
@require_auth()
def get_booking(booking_id: int) -> Response:
    return jsonify(service().get_booking(current_identity(), booking_id))


@api.get("/api/bookings/mine")
@require_auth()
def my_bookings() -> Response:
    return jsonify(service().my_bookings(current_identity()))


@api.delete("/api/cancel-booking/<int:booking_id>")
@require_auth()
def cancel_booking(booking_id: int) -> Response:
    return jsonify(service().cancel(current_identity(), booking_id))
