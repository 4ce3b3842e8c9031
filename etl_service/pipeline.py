"""One ETL run: lock, check sources, then properties → users → bookings, one transaction per batch."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from common import tracing
from common.db import make_engine
from etl_service import load, metrics, transform
from etl_service.errors import EtlError, RunInProgressError
from etl_service.extract import (
    Source,
    Watermark,
    booking_source,
    check_reachable,
    count_changed,
    fetch_properties,
    source_engine,
    stream_changed,
    user_source,
)
from etl_service.prefetch import prefetched
from etl_service.settings import EtlSettings

log = logging.getLogger(__name__)
BatchLoader = Callable[[Connection, list[Any]], load.BatchResult]
SHOWN_IDS = 20  # quarantined ids printed in the summary (all are in etl_quarantine)
RUN_LOCK_KEY = 7_007_007  # pg advisory lock id: one ETL run at a time per warehouse


@dataclass
class TableStats:
    extracted: int = 0
    loaded: int = 0
    quarantined: list[int] = field(default_factory=list)  # source ids, see etl_quarantine


@dataclass
class RunSummary:
    mode: str
    tables: dict[str, TableStats] = field(default_factory=dict)
    duration_s: float = 0.0

    def as_text(self) -> str:
        lines = [f"etl {self.mode} run finished in {self.duration_s:.2f} s"]
        for name, stats in self.tables.items():
            lines.append(
                f"  {name:<13} extracted {stats.extracted:>9}  loaded {stats.loaded:>9}"
                f"  quarantined {len(stats.quarantined):>6}"
            )
        for name, stats in self.tables.items():
            if stats.quarantined:
                shown = ", ".join(map(str, stats.quarantined[:SHOWN_IDS]))
                more = len(stats.quarantined) - SHOWN_IDS
                lines.append(f"  quarantined {name} ids: {shown}" + (f" (+{more} more)" if more > 0 else ""))
        return "\n".join(lines)

    def as_log_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"etl.mode": self.mode, "etl.duration_s": round(self.duration_s, 3)}
        for name, stats in self.tables.items():
            fields[f"etl.{name}.extracted"] = stats.extracted
            fields[f"etl.{name}.loaded"] = stats.loaded
            fields[f"etl.{name}.quarantined"] = len(stats.quarantined)
            if stats.quarantined:
                fields[f"etl.{name}.quarantined_ids"] = stats.quarantined[:100]
        return fields


@dataclass
class _Run:
    settings: EtlSettings
    warehouse: Engine


def run_etl(settings: EtlSettings, *, full: bool = False) -> RunSummary:
    """Run once now; raises EtlError (RunInProgressError, SourceUnavailableError included) on failure.
    Either way the outcome is pushed to the Pushgateway when one is configured."""
    try:
        summary = _run_once(settings, full)
    except EtlError:
        metrics.push_failure(settings.pushgateway_url)
        raise
    metrics.push_success(settings.pushgateway_url, summary)
    return summary


def _run_once(settings: EtlSettings, full: bool) -> RunSummary:
    started = time.perf_counter()
    summary = RunSummary("full" if full else "incremental")
    timeout = settings.db_connect_timeout
    warehouse = make_engine(settings.warehouse_db_url, pool_size=2, connect_timeout=timeout)
    bookings = source_engine(settings.booking_db_url, timeout)
    users = source_engine(settings.user_db_url, timeout)
    try:
        with run_lock(warehouse):
            check_reachable("bookings (MariaDB)", bookings)
            check_reachable("users (PostgreSQL replica)", users)
            run = _Run(settings, warehouse)
            if full:
                with warehouse.begin() as conn:
                    load.reset_star(conn)
            summary.tables["dim_property"] = _load_properties(run, bookings)
            summary.tables["dim_user"] = _load_changed(run, user_source(users), _load_users)
            summary.tables["fact_booking"] = _load_changed(run, booking_source(bookings), _fact_loader(run))
    except (SQLAlchemyError, psycopg.Error) as exc:
        raise EtlError(f"warehouse failed: {type(exc).__name__}: {exc}") from exc
    finally:
        for engine in (warehouse, bookings, users):
            engine.dispose()
    summary.duration_s = time.perf_counter() - started
    quarantined = sum(len(stats.quarantined) for stats in summary.tables.values())
    if quarantined:
        log.warning("etl run quarantined %d source rows (see etl_quarantine)", quarantined)
    log.info("etl run finished", extra=summary.as_log_fields())
    return summary


@contextmanager
def run_lock(warehouse: Engine) -> Iterator[None]:
    """A session-level advisory lock: released on exit, or by the server if the process dies."""
    try:
        conn = warehouse.connect()
    except SQLAlchemyError as exc:
        raise EtlError(f"warehouse is unavailable: {type(exc).__name__}: {exc}") from exc
    try:
        locked = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK_KEY}).scalar_one()
        conn.commit()
        if not locked:
            raise RunInProgressError("another ETL run is in progress (warehouse lock held)")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK_KEY})
            conn.commit()
    finally:
        conn.close()


def _load_properties(run: _Run, bookings: Engine) -> TableStats:
    rows = [transform.property_dimension(row) for row in fetch_properties(bookings)]
    with run.warehouse.begin() as conn:
        loaded = load.upsert(conn, load.DIM_PROPERTY, rows)
    return TableStats(extracted=len(rows), loaded=loaded)


def _load_users(conn: Connection, users: list[Any]) -> load.BatchResult:
    return load.BatchResult(
        load.upsert(conn, load.DIM_USER, (transform.user_dimension(user) for user in users))
    )


def _fact_loader(run: _Run) -> BatchLoader:
    with run.warehouse.connect() as conn:
        calendar = load.Calendar(conn)
    return partial(load.load_fact_lines, calendar=calendar)


def _load_changed(run: _Run, source: Source, load_batch: BatchLoader) -> TableStats:
    with run.warehouse.connect() as conn:
        mark = load.read_watermark(conn, source.name)
    lookback = _minus_seconds(mark, run.settings.etl_lookback_seconds)
    stats = TableStats()
    batches = stream_changed(source, lookback, run.settings.batch_size)
    with _progress(source, lookback) as bar, prefetched(batches) as ready:
        for batch in ready:
            last = source.watermark_of(batch[-1])
            result = _commit_batch(run, source.name, load_batch, batch, last)
            stats.loaded += result.loaded
            stats.quarantined += result.quarantined
            stats.extracted += len(batch)
            bar.update(len(batch))
    return stats


def _commit_batch(
    run: _Run, source: str, load_batch: BatchLoader, batch: list[Any], mark: Watermark
) -> load.BatchResult:
    """The batch (quarantined rows included) and its watermark in one transaction: all or nothing."""
    with (
        tracing.span("etl batch", **{"etl.source": source, "etl.rows": len(batch)}),
        run.warehouse.begin() as conn,
    ):
        result = load_batch(conn, batch)
        load.save_watermark(conn, source, mark)
    return result


def _minus_seconds(mark: Watermark, seconds: int) -> Watermark:
    if mark.id == 0 or seconds == 0:
        return mark
    return Watermark(mark.updated_at - timedelta(seconds=seconds), 0)


@contextmanager
def _progress(source: Source, since: Watermark) -> Iterator[Any]:
    """A progress bar on a terminal only (counting the rows costs one extra query)."""
    interactive = sys.stderr.isatty()
    total = count_changed(source, since) if interactive else None
    with tqdm(total=total, desc=source.name, unit="rows", disable=not interactive) as bar:
        yield bar
