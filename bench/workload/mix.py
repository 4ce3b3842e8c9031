"""The mixed workload, after DeathStarBench's hotel-reservation mix, and the data it needs.

60 % property browsing (list with filters), 39 % booking reads (`/booking/{id}` and `/mine`), 0.5 % login,
0.5 % book or cancel. Every request is pre-encoded; book requests take a night nobody holds and cancel
requests a booking nobody cancelled yet, across every run of the suite, so all should answer 2xx.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from itertools import count
from urllib.parse import urlencode

import requests
import sqlalchemy as sa

from bench.workload.loadgen import Request

MIX = (("browse", 0.60), ("booking_read", 0.39), ("login", 0.005), ("book_cancel", 0.005))
WRITES_AND_LOGINS = ("login", "book", "cancel")  # the request kinds of the mix's last two shares
CITIES = ("Paris", "Lisbon", "Denver", "Austin", "Kyoto", "Oslo", "Malibu, CA", "Aspen, CO", "Rome", "Cusco")
PROPERTIES, READERS, BOOKINGS_PER_READER, CANCELLABLE = 200, 100, 5, 4000
FIRST_READER = 50_001
LOGIN_USERS, LOGIN_PASSWORD = 8, "bench-password-123"


def http_request(
    method: str, path: str, token: str | None = None, body: object | None = None, *, no_cache: bool = False
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if no_cache:
        lines.append("Cache-Control: no-cache")
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def browse_paths() -> list[str]:
    """The 40-odd filter variants a browsing user picks from (so the cache sees a realistic key set)."""
    queries: list[dict[str, object]] = [{}, {"available": "true"}, {"sort": "price"}, {"sort": "-price"}]
    queries += [{"location": city} for city in CITIES]
    queries += [{"maxPrice": price, "sort": "price"} for price in (100, 150, 200, 300, 450)]
    queries += [{"location": city, "maxPrice": 300} for city in CITIES[:5]]
    queries += [{"minPrice": 200, "limit": 20, "offset": offset} for offset in (0, 20, 40)]
    queries += [{"sort": "name", "limit": 20, "offset": offset} for offset in (0, 20, 40, 60)]
    return ["/api/bookings/properties" + (f"?{urlencode(q)}" if q else "") for q in queries]


@dataclass
class Fixture:
    """Seeded ids and tokens, plus the cursors that keep book/cancel requests unique across runs."""

    property_ids: list[int]
    reader_bookings: dict[int, list[int]]
    tokens: dict[int, str]
    cancellable: list[tuple[int, int]]
    logins: list[dict[str, str]]
    profile_token: str  # a registered user's (the readers exist only in MariaDB, they have no profile)
    book_cursor: count = field(default_factory=count)
    cancel_cursor: count = field(default_factory=count)


def seed(booking_db_url: str, user_service_url: str, sign: object) -> Fixture:
    """Properties, bookings to read and to cancel (straight into MariaDB), and users who log in."""
    engine = sa.create_engine(booking_db_url, connect_args={"ssl_disabled": True})
    try:
        with engine.begin() as conn:
            property_ids = _insert_properties(conn)
            reads, cancellable = _insert_bookings(conn, property_ids)
    finally:
        engine.dispose()
    readers = sorted(reads)
    tokens = {uid: sign(uid, "user") for uid in readers}  # type: ignore[operator]
    logins = _register(user_service_url)
    signed_in = [_log_in(user_service_url, creds) for creds in logins]
    return Fixture(property_ids, reads, tokens, cancellable, logins, signed_in[0])


def _log_in(user_service_url: str, creds: dict[str, str]) -> str:
    """Once per account before the run, as a returning user has: the login limiter charges parallel
    attempts of an email that never signed in from this address as guesses (user_service/limiter.py), and
    the mix sends each account's logins from one address, many at once near the maximum."""
    answer = requests.post(f"{user_service_url}/api/users/login", json=creds, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["token"])


def _insert_properties(conn: sa.Connection) -> list[int]:
    rng = random.Random(11)
    rows = [
        {"n": f"Bench home {i}", "l": CITIES[i % len(CITIES)], "p": rng.randrange(50, 600)}
        for i in range(PROPERTIES)
    ]
    conn.execute(
        sa.text(
            "INSERT INTO properties (name, location, price_per_night, availability) VALUES (:n, :l, :p, 1)"
        ),
        rows,
    )
    return list(conn.execute(sa.text("SELECT id FROM properties WHERE name LIKE 'Bench home %'")).scalars())


def _insert_bookings(
    conn: sa.Connection, property_ids: list[int]
) -> tuple[dict[int, list[int]], list[tuple[int, int]]]:
    """Past stays (2021 to read, 2022 to cancel): they never collide with the future nights booked."""
    rows = []
    for n in range(READERS * BOOKINGS_PER_READER + CANCELLABLE):
        year = 2021 if n < READERS * BOOKINGS_PER_READER else 2022
        start = dt.date(year, 1, 1) + dt.timedelta(days=n // len(property_ids) % 360)
        rows.append(
            {"u": FIRST_READER + n % READERS, "p": property_ids[n % len(property_ids)], "s": start,
             "e": start + dt.timedelta(days=1)}
        )  # fmt: skip
    conn.execute(
        sa.text(
            "INSERT INTO bookings (user_id, property_id, start_date, end_date, status, price_per_night,"
            " total_price) VALUES (:u, :p, :s, :e, 'confirmed', 100, 100)"
        ),
        rows,
    )
    found = conn.execute(
        sa.text("SELECT id, user_id, YEAR(start_date) FROM bookings WHERE user_id >= :u ORDER BY id"),
        {"u": FIRST_READER},
    ).all()
    reads: dict[int, list[int]] = {}
    for booking_id, user_id, year in found:
        if year == 2021:
            reads.setdefault(user_id, []).append(booking_id)
    cancellable = [(booking_id, user_id) for booking_id, user_id, year in found if year == 2022]
    return reads, cancellable


def _register(user_service_url: str) -> list[dict[str, str]]:
    users = []
    for i in range(LOGIN_USERS):
        creds = {"email": f"bench-login-{i}@example.com", "password": LOGIN_PASSWORD}
        requests.post(
            f"{user_service_url}/api/users/register", json={"username": f"bench{i}", **creds}, timeout=30
        )
        users.append(creds)
    return users


# How browse requests meet nginx's edge micro-cache (anonymous reads only; a token or no-cache bypasses it).
EDGE_CACHED, NO_CACHE, SIGNED_IN = "edge cache", "edge cache bypassed (no-cache)", "browsing signed in"
BROWSE_MODES = (EDGE_CACHED, NO_CACHE, SIGNED_IN)


class Planner:
    """Draws requests of the mix; book and cancel requests consume the fixture's unique slots.

    `browse`: EDGE_CACHED sends anonymous reads (nginx answers most from its micro-cache); NO_CACHE adds
    `Cache-Control: no-cache`, which nginx honours as a bypass; the gateway does not relay it (no client
    may send every read to the database), so booking_service's own caches, retired by every write, answer
    as for anyone; SIGNED_IN sends a reader's token, which also bypasses only the edge cache.
    """

    def __init__(self, fixture: Fixture, seed: int = 1, browse: str = NO_CACHE) -> None:
        self.fixture, self.rng, self.browse_mode = fixture, random.Random(seed), browse
        self.paths = browse_paths()
        self.browse = [("browse", http_request("GET", p, no_cache=browse == NO_CACHE)) for p in self.paths]
        self.kinds = [kind for kind, _ in MIX]
        self.weights = [weight for _, weight in MIX]

    def with_browse(self, browse: str) -> Planner:
        """The same fixture (and its book/cancel cursors) with browse requests of another kind."""
        return Planner(self.fixture, self.rng.randrange(1 << 30), browse)

    def plan(self, total: int) -> list[Request]:
        makers = {"browse": self._browse, "booking_read": self._booking_read, "login": self.login,
                  "book_cancel": self._book_cancel}  # fmt: skip
        return [makers[kind]() for kind in self.rng.choices(self.kinds, self.weights, k=total)]

    def _browse(self) -> Request:
        if self.browse_mode == SIGNED_IN:
            token = self.fixture.tokens[self.rng.choice(list(self.fixture.tokens))]
            return "browse", http_request("GET", self.rng.choice(self.paths), token)
        return self.rng.choice(self.browse)

    def _booking_read(self) -> Request:
        user_id = self.rng.choice(list(self.fixture.reader_bookings))
        token = self.fixture.tokens[user_id]
        if self.rng.random() < 1 / 3:
            return "mine", http_request("GET", "/api/bookings/mine", token)
        booking_id = self.rng.choice(self.fixture.reader_bookings[user_id])
        return "booking_by_id", http_request("GET", f"/api/bookings/booking/{booking_id}", token)

    def login(self) -> Request:
        return "login", http_request("POST", "/api/users/login", body=self.rng.choice(self.fixture.logins))

    def _book_cancel(self) -> Request:
        if self.rng.random() < 0.5:
            booking_id, user_id = self.fixture.cancellable[next(self.fixture.cancel_cursor)]
            return "cancel", http_request(
                "DELETE", f"/api/cancel-booking/{booking_id}", self.fixture.tokens[user_id]
            )
        slot = next(self.fixture.book_cursor)
        ids = self.fixture.property_ids
        start = dt.date.today() + dt.timedelta(days=30 + slot // len(ids))
        user_id = FIRST_READER + slot % READERS
        body = {"userId": user_id, "propertyId": ids[slot % len(ids)], "startDate": start.isoformat(),
                "endDate": (start + dt.timedelta(days=1)).isoformat()}  # fmt: skip
        return "book", http_request("POST", "/api/bookings/book", self.fixture.tokens[user_id], body)
