"""An in-memory unit of work for booking_service's rules (cosmicpython's FakeUnitOfWork): the same
protocols as `booking_service.db.SqlUnitOfWork`, no database, no Redis. A transaction works on a copy
of the state and keeps it only if the work returns; after-commit actions run only then."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from booking_service import errors
from booking_service.bookings.model import CONFIRMED, Booking, HostingQuery
from booking_service.properties.model import Block, Property, PropertyFilters

T = TypeVar("T")
SORT_KEYS: dict[str, Callable[[Property], Any]] = {
    "id": lambda p: p.id,
    "price": lambda p: (p.price_per_night, p.id),
    "-price": lambda p: (-p.price_per_night, -p.id),
    "name": lambda p: (p.name, p.id),
}


def overlaps(start: dt.date, end: dt.date, other_start: dt.date, other_end: dt.date) -> bool:
    return other_start < end and other_end > start


@dataclass
class State:
    properties: dict[int, Property] = field(default_factory=dict)
    retired: set[int] = field(default_factory=set)
    bookings: dict[int, Booking] = field(default_factory=dict)
    blocks: dict[int, Block] = field(default_factory=dict)
    keys: dict[tuple[int, str], tuple[str, str]] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class FakeProperties:
    def __init__(self, state: State) -> None:
        self.s = state

    def get(self, property_id: int, *, lock: bool = False) -> Property | None:
        return None if property_id in self.s.retired else self.s.properties.get(property_id)

    def search(self, filters: PropertyFilters) -> Sequence[Property]:
        found = [
            p
            for p in self.s.properties.values()
            if p.id not in self.s.retired and _matches(self.s, p, filters)
        ]
        found.sort(key=SORT_KEYS[filters.sort])
        return found[filters.offset : filters.offset + filters.limit]

    def of_owner(self, owner_id: int | None) -> Sequence[Property]:
        live = [p for p in self.s.properties.values() if p.id not in self.s.retired]
        return sorted((p for p in live if owner_id is None or p.owner_id == owner_id), key=lambda p: p.id)

    def add(self, values: Mapping[str, Any]) -> int:
        property_id = self.s.new_id()
        defaults = {"availability": True}
        self.s.properties[property_id] = Property(id=property_id, **{**defaults, **values})
        return property_id

    def update(self, property_id: int, values: Mapping[str, Any]) -> None:
        self.s.properties[property_id] = dataclasses.replace(self.s.properties[property_id], **values)

    def retire(self, property_id: int) -> None:
        self.s.retired.add(property_id)

    def has_stays_after(self, property_id: int, day: dt.date) -> bool:
        return any(b.property_id == property_id and b.status == CONFIRMED and b.end_date > day
                   for b in self.s.bookings.values())  # fmt: skip

    def taken_ranges(self, property_id: int, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
        ranges = [(b.start_date, b.end_date) for b in _confirmed(self.s, property_id)]
        ranges += [(b.start_date, b.end_date) for b in self.s.blocks.values() if b.property_id == property_id]
        return sorted(r for r in ranges if overlaps(start, end, *r))

    def blocks(self, property_id: int, start: dt.date, end: dt.date) -> Sequence[Block]:
        return sorted((b for b in self.s.blocks.values() if b.property_id == property_id
                       and overlaps(start, end, b.start_date, b.end_date)), key=lambda b: b.start_date)  # fmt: skip

    def add_block(self, property_id: int, start: dt.date, end: dt.date, created_by: int) -> int:
        block_id = self.s.new_id()
        self.s.blocks[block_id] = Block(block_id, property_id, start, end)
        return block_id

    def remove_block(self, property_id: int, block_id: int) -> bool:
        block = self.s.blocks.get(block_id)
        if block is None or block.property_id != property_id:
            return False
        del self.s.blocks[block_id]
        return True


def _confirmed(state: State, property_id: int) -> list[Booking]:
    return [b for b in state.bookings.values() if b.property_id == property_id and b.status == CONFIRMED]


def _matches(state: State, p: Property, f: PropertyFilters) -> bool:
    checks = [
        not f.location or f.location.lower() in p.location.lower(),
        f.min_price is None or p.price_per_night >= f.min_price,
        f.max_price is None or p.price_per_night <= f.max_price,
        f.available is None or p.availability == f.available,
        f.guests is None or (p.max_guests is not None and p.max_guests >= f.guests),
    ]
    if f.free_from is not None and f.free_to is not None:
        checks.append(not FakeBookings(state).dates_taken(p.id, f.free_from, f.free_to))
    return all(checks)


class FakeBookings:
    def __init__(self, state: State) -> None:
        self.s = state

    def dates_taken(self, property_id: int, start: dt.date, end: dt.date) -> bool:
        return bool(FakeProperties(self.s).taken_ranges(property_id, start, end))

    def add_if_free(self, booking: Booking) -> int | None:
        if self.dates_taken(booking.property_id, booking.start_date, booking.end_date):
            return None
        booking_id = self.s.new_id()
        self.s.bookings[booking_id] = dataclasses.replace(booking, id=booking_id)
        return booking_id

    def get(self, booking_id: int, *, lock: bool = False) -> Booking | None:
        return self.s.bookings.get(booking_id)

    def of_user(self, user_id: int) -> Sequence[Booking]:
        return [b for b in self.s.bookings.values() if b.user_id == user_id]

    def set_status(self, booking: Booking, status: str) -> None:
        self.s.bookings[booking.id] = dataclasses.replace(self.s.bookings[booking.id], status=status)

    def on_listings(self, owner_id: int | None, query: HostingQuery) -> Sequence[Booking]:
        found = [
            b for b in self._on_listings(owner_id)
            if (query.start is None or b.end_date > query.start) and (query.end is None or b.start_date < query.end)
            and query.property_id in (None, b.property_id) and query.status in (None, b.status)
        ]  # fmt: skip
        found.sort(key=lambda b: (b.start_date, b.id))
        return found[query.offset : query.offset + query.limit]

    def confirmed_on_listings(self, owner_id: int | None) -> Sequence[Booking]:
        return [b for b in self._on_listings(owner_id) if b.status == CONFIRMED]

    def _on_listings(self, owner_id: int | None) -> list[Booking]:
        props = self.s.properties
        return [dataclasses.replace(b, property_name=props[b.property_id].name) for b in self.s.bookings.values()
                if owner_id is None or props[b.property_id].owner_id == owner_id]  # fmt: skip


class FakeKeys:
    def __init__(self, state: State) -> None:
        self.s = state

    def get(self, user_id: int, key: str) -> tuple[str, str] | None:
        return self.s.keys.get((user_id, key))

    def reserve(self, user_id: int, key: str, fingerprint: str) -> None:
        if (user_id, key) in self.s.keys:
            raise errors.IdempotencyKeyTaken
        self.s.keys[(user_id, key)] = (fingerprint, "")

    def record(self, user_id: int, key: str, answer: str) -> None:
        self.s.keys[(user_id, key)] = (self.s.keys[(user_id, key)][0], answer)


class FakeTransaction:
    def __init__(self, state: State) -> None:
        self.properties = FakeProperties(state)
        self.bookings = FakeBookings(state)
        self.idempotency = FakeKeys(state)
        self.actions: list[Callable[[], object]] = []

    def after_commit(self, action: Callable[[], object]) -> None:
        self.actions.append(action)


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.actors: list[int | None] = []  # who caused each event (kept out of their own inbox)

    def booking_event(
        self, event: str, property_id: int, start_date: Any, end_date: Any, actor: int | None = None
    ) -> None:
        update = {"propertyId": property_id, "event": event, "startDate": start_date.isoformat(),
                  "endDate": end_date.isoformat()}  # fmt: skip
        self.property_event(property_id, update, actor)

    def property_event(self, property_id: int, update: dict[str, Any], actor: int | None = None) -> None:
        self.events.append((property_id, update))
        self.actors.append(actor)


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.state = State()
        self.notifier = RecordingNotifier()
        self.invalidations = 0
        self.commits = 0

    def transaction(self, work: Callable[[FakeTransaction], T]) -> T:
        draft = copy.deepcopy(self.state)
        tx = FakeTransaction(draft)
        result = work(tx)
        self.state = draft
        self.commits += 1
        for action in tx.actions:
            action()
        return result

    def read(self, work: Callable[[FakeTransaction], T]) -> T:
        return work(FakeTransaction(self.state))

    def booking(self, booking_id: int) -> Booking | None:
        return self.read(lambda tx: tx.bookings.get(booking_id))

    def bookings_of(self, guest_id: int) -> Sequence[Booking]:
        return self.read(lambda tx: tx.bookings.of_user(guest_id))

    def properties_changed(self) -> None:
        self.invalidations += 1

    # Test data, written straight into the state (no rule involved).
    def given_property(self, price: str = "100", *, owner: int | None = None, **fields: Any) -> int:
        values = {"name": f"p{self.state.next_id}", "location": "Town", "price_per_night": Decimal(price),
                  "availability": True, "owner_id": owner, **fields}  # fmt: skip
        return FakeProperties(self.state).add(values)


class Directory:
    """A user directory that answers `known` (True, False, or None: cannot tell) and records who was asked."""

    def __init__(self, known: bool | None = True) -> None:
        self.known = known
        self.asked: list[int] = []

    def exists(self, user_id: int) -> bool | None:
        self.asked.append(user_id)
        return self.known
