"""Extract: stream changed rows from the sources in `(updated_at, id)` order, one batch at a time.

Bookings come from MariaDB, users from the first PostgreSQL replica (never the primary). One
server-side cursor per source per run: one consistent snapshot, constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from common.db import connect_args_for
from etl_service.errors import SourceUnavailableError
from etl_service.transform import SourceUser, naive_utc

EPOCH = datetime(1970, 1, 1)

# One tab-separated text line per row, already in PostgreSQL COPY text format: PyMySQL decodes one
# string instead of ten typed fields (most of the extract cost) and the line goes to COPY untouched.
# Safe because no column can hold a tab, newline or backslash (ints, dates, decimals, and a status
# limited by a CHECK constraint to 'confirmed'/'cancelled'). The columns are NOT NULL, but CONCAT_WS
# would silently drop a NULL and shift the fields after it, so a NULL is sent as COPY's NULL (\N)
# and quarantined by name. A value COPY refuses (a zero date) is quarantined too (etl_service/quarantine.py).
# `updated_at >= :ts AND (...)` rather than `... OR ...` so both servers range-scan the updated_at index.
BOOKING_COLUMNS = (
    "id", "user_id", "property_id", "start_date", "end_date", "status", "price_per_night", "total_price",
    "created_at", "updated_at",
)  # fmt: skip
# The two characters \N, whatever the server's backslash escaping (a bare CHAR() would be binary).
COPY_NULL = "CONCAT(CHAR(92 USING utf8mb4), 'N')"
BOOKINGS_SQL = f"""
SELECT CONCAT_WS('\t', {", ".join(f"COALESCE({c}, {COPY_NULL})" for c in BOOKING_COLUMNS)}) AS packed
FROM bookings
WHERE updated_at >= :ts AND (updated_at > :ts OR id > :id)
"""
USERS_SQL = """
SELECT id, username, role, created_at, updated_at
FROM users
WHERE updated_at >= :ts AND (updated_at > :ts OR id > :id)
"""
PROPERTIES_SQL = "SELECT id, name, location, price_per_night, availability FROM properties ORDER BY id"


class Watermark(NamedTuple):
    updated_at: datetime
    id: int


class Source(NamedTuple):
    name: str
    engine: Engine
    changed_sql: str
    row_type: Callable[[Any], Any]
    watermark_of: Callable[[Any], Watermark]


def source_engine(url: str, connect_timeout: float) -> Engine:
    """An unpooled engine with a long read timeout: a full extract streams for minutes."""
    args = connect_args_for(url, connect_timeout)
    if make_url(url).drivername.startswith(("mysql", "mariadb")):
        args["read_timeout"] = 600
    return create_engine(url, poolclass=pool.NullPool, connect_args=args)


def booking_source(engine: Engine) -> Source:
    return Source("bookings", engine, BOOKINGS_SQL, itemgetter(0), booking_line_watermark)


def booking_line_watermark(line: str) -> Watermark:
    fields = line.split("\t")
    return Watermark(datetime.fromisoformat(fields[9]), int(fields[0]))


def user_source(engine: Engine) -> Source:
    return Source("users", engine, USERS_SQL, SourceUser._make, user_watermark)


def user_watermark(user: SourceUser) -> Watermark:
    return Watermark(naive_utc(user.updated_at), user.id)


def check_reachable(name: str, engine: Engine) -> None:
    with _guarded(name), engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _session_setup(conn: Any) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TIME ZONE 'UTC'"))
    else:
        # The server drops a streaming client that stops reading for net_write_timeout seconds.
        conn.execute(text("SET SESSION net_write_timeout = 600, time_zone = '+00:00'"))


def count_changed(source: Source, since: Watermark) -> int:
    sql = f"SELECT COUNT(*) FROM ({source.changed_sql}) AS changed"
    with _guarded(source.name), source.engine.connect() as conn:
        _session_setup(conn)
        return int(conn.execute(text(sql), {"ts": since.updated_at, "id": since.id}).scalar_one())


def stream_changed(source: Source, since: Watermark, batch_size: int) -> Iterator[list[Any]]:
    """Batches of rows changed after `since`, oldest first; failures become SourceUnavailableError."""
    sql = text(source.changed_sql + " ORDER BY updated_at, id")
    with _guarded(source.name), source.engine.connect() as conn:
        _session_setup(conn)
        streaming = conn.execution_options(stream_results=True, max_row_buffer=batch_size)
        result = streaming.execute(sql, {"ts": since.updated_at, "id": since.id})
        for partition in result.partitions(batch_size):
            yield [source.row_type(row) for row in partition]


def fetch_properties(engine: Engine) -> list[Any]:
    with _guarded("properties"), engine.connect() as conn:
        return list(conn.execute(text(PROPERTIES_SQL)))


@contextmanager
def _guarded(name: str) -> Iterator[None]:
    """Driver errors while reading a source become SourceUnavailableError, with the source named."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise SourceUnavailableError(f"source {name} failed: {type(exc).__name__}: {exc}") from exc
