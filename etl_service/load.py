"""Load: COPY a batch into a temporary staging table, then one idempotent upsert into the target.

The caller owns the transaction, so a batch, its calendar rows and its watermark commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from etl_service import quarantine
from etl_service.extract import EPOCH, Watermark
from etl_service.quarantine import Rejected
from etl_service.transform import (
    BOOKING_STAGE_COLUMNS,
    DIM_DATE_COLUMNS,
    DIM_PROPERTY_COLUMNS,
    DIM_USER_COLUMNS,
    FACT_BOOKING_COLUMNS,
    FACT_BOOKING_DAYS,
    FACT_BOOKING_SELECT,
    date_dimension,
)


@dataclass(frozen=True)
class TargetTable:
    name: str
    columns: tuple[str, ...]
    key: str
    update_changed: bool = True
    stage_columns: str | None = None  # DDL of a raw staging table; default: like the target
    select: str | None = None  # SELECT turning staged rows into `columns`; default: as staged

    @property
    def stage(self) -> str:
        return f"stage_{self.name}"

    @property
    def stage_ddl(self) -> str:
        shape = f"({self.stage_columns})" if self.stage_columns else f"(LIKE {self.name})"
        return f"CREATE TEMP TABLE IF NOT EXISTS {self.stage} {shape} ON COMMIT DELETE ROWS"

    @property
    def upsert_sql(self) -> str:
        columns = ", ".join(self.columns)
        select = self.select or f"SELECT {columns} FROM {self.stage}"
        head = f"INSERT INTO {self.name} ({columns}) {select} "
        if not self.update_changed:
            return head + f"ON CONFLICT ({self.key}) DO NOTHING"
        others = [c for c in self.columns if c != self.key]
        assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in others)
        mine = ", ".join(f"{self.name}.{c}" for c in others)
        theirs = ", ".join(f"EXCLUDED.{c}" for c in others)
        # Rewriting an unchanged row would still create a dead tuple and count as "loaded".
        return (
            head + f"ON CONFLICT ({self.key}) DO UPDATE SET {assignments} "
            f"WHERE ({mine}) IS DISTINCT FROM ({theirs})"
        )


FACT_BOOKING = TargetTable(
    "fact_booking", FACT_BOOKING_COLUMNS, "booking_id",
    stage_columns=BOOKING_STAGE_COLUMNS, select=FACT_BOOKING_SELECT,
)  # fmt: skip
DIM_USER = TargetTable("dim_user", DIM_USER_COLUMNS, "user_id")
DIM_PROPERTY = TargetTable("dim_property", DIM_PROPERTY_COLUMNS, "property_id")
DIM_DATE = TargetTable("dim_date", DIM_DATE_COLUMNS, "date_key", update_changed=False)


def upsert(conn: Connection, table: TargetTable, rows: Iterable[tuple[Any, ...]]) -> int:
    """Stage `rows` with COPY and merge them; returns how many target rows were inserted or changed."""
    with _copy_into_stage(conn, table) as copy:
        for row in rows:
            copy.write_row(row)
    return merge(conn, table)


def stage_lines(conn: Connection, table: TargetTable, lines: list[str]) -> None:
    """Stage rows already in COPY text format (tab-separated, one per line)."""
    with _copy_into_stage(conn, table) as copy:
        copy.write("\n".join(lines) + "\n")


def merge(conn: Connection, table: TargetTable) -> int:
    return conn.exec_driver_sql(table.upsert_sql).rowcount


@contextmanager
def _copy_into_stage(conn: Connection, table: TargetTable) -> Iterator[Any]:
    conn.exec_driver_sql(table.stage_ddl)
    columns = "" if table.stage_columns else f" ({', '.join(table.columns)})"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY {table.stage}{columns} FROM STDIN") as copy:
        yield copy


@dataclass(frozen=True)
class BatchResult:
    loaded: int
    quarantined: list[int] = field(default_factory=list)  # source ids


def load_fact_lines(conn: Connection, lines: list[str], calendar: Calendar) -> BatchResult:
    """Stages a batch of booking lines, quarantines what cannot load, extends the calendar to cover
    the rest and merges it into the fact."""
    unreadable = stage_readable_lines(conn, FACT_BOOKING, lines)
    quarantined = quarantine.record(conn, quarantine.BOOKINGS, unreadable)
    quarantined += quarantine.quarantine_staged_bookings(conn)
    quarantine.settle_bookings(conn, quarantined)
    first, last = conn.exec_driver_sql(FACT_BOOKING_DAYS).one()
    if first is not None:
        calendar.ensure(conn, first, last)
    return BatchResult(merge(conn, FACT_BOOKING), quarantined)


def stage_readable_lines(conn: Connection, table: TargetTable, lines: list[str]) -> list[Rejected]:
    """Stages `lines` but those the database cannot read, which it returns: a refused COPY is undone
    (savepoint) and retried in halves down to the single bad line."""
    try:
        with conn.begin_nested():
            stage_lines(conn, table, lines)
        return []
    except psycopg.DataError as exc:
        if len(lines) == 1:
            reason = f"unreadable: {str(exc).splitlines()[0][:200]}"
            return [Rejected(quarantine.line_id(lines[0]), reason, lines[0])]
    middle = len(lines) // 2
    return stage_readable_lines(conn, table, lines[:middle]) + stage_readable_lines(
        conn, table, lines[middle:]
    )


def read_watermark(conn: Connection, source: str) -> Watermark:
    row = conn.execute(
        text("SELECT last_updated_at, last_id FROM etl_watermark WHERE source = :source"),
        {"source": source},
    ).first()
    return Watermark(row[0], row[1]) if row else Watermark(EPOCH, 0)


def save_watermark(conn: Connection, source: str, mark: Watermark) -> None:
    conn.execute(
        text(
            "INSERT INTO etl_watermark (source, last_updated_at, last_id) VALUES (:source, :ts, :id) "
            "ON CONFLICT (source) DO UPDATE SET last_updated_at = EXCLUDED.last_updated_at, "
            "last_id = EXCLUDED.last_id"
        ),
        {"source": source, "ts": mark.updated_at, "id": mark.id},
    )


def reset_star(conn: Connection) -> None:
    """`--full`: empty facts, dimensions fed by sources, quarantine and watermarks (the calendar stays)."""
    conn.exec_driver_sql("TRUNCATE fact_booking, dim_user, dim_property, etl_quarantine")
    conn.exec_driver_sql("DELETE FROM etl_watermark")


class Calendar:
    """Keeps dim_date one contiguous range covering every day a loaded fact refers to."""

    def __init__(self, conn: Connection) -> None:
        first, last = conn.exec_driver_sql('SELECT min("date"), max("date") FROM dim_date').one()
        self.first: date | None = first
        self.last: date | None = last

    def ensure(self, conn: Connection, first: date, last: date) -> None:
        if self.first is None or self.last is None:
            upsert(conn, DIM_DATE, date_dimension(first, last))
            self.first, self.last = first, last
            return
        if first < self.first:
            upsert(conn, DIM_DATE, date_dimension(first, self.first - timedelta(days=1)))
            self.first = first
        if last > self.last:
            upsert(conn, DIM_DATE, date_dimension(self.last + timedelta(days=1), last))
            self.last = last
