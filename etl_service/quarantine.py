"""Quarantine: a source row the warehouse cannot take never halts a run; it goes to `etl_quarantine`
with the reason, in the same transaction as the rest of its batch, and the run loads everything else.

Two kinds of rows end up here:
- unreadable: the database refuses a value while staging (e.g. MariaDB's zero date `0000-00-00`);
  the batch's COPY is retried in halves, so k bad lines among n cost about k·log2(n) small COPYs;
- implausible: `transform.BOOKING_PROBLEM` finds a missing value, a date outside the warehouse
  calendar, check-out not after check-in, a negative price or an unknown status.

A quarantined booking is also removed from `fact_booking` (an older version may have loaded: the source
no longer says that), and leaves the quarantine as soon as a later version of it loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from etl_service.transform import BOOKING_PROBLEM

BOOKINGS = "bookings"
_ON_CONFLICT = (
    "ON CONFLICT (source, source_id) DO UPDATE "
    "SET reason = EXCLUDED.reason, raw_row = EXCLUDED.raw_row, last_seen = EXCLUDED.last_seen"
)
INSERT_REJECTED = (
    f"INSERT INTO etl_quarantine (source, source_id, reason, raw_row) VALUES (:s, :i, :r, :w) {_ON_CONFLICT}"
)
QUARANTINE_STAGED_BOOKINGS = f"""
INSERT INTO etl_quarantine (source, source_id, reason, raw_row)
SELECT '{BOOKINGS}', s.id, p.problem, s::text
FROM stage_fact_booking s CROSS JOIN LATERAL (SELECT {BOOKING_PROBLEM} AS problem) p
WHERE p.problem IS NOT NULL
{_ON_CONFLICT}
RETURNING source_id
"""
RELEASE_LOADED_BOOKINGS = f"""
DELETE FROM etl_quarantine q USING stage_fact_booking s WHERE q.source = '{BOOKINGS}' AND q.source_id = s.id
"""


@dataclass(frozen=True)
class Rejected:
    source_id: int
    reason: str
    raw_row: str


def quarantine_staged_bookings(conn: Connection) -> list[int]:
    """Moves the staged bookings that cannot load into the quarantine; their ids."""
    ids = list(conn.exec_driver_sql(QUARANTINE_STAGED_BOOKINGS).scalars())
    if ids:
        conn.execute(text("DELETE FROM stage_fact_booking WHERE id = ANY(:ids)"), {"ids": ids})
    return ids


def record(conn: Connection, source: str, rejected: Iterable[Rejected]) -> list[int]:
    rows = [{"s": source, "i": r.source_id, "r": r.reason, "w": r.raw_row} for r in rejected]
    if rows:
        conn.execute(text(INSERT_REJECTED), rows)
    return [row["i"] for row in rows]


def settle_bookings(conn: Connection, quarantined: list[int]) -> None:
    """Quarantined bookings leave the fact; the staged ones (about to load) leave the quarantine."""
    if quarantined:
        conn.execute(text("DELETE FROM fact_booking WHERE booking_id = ANY(:ids)"), {"ids": quarantined})
    conn.exec_driver_sql(RELEASE_LOADED_BOOKINGS)


def line_id(line: str) -> int:
    """The source id at the head of an extracted line (the primary key: always an integer)."""
    return int(line.split("\t", 1)[0])
