"""Booking rules: no double booking, owners-only access, idempotent retries, cache-aside reads."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import redis
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from booking_service import property_repository as property_repo
from booking_service import repository as repo
from booking_service.db import after_commit, transaction
from booking_service.serializers import booking_json, booking_summary_json, json_number
from booking_service.validation import BookingRequest, parse_booking
from common.auth import Identity
from common.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}")  # printable ASCII
MAX_TOTAL = Decimal("9999999999.99")  # the total_price column, DECIMAL(12,2)

PROPERTY_UNAVAILABLE = "Property not found or not available"
NOT_A_USER = "userId is not a registered user"
USER_IDS, COMPLETE = "hrp:user-ids", "hrp:user-ids:complete"  # written by user_service/directory.py
BOOKING_NOT_FOUND = "Booking not found"
ALREADY_BOOKED = "Property is already booked for these dates"


class Notifier(Protocol):
    def booking_event(self, event: str, property_id: int, start_date: Any, end_date: Any) -> None: ...

    def property_event(self, property_id: int, update: dict[str, Any]) -> None: ...


class NullNotifier:
    def booking_event(self, event: str, property_id: int, start_date: Any, end_date: Any) -> None:
        return None

    def property_event(self, property_id: int, update: dict[str, Any]) -> None:
        return None


Reply = tuple[dict[str, Any], int]


class UserDirectory(Protocol):
    def exists(self, user_id: int) -> bool | None:
        """True, False, or None when it cannot tell."""
        ...


class RedisUserDirectory:
    """The user ids user_service keeps in Redis (user_service/directory.py writes these keys).

    A missing id means "no such user" only while the completeness marker exists; without it (Redis
    was emptied and user_service has not refilled it yet) or with Redis down, the answer is None.
    """

    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = (
            redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else None
        )

    def exists(self, user_id: int) -> bool | None:
        if self._redis is None:
            return None
        try:
            member, complete = (
                self._redis.pipeline(transaction=False)
                .sismember(USER_IDS, user_id)
                .exists(COMPLETE)
                .execute()
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("user directory unreadable (%s)", type(exc).__name__)
            return None
        return True if member else (False if complete else None)


class BookingService:
    def __init__(
        self, engine: Engine, notifier: Notifier | None = None, users: UserDirectory | None = None
    ) -> None:
        self.engine = engine
        self.notifier = notifier or NullNotifier()
        self.users = users or RedisUserDirectory(None)  # no directory: it can never tell

    def book(self, identity: Identity, body: dict[str, Any], idempotency_key: str | None) -> Reply:
        request = parse_booking(body)
        if request.user_id != identity.user_id:
            if not identity.is_admin:
                raise Forbidden("You can only book for yourself")
            self._require_registered(request.user_id)
        if idempotency_key is None:
            reply = self._transaction(lambda conn: self._create_booking(conn, request))
        else:
            reply = self._idempotent_booking(identity, request, idempotency_key)
        return reply

    def _idempotent_booking(self, identity: Identity, request: BookingRequest, key: str) -> Reply:
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
        fingerprint = _fingerprint(request)

        def create(conn: Connection) -> Reply:
            previous = repo.get_idempotent_response(conn, identity.user_id, key)
            if previous is not None:
                return _replay(previous, fingerprint)
            # The key's row is inserted first: a concurrent retry blocks on it until this commits
            # (then replays) or rolls back (then runs itself).
            repo.reserve_idempotency_key(conn, identity.user_id, key, fingerprint)
            reply = self._create_booking(conn, request)
            repo.record_idempotent_response(conn, identity.user_id, key, reply[1], json.dumps(reply[0]))
            return reply

        try:
            return self._transaction(create)
        except sa_exc.IntegrityError:
            # A concurrent retry with the same key committed first: answer what it answered.
            with self.engine.connect() as conn:
                previous = repo.get_idempotent_response(conn, identity.user_id, key)
            if previous is None:
                raise
            return _replay(previous, fingerprint)

    def _require_registered(self, user_id: int) -> None:
        """An admin books for someone else: that someone must exist.

        When the directory cannot tell (Redis down or not refilled yet) the booking goes ahead, logged:
        a 503 here would count against this instance in the gateway's breaker for every booking.
        """
        known = self.users.exists(user_id)
        if known is None:
            log.warning("admin booking for user %s: the user directory cannot tell if it exists", user_id)
        elif not known:
            raise BadRequest(NOT_A_USER)

    def _create_booking(self, conn: Connection, request: BookingRequest) -> Reply:
        prop = property_repo.get_property(conn, request.property_id, lock=True)
        if prop is None or not prop.availability:
            raise NotFound(PROPERTY_UNAVAILABLE, key="message")
        if repo.has_overlap(conn, request.property_id, request.start, request.end):
            raise Conflict(ALREADY_BOOKED)
        total = prop.price_per_night * request.nights
        if total > MAX_TOTAL:  # only a price set before MAX_PRICE existed can get here
            raise BadRequest("The total price of this stay is too large; book fewer nights")
        booking_id = repo.insert_booking(
            conn,
            user_id=request.user_id,
            property_id=request.property_id,
            start=request.start,
            end=request.end,
            price_per_night=prop.price_per_night,
            total_price=total,
        )
        body = {"bookingId": booking_id, "message": "Booking confirmed", "totalPrice": json_number(total)}
        notify = self.notifier.booking_event
        after_commit(conn, lambda: notify("booked", request.property_id, request.start, request.end))
        return body, 201

    def get_booking(self, identity: Identity, booking_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = repo.get_booking(conn, booking_id)
        if row is None or not _may_see(identity, row.user_id):
            raise NotFound(BOOKING_NOT_FOUND)
        return booking_json(row)

    def my_bookings(self, identity: Identity) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = repo.list_user_bookings(conn, identity.user_id)
        return [booking_summary_json(row) for row in rows]

    def cancel(self, identity: Identity, booking_id: int) -> dict[str, Any]:
        def cancel_locked(conn: Connection) -> dict[str, Any]:
            row = repo.get_booking(conn, booking_id, lock=True)
            if row is None or not _may_see(identity, row.user_id):
                raise NotFound(BOOKING_NOT_FOUND)
            if row.status == repo.CANCELLED:
                raise Conflict("Booking is already cancelled")
            repo.set_booking_status(conn, booking_id, repo.CANCELLED)
            notify = self.notifier.booking_event
            after_commit(conn, lambda: notify("cancelled", row.property_id, row.start_date, row.end_date))
            return {"message": "Booking cancelled successfully"}

        return self._transaction(cancel_locked)

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        return transaction(self.engine, work)


def _may_see(identity: Identity, owner_id: int) -> bool:
    return identity.is_admin or owner_id == identity.user_id


def _fingerprint(request: BookingRequest) -> str:
    canonical = json.dumps(asdict(request), default=str, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(previous: Any, fingerprint: str) -> Reply:
    if previous.request_hash != fingerprint:
        raise ApiError("Idempotency-Key was already used with a different request", 422)
    return json.loads(previous.response_body), int(previous.status_code)
