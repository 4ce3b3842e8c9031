"""A steady mixed load through nginx that records every response, and its reconciliation with MariaDB.

Reads (property list, own profile, own booking) and bookings for slots nobody else asks for (a unique
property + night per request) with an `Idempotency-Key`; a booking whose outcome is unknown (no answer,
5xx) is retried with the same key, as a careful client would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests
import sqlalchemy as sa

from tests.support.client_load import ClientLoop
from tests.support.data import insert_property

BOOKABLE_PROPERTIES = (1, 2, 3, 4)  # the seed's available properties
LOAD_PROPERTIES = 24  # fresh properties per stack: enough one-night slots within the booking horizon
HORIZON_DAYS = 730  # the booking service refuses nights further ahead
READ_KINDS = ("properties", "profile", "booking")
_FIRST_NIGHT = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
_slot_lock = threading.Lock()
_next_slots: dict[tuple[int, ...], int] = {}
_load_properties: dict[str, tuple[int, ...]] = {}


@dataclass(frozen=True)
class LoadUser:
    user_id: int
    token: str


@dataclass(frozen=True)
class Slot:
    """One night of one property, asked for by exactly one booking request of the whole run."""

    user_id: int
    property_id: int
    start: dt.date


@dataclass(frozen=True)
class Outcome:
    kind: str  # "book" or one of READ_KINDS
    status: int | None  # None when no HTTP answer arrived
    error: str | None  # exception name when no HTTP answer arrived
    started: float  # time.monotonic()
    elapsed: float
    json_body: bool

    @property
    def ended(self) -> float:
        return self.started + self.elapsed

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def label(self) -> str:
        return f"{self.kind} {self.status if self.status is not None else self.error}"


@dataclass
class BookingAttempt:
    slot: Slot
    key: str
    final_status: int | None = None
    booking_id: int | None = None
    tries: int = 0


def next_slot(user_id: int, property_ids: tuple[int, ...]) -> Slot:
    with _slot_lock:
        number = _next_slots.get(property_ids, 0)
        _next_slots[property_ids] = number + 1
    night = number // len(property_ids)
    if night >= HORIZON_DAYS - 2:
        raise RuntimeError(f"the load used every night of {len(property_ids)} properties; give it more")
    return Slot(user_id, property_ids[number % len(property_ids)], _FIRST_NIGHT + dt.timedelta(days=night))


def start_new_dates(property_ids: tuple[int, ...]) -> None:
    """Later slots start on a night no earlier slot used, so each load's rows can be told apart."""
    with _slot_lock:
        used = _next_slots.get(property_ids, 0)
        _next_slots[property_ids] = -(-used // len(property_ids)) * len(property_ids)


def load_properties(booking_db_url: str) -> tuple[int, ...]:
    """Fresh available properties of one stack for loads to book, made once per stack."""
    if booking_db_url not in _load_properties:
        engine = sa.create_engine(booking_db_url, connect_args={"ssl_disabled": True})
        try:
            ids = [insert_property(engine, "Load, LD", 80, "load") for _ in range(LOAD_PROPERTIES)]
        finally:
            engine.dispose()
        _load_properties[booking_db_url] = tuple(ids)
    return _load_properties[booking_db_url]


@dataclass
class MixedLoad:
    """`with MixedLoad(url, users) as load:` runs `threads` clients until the block ends."""

    base_url: str
    users: list[LoadUser]
    property_ids: tuple[int, ...] = BOOKABLE_PROPERTIES
    threads: int = 4
    book_every: int = 3
    pause: float = 0.02
    retries: int = 2
    timeout: float = 5.0
    outcomes: list[Outcome] = field(default_factory=list)
    bookings: list[BookingAttempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._steps = [itertools.count(i) for i in range(self.threads)]
        self._own_booking: list[int | None] = [None] * self.threads
        self._clients = ClientLoop(self._step, self.threads)

    def __enter__(self) -> MixedLoad:
        start_new_dates(self.property_ids)
        self._clients.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._clients.__exit__(*exc)

    # ---- the clients ------------------------------------------------------------------------
    def _step(self, session: requests.Session, index: int) -> int:
        """One step of client `index`: a booking every `book_every` steps, else a read (own outcomes)."""
        user, step = self.users[index % len(self.users)], next(self._steps[index])
        if step % self.book_every == 0:
            self._own_booking[index] = self._book(session, user) or self._own_booking[index]
        else:
            kind = READ_KINDS[step % len(READ_KINDS)]
            self._read(session, user, kind, self._own_booking[index])
        time.sleep(self.pause)
        return 200  # what each request got is in `outcomes`

    def _read(self, session: requests.Session, user: LoadUser, kind: str, booking_id: int | None) -> None:
        if kind == "booking" and booking_id is None:
            kind = "properties"
        path = {
            "properties": "/api/bookings/properties",
            "profile": "/api/users/profile",
            "booking": f"/api/bookings/booking/{booking_id}",
        }[kind]
        headers = {} if kind == "properties" else {"Authorization": f"Bearer {user.token}"}
        self._call(session, kind, "GET", path, headers=headers)

    def _book(self, session: requests.Session, user: LoadUser) -> int | None:
        slot = next_slot(user.user_id, self.property_ids)
        attempt = BookingAttempt(slot, uuid.uuid4().hex)
        with self._lock:
            self.bookings.append(attempt)
        body = {
            "userId": slot.user_id,
            "propertyId": slot.property_id,
            "startDate": slot.start.isoformat(),
            "endDate": (slot.start + dt.timedelta(days=1)).isoformat(),
        }
        headers = {"Authorization": f"Bearer {user.token}", "Idempotency-Key": attempt.key}
        for _ in range(1 + self.retries):
            attempt.tries += 1
            status, payload = self._call(session, "book", "POST", "/api/bookings/book", headers, body)
            attempt.final_status = status
            if status is not None and status < 500:
                break
            time.sleep(0.2)
        if attempt.final_status == 201 and isinstance(payload, dict):
            attempt.booking_id = payload.get("bookingId")
        return attempt.booking_id

    def _call(
        self,
        session: requests.Session,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict | None = None,
    ) -> tuple[int | None, object]:
        started = time.monotonic()
        try:
            response = session.request(
                method, self.base_url + path, headers=headers, json=body, timeout=self.timeout
            )
        except requests.RequestException as exc:
            self._record(Outcome(kind, None, type(exc).__name__, started, time.monotonic() - started, False))
            return None, None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        elapsed = time.monotonic() - started
        self._record(Outcome(kind, response.status_code, None, started, elapsed, payload is not None))
        return response.status_code, payload

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    # ---- what happened ----------------------------------------------------------------------
    def failures(self, kinds: tuple[str, ...] | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok and (kinds is None or o.kind in kinds)]

    def server_errors(self, kinds: tuple[str, ...]) -> list[Outcome]:
        """5xx answers and requests that got no answer at all."""
        return [o for o in self.failures(kinds) if o.status is None or o.status >= 500]

    def errors_by_kind(self) -> Counter[str]:
        return Counter(o.label for o in self.failures())

    def count(self, kinds: tuple[str, ...], since: float = 0.0) -> int:
        return sum(1 for o in self.outcomes if o.kind in kinds and o.started >= since)

    def successes_after(self, moment: float, kinds: tuple[str, ...]) -> int:
        return sum(1 for o in self.outcomes if o.kind in kinds and o.ok and o.started >= moment)

    def errors_for(self, fault_at: float) -> float:
        """Seconds from the fault until the end of the last failed request (0 when nothing failed)."""
        last = max((o.ended for o in self.failures() if o.ended >= fault_at), default=fault_at)
        return last - fault_at


@dataclass(frozen=True)
class Reconciliation:
    confirmed: int
    lost: list[Slot]
    duplicated: list[Slot]
    unconfirmed: list[Slot]  # in MariaDB although the client never got a 201
    wrong_ids: list[Slot]  # the 201's bookingId is not the row holding that slot

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unconfirmed or self.wrong_ids)


def reconcile(booking_db_url: str, attempts: list[BookingAttempt]) -> Reconciliation:
    """Every 201 is in MariaDB exactly once, and no slot without a 201 is there at all."""
    if not attempts:
        return Reconciliation(0, [], [], [], [])
    rows = _booking_rows(booking_db_url, attempts)
    stored: dict[Slot, list[int]] = {}
    for booking_id, user_id, property_id, start in rows:
        stored.setdefault(Slot(user_id, property_id, start), []).append(booking_id)
    confirmed = {a.slot: a for a in attempts if a.final_status == 201}
    return Reconciliation(
        confirmed=len(confirmed),
        lost=[slot for slot in confirmed if slot not in stored],
        duplicated=[slot for slot, ids in stored.items() if len(ids) > 1],
        unconfirmed=[slot for slot in stored if slot not in confirmed],
        wrong_ids=[s for s, a in confirmed.items() if s in stored and stored[s] != [a.booking_id]],
    )


def _booking_rows(url: str, attempts: list[BookingAttempt]) -> list[tuple[int, int, int, dt.date]]:
    users = sorted({a.slot.user_id for a in attempts})
    starts = [a.slot.start for a in attempts]
    engine = sa.create_engine(url, connect_args={"ssl_disabled": True})
    try:
        with engine.connect() as conn:
            result = conn.execute(
                sa.text(
                    "SELECT id, user_id, property_id, start_date FROM bookings "
                    "WHERE user_id IN :users AND start_date BETWEEN :low AND :high AND status = 'confirmed'"
                ),
                {"users": tuple(users), "low": min(starts), "high": max(starts)},
            )
            return [(int(r[0]), int(r[1]), int(r[2]), r[3]) for r in result]
    finally:
        engine.dispose()
