"""Does a property exist? Asked of the booking database before a client may watch or join it.

Read-only and bounded: a session that MariaDB itself holds read-only, at most `POOL_SIZE` connections
(no overflow; a caller waits at most `POOL_WAIT_SECONDS` for one), 1 s to connect and per statement.
Answers are remembered per process: a live property for `FOUND_TTL_SECONDS`, a missing one for
`MISSING_TTL_SECONDS` (so a property created a moment ago is found a second later), in a table of at
most `MAX_ENTRIES` ids, oldest dropped first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event

from booking_service.properties.repository import LIVE
from booking_service.schema import properties
from common.db import connect_args_for

POOL_SIZE = 4
POOL_WAIT_SECONDS = 1.0
DB_TIMEOUT_SECONDS = 1.0
FOUND_TTL_SECONDS = 30.0
MISSING_TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000

Lookup = Callable[[int], bool]


def read_only_engine(url: str) -> Engine:
    """Connects on first use, not here."""
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_WAIT_SECONDS,
        pool_recycle=1800,
        connect_args=connect_args_for(url, DB_TIMEOUT_SECONDS, DB_TIMEOUT_SECONDS),
    )
    event.listen(engine, "connect", _read_only_session)
    return engine


def _read_only_session(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION READ ONLY")


def live_property_lookup(engine: Engine) -> Lookup:
    def exists(property_id: int) -> bool:
        query = sa.select(sa.literal(1)).where(properties.c.id == property_id, LIVE).limit(1)
        with engine.connect() as conn:
            return conn.execute(query).first() is not None

    return exists


class PropertyDirectory:
    """`exists(id)` through a short-lived, size-bounded memory of earlier answers."""

    def __init__(
        self,
        lookup: Lookup,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._max = max_entries
        self._known: OrderedDict[int, tuple[bool, float]] = OrderedDict()
        self._lock = threading.Lock()

    def exists(self, property_id: int) -> bool:
        """Raises the lookup's error (the database is down) rather than guessing."""
        now = self._clock()
        with self._lock:
            known = self._known.get(property_id)
        if known is not None and now < known[1]:
            return known[0]
        found = self._lookup(property_id)
        ttl = FOUND_TTL_SECONDS if found else MISSING_TTL_SECONDS
        with self._lock:
            self._known[property_id] = (found, now + ttl)
            self._known.move_to_end(property_id)
            while len(self._known) > self._max:
                self._known.popitem(last=False)
        return found
