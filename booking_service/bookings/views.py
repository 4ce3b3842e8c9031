"""The read side of bookings, as `properties/views.py` is of properties: a booking and a guest's list
answered as encoded JSON from this process's copies, so a copy hit is served as stored — no rows turned
into objects, dictionaries and JSON again (a guest with 45 bookings cost ~0.3 ms of that per request).

The copies live in the `NearCache` whose keys the unit of work retires after every committed change
(`str(booking_id)` and `guest:<id>`), on every instance, by pub/sub.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from booking_service import errors, serializers
from booking_service.bookings import services
from booking_service.ports import UnitOfWork
from common.identity import Identity
from common.near_cache import COPY_UNTIL_BOOKING_CHANGES, NearCache


@dataclass(frozen=True)
class EncodedBooking:
    guest_id: int  # who may read it (with admins): checked on every read, copy or not
    body: bytes


class BookingViews:
    def __init__(self, uow: UnitOfWork, copies: NearCache[Any] | None = None) -> None:
        self.uow = uow
        self.copies = copies or NearCache(None, channel="")

    def booking(self, identity: Identity, booking_id: int) -> bytes:
        found = self.copies.read_through(booking_key(booking_id), lambda: self._encoded_booking(booking_id))
        if found is None or not services.may_read_booking(identity, found.guest_id):
            raise errors.BookingNotFound
        return found.body

    def guest_bookings(self, identity: Identity) -> bytes:
        return self.copies.read_through(
            guest_key(identity.user_id),
            lambda: orjson.dumps(
                [serializers.booking_summary_json(b) for b in services.my_bookings(self.uow, identity)]
            ),
        )

    def copy_mark(self, key: str) -> str | None:
        """The gateway's licence to copy, for the same reader, an answer built from the copy under `key`
        until that key is retired: only while this service announces the changes (common.near_cache)."""
        return COPY_UNTIL_BOOKING_CHANGES + key if self.copies.enabled else None

    def _encoded_booking(self, booking_id: int) -> EncodedBooking | None:
        booking = self.uow.booking(booking_id)
        if booking is None:
            return None
        return EncodedBooking(booking.user_id, orjson.dumps(serializers.booking_json(booking)))


def booking_key(booking_id: int) -> str:
    return str(booking_id)


def guest_key(guest_id: int) -> str:
    return f"guest:{guest_id}"
