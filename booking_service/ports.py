"""What the rules need from the outside world, as protocols: the SQL adapters (`db.py`,
`*/repository.py`) implement them in production, `tests/unit/fakes.py` in memory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from booking_service.bookings.model import Booking, HostingQuery
from booking_service.properties.model import Block, Property, PropertyFilters

T = TypeVar("T")


class PropertyRepository(Protocol):
    def get(self, property_id: int, *, lock: bool = False) -> Property | None: ...
    def search(self, filters: PropertyFilters) -> Sequence[Property]: ...

    def of_owner(self, owner_id: int | None) -> Sequence[Property]: ...
    def add(self, values: Mapping[str, Any]) -> int: ...
    def update(self, property_id: int, values: Mapping[str, Any]) -> None: ...
    def retire(self, property_id: int) -> None: ...
    def has_stays_after(self, property_id: int, day: dt.date) -> bool: ...
    def taken_ranges(
        self, property_id: int, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, dt.date]]: ...
    def blocks(self, property_id: int, start: dt.date, end: dt.date) -> Sequence[Block]: ...
    def add_block(self, property_id: int, start: dt.date, end: dt.date, created_by: int) -> int: ...
    def remove_block(self, property_id: int, block_id: int) -> bool: ...


class BookingRepository(Protocol):
    def dates_taken(self, property_id: int, start: dt.date, end: dt.date) -> bool: ...
    def add_if_free(self, booking: Booking) -> int | None:
        """The new booking's id, or None when a confirmed booking or an owner's block holds one of its
        nights (checked and written at once, under the property's lock)."""
        ...

    def get(self, booking_id: int, *, lock: bool = False) -> Booking | None: ...
    def of_user(self, user_id: int) -> Sequence[Booking]: ...
    def set_status(self, booking: Booking, status: str) -> None:
        """`booking` as read under lock in this transaction."""
        ...

    def on_listings(self, owner_id: int | None, query: HostingQuery) -> Sequence[Booking]: ...
    def confirmed_on_listings(self, owner_id: int | None) -> Sequence[Booking]: ...


class IdempotencyRepository(Protocol):
    def get(self, user_id: int, key: str) -> tuple[str, str] | None:
        """(request fingerprint, recorded answer as JSON text), or None."""
        ...

    def reserve(self, user_id: int, key: str, fingerprint: str) -> None:
        """Raises IdempotencyKeyTaken when a concurrent request committed the key first."""
        ...

    def record(self, user_id: int, key: str, answer: str) -> None: ...


class Transaction(Protocol):
    properties: PropertyRepository
    bookings: BookingRepository
    idempotency: IdempotencyRepository

    def after_commit(self, action: Callable[[], object]) -> None: ...


class Notifications(Protocol):
    """Socket.IO `notification_update` events to a property's room (`notifications.Notifier`)."""

    def booking_event(
        self, event: str, property_id: int, start_date: Any, end_date: Any, actor: int | None = None
    ) -> None: ...
    def property_event(self, property_id: int, update: dict[str, Any], actor: int | None = None) -> None:
        """`actor`: who caused it; their own inbox leaves it out (clients never see it)."""
        ...


class UnitOfWork(Protocol):
    notifier: Notifications

    def transaction(self, work: Callable[[Transaction], T]) -> T:
        """Runs `work` in one transaction (rerun on deadlock); its after-commit actions run on success."""
        ...

    def read(self, work: Callable[[Transaction], T]) -> T:
        """Runs `work` on a connection without locks."""
        ...

    def booking(self, booking_id: int) -> Booking | None:
        """One booking, read without locks."""
        ...

    def bookings_of(self, guest_id: int) -> Sequence[Booking]:
        """A guest's bookings in id order."""
        ...

    def properties_changed(self) -> None:
        """Retires every cached property read (called after a commit)."""
        ...

    def retired_by_last_write(self) -> tuple[str, ...]:
        """The booking copies' keys the calling thread's last transaction retired (announced to every
        instance once it committed); () when it changed none or did not commit."""
        ...


class UserDirectory(Protocol):
    def exists(self, user_id: int) -> bool | None:
        """True, False, or None when it cannot tell."""
        ...
