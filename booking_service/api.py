"""HTTP routes of the booking API: parse the request into a typed input, call one service function, shape
the answer. `ERRORS` is the one table from domain exceptions to HTTP answers (the seed's keys and messages)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from booking_service import errors, inbox, inputs, serializers
from booking_service.bookings import services as bookings
from booking_service.bookings.views import BookingViews, booking_key, guest_key
from booking_service.ports import UnitOfWork, UserDirectory
from booking_service.properties import photos
from booking_service.properties import services as properties
from booking_service.properties.storage import PhotoStore
from booking_service.properties.views import PropertyViews
from common.auth import current_identity, require_auth
from common.errors import BadRequest, error_response, register_error_table
from common.near_cache import COPY_HEADER, RETIRED_HEADER
from common.routes import PHOTO_BODY_BYTES
from common.web import json_body

api = Blueprint("booking_api", __name__)
MANAGERS = {"host", "admin"}
# Public reads may sit in nginx's edge cache: fresh 1 s, then served stale for at most 1 s more.
EDGE_CACHEABLE = "public, max-age=1, stale-while-revalidate=1, stale-if-error=1"

# Domain exception -> (status, JSON key, message)
ERRORS: dict[type[errors.DomainError], tuple[int, str, str]] = {
    errors.PropertyNotFound: (404, "error", "Property not found"),
    errors.PropertyUnavailable: (404, "message", "Property not found or not available"),
    errors.NotPropertyOwner: (403, "error", "You can only manage your own properties"),
    errors.HasUpcomingBookings: (409, "error", "Property has upcoming bookings and cannot be removed"),
    errors.BlockNotFound: (404, "error", "Block not found"),
    errors.BookingNotFound: (404, "error", "Booking not found"),
    errors.DatesTaken: (409, "error", "Property is already booked for these dates"),
    errors.AlreadyCancelled: (409, "error", "Booking is already cancelled"),
    errors.BookForSelfOnly: (403, "error", "You can only book for yourself"),
    errors.UnknownUser: (400, "error", "userId is not a registered user"),
    errors.OwnProperty: (403, "error", "Hosts cannot book their own property"),
    errors.TooManyGuests: (400, "error", "Too many guests for this property"),
    errors.TotalTooLarge: (400, "error", "The total price of this stay is too large; book fewer nights"),
    errors.IdempotencyKeyReused: (422, "error", "Idempotency-Key was already used with a different request"),
    errors.NotAPhoto: (415, "error", "A photo must be a JPEG, PNG or WebP image"),
    errors.PhotoTooLarge: (413, "error", "A photo can be at most 5 MiB"),
    errors.PhotoTooManyPixels: (400, "error", "A photo can be at most 6000 x 6000 pixels"),
    errors.TooManyPhotos: (409, "error", "A property can have at most 20 photos"),
    errors.PhotoNotFound: (404, "error", "Photo not found"),
    errors.StartInPast: (400, "error", inputs.PAST_START),
    errors.BeyondHorizon: (400, "error", "{field} must be on or before {latest}"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, errors.DomainError, ERRORS)

    @app.errorhandler(errors.BeyondHorizon)
    def _beyond_horizon(error: errors.BeyondHorizon) -> Response:
        status, key, message = ERRORS[errors.BeyondHorizon]
        return error_response(status, message.format(field=error.field, latest=error.latest), key)


def uow() -> UnitOfWork:
    return current_app.extensions["uow"]


def users() -> UserDirectory:
    return current_app.extensions["user_directory"]


def photo_store() -> PhotoStore:
    return current_app.extensions["photo_store"]


def views() -> PropertyViews:
    return current_app.extensions["property_views"]


def booking_views() -> BookingViews:
    return current_app.extensions["booking_views"]


def json_bytes(encoded: bytes, copy_mark: str | None = None) -> Response:
    """Encoded JSON sent as is; `copy_mark`: until which change the gateway may answer the same request
    from its own copy (common.near_cache.COPY_HEADER)."""
    response = Response(encoded, mimetype="application/json")
    if copy_mark is not None:
        response.headers[COPY_HEADER] = copy_mark
    return response


def edge_cacheable(encoded: bytes, copy_mark: str | None = None) -> Response:
    """Encoded JSON sent as is, cacheable at the edge."""
    response = json_bytes(encoded, copy_mark)
    response.headers["Cache-Control"] = EDGE_CACHEABLE
    return response


def created(body: dict[str, Any]) -> tuple[Response, int]:
    return jsonify(body), 201


def retiring(response: Response) -> Response:
    """Names the booking copies the request's write retired, for the gateway's own copies (RETIRED_HEADER):
    the keys the unit of work announced. A write that retired none names none."""
    if keys := uow().retired_by_last_write():
        response.headers[RETIRED_HEADER] = " ".join(keys)
    return response


@api.get("/api/bookings/properties")
def list_properties() -> Response:
    filters = inputs.parse_property_filters(request.args.to_dict())  # dict: a missing key raises nothing
    use_cache = request.headers.get("Cache-Control", "").lower() != "no-cache"
    return edge_cacheable(views().search(filters, use_cache=use_cache), views().copy_mark(filters))


@api.post("/api/bookings/properties")
@require_auth(roles=MANAGERS)
def create_property() -> tuple[Response, int]:
    fields = inputs.parse_property_fields(json_body(), partial=False)
    return created(serializers.property_detail_json(properties.create(uow(), current_identity(), fields)))


@api.get("/api/bookings/properties/<int:property_id>")
def get_property(property_id: int) -> Response:
    return edge_cacheable(views().get(property_id), views().copy_mark())


@api.patch("/api/bookings/properties/<int:property_id>")
@require_auth(roles=MANAGERS)
def update_property(property_id: int) -> Response:
    fields = inputs.parse_property_fields(json_body(), partial=True)
    prop = properties.update(uow(), current_identity(), property_id, fields)
    return jsonify(serializers.property_detail_json(prop))


@api.delete("/api/bookings/properties/<int:property_id>")
@require_auth(roles=MANAGERS)
def retire_property(property_id: int) -> Response:
    properties.retire(uow(), current_identity(), property_id)
    return jsonify({"message": "Property removed"})


@api.get("/api/bookings/properties/<int:property_id>/calendar")
def property_calendar(property_id: int) -> Response:
    calendar = properties.calendar(uow(), property_id, inputs.parse_calendar_window(request.args))
    return edge_cacheable(orjson.dumps(serializers.calendar_json(calendar)))


@api.post("/api/bookings/properties/<int:property_id>/blocks")
@require_auth(roles=MANAGERS)
def block_dates(property_id: int) -> tuple[Response, int]:
    block = properties.add_block(uow(), current_identity(), property_id, inputs.future_window(json_body()))
    return created(serializers.block_json(block))


@api.delete("/api/bookings/properties/<int:property_id>/blocks/<int:block_id>")
@require_auth(roles=MANAGERS)
def unblock_dates(property_id: int, block_id: int) -> Response:
    properties.remove_block(uow(), current_identity(), property_id, block_id)
    return jsonify({"message": "Block removed"})


@api.post("/api/bookings/properties/<int:property_id>/photos")
@require_auth(roles=MANAGERS)
def upload_photo(property_id: int) -> tuple[Response, int]:
    request.max_content_length = PHOTO_BODY_BYTES  # this route only; the app's 1 MiB stays elsewhere
    photo = photos.add(uow(), photo_store(), current_identity(), property_id, uploaded_photo())
    return created(serializers.photo_json(photo))


def uploaded_photo() -> bytes:
    """The image: the `photo` part of a multipart form, or the raw body (any image Content-Type)."""
    if request.mimetype == "multipart/form-data":
        part = request.files.get("photo")
        data = part.read() if part is not None else b""
    else:
        data = request.get_data(cache=False)
    if not data:
        raise BadRequest("photo is required (a multipart `photo` part or the image as the body)")
    return data


@api.delete("/api/bookings/properties/<int:property_id>/photos/<photo_id>")
@require_auth(roles=MANAGERS)
def delete_photo(property_id: int, photo_id: str) -> Response:
    photos.remove(uow(), photo_store(), current_identity(), property_id, photo_id)
    return jsonify({"message": "Photo removed"})


@api.post("/api/bookings/book")
@require_auth()
def book() -> tuple[Response, int]:
    booking = inputs.parse_booking(json_body())
    key = inputs.parse_idempotency_key(request.headers.get("Idempotency-Key"))
    booked = bookings.book(uow(), users(), current_identity(), booking, key)
    response, status = created(serializers.booked_json(booked))
    return retiring(response), status


@api.get("/api/bookings/booking/<int:booking_id>")
@require_auth()
def get_booking(booking_id: int) -> Response:
    found = booking_views().booking(current_identity(), booking_id)
    return json_bytes(found, booking_views().copy_mark(booking_key(booking_id)))


@api.get("/api/bookings/mine")
@require_auth()
def my_bookings() -> Response:
    identity = current_identity()
    found = booking_views().guest_bookings(identity)
    return json_bytes(found, booking_views().copy_mark(guest_key(identity.user_id)))


@api.delete("/api/cancel-booking/<int:booking_id>")
@require_auth()
def cancel_booking(booking_id: int) -> Response:
    bookings.cancel(uow(), current_identity(), booking_id)
    answer = jsonify({"message": "Booking cancelled successfully"})
    return retiring(answer)


@api.get("/api/bookings/hosting/bookings")
@require_auth(roles=MANAGERS)
def hosting_bookings() -> Response:
    query = inputs.parse_hosting_query(request.args)
    found = bookings.hosting_bookings(uow(), current_identity(), query)
    return jsonify([serializers.hosting_booking_json(b) for b in found])


@api.get("/api/bookings/hosting/earnings")
@require_auth(roles=MANAGERS)
def hosting_earnings() -> Response:
    return jsonify([serializers.earnings_json(m) for m in bookings.earnings(uow(), current_identity())])


@api.get("/api/bookings/hosting/properties")
@require_auth(roles=MANAGERS)
def hosting_properties() -> Response:
    everyone = request.args.get("all") == "true"
    found = properties.hosted_by(uow(), current_identity(), everyone=everyone)
    return jsonify([views().detail(prop) for prop in found])


@api.get("/api/bookings/watching")
@require_auth()
def watching() -> Response:
    """The properties the caller watches: the realtime process's per-user set, read from the same Redis."""
    store = current_app.extensions["subscriptions"]
    watched = store.properties_of(current_identity().user_id) if store is not None else set()
    return jsonify({"propertyIds": sorted(watched)})


@api.get("/api/bookings/notifications")
@require_auth()
def notifications() -> Response:
    """My inbox: the notifications of the properties I watch, newest first, paged (`inbox.py`)."""
    query = inbox.parse_inbox_query(request.args)
    store, feed = current_app.extensions["subscriptions"], current_app.extensions["feed"]
    if store is None or feed is None:
        return jsonify(inbox.page_json(inbox.InboxPage([], None)))
    return jsonify(inbox.page_json(inbox.read_inbox(store, feed, current_identity().user_id, query)))
