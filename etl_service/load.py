"""Load: COPY a batch into a temporary staging table, then one idempotent upsert into the target.

The caller owns the transaction, so a batch, its calendar rows and its watermark commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from etl_service.extract import EPOCH, Watermark
from etl_service.transform import (
    DIM_DATE_COLUMNS,
    DIM_PROPERTY_COLUMNS,
    DIM_USER_COLUMNS,
    FACT_BOOKING_COLUMNS,
    date_dimension,
)

STAR_TABLES = ("fact_booking", "dim_user", "dim_property", "dim_date")


@dataclass(frozen=True)
class TargetTable:
    name: str
    columns: tuple[str, ...]
    key: str
    update_changed: bool = True

    @property
    def upsert_sql(self) -> str:
        columns = ", ".join(self.columns)
        head = f"INSERT INTO {self.name} ({columns}) SELECT {columns} FROM stage_{self.name} "
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


FACT_BOOKING = TargetTable("fact_booking", FACT_BOOKING_COLUMNS, "booking_id")
DIM_USER = TargetTable("dim_user", DIM_USER_COLUMNS, "user_id")
DIM_PROPERTY = TargetTable("dim_property", DIM_PROPERTY_COLUMNS, "property_id")
DIM_DATE = TargetTable("dim_date", DIM_DATE_COLUMNS, "date_key", update_changed=False)


def upsert(conn: Connection, table: TargetTable, rows: Iterable[tuple[Any, ...]]) -> int:
    """Stage `rows` with COPY and merge them; returns how many target rows were inserted or changed."""
    stage = f"stage_{table.name}"
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY {stage} ({', '.join(table.columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return conn.exec_driver_sql(table.upsert_sql).rowcount


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
    """`--full`: empty facts, dimensions fed by sources, and watermarks (the calendar stays)."""
    conn.exec_driver_sql("TRUNCATE fact_booking, dim_user, dim_property")
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
