"""Primary/replica routing: writes and read-your-writes on the primary, other reads on a replica.

A replica that cannot be reached is skipped for `retry_seconds` and the read runs on the primary
within the same request, so a dead replica costs one failed connect, not one per request.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from psycopg.errors import QueryCanceled
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from common import metric_buffer
from common.cooldown import Cooldown
from common.db import make_engine
from user_service import metrics
from user_service.watchdog import ReadWatchdog

log = logging.getLogger(__name__)
T = TypeVar("T")
PRIMARY = "primary"
# Replica reads are key lookups and bounded pages (milliseconds); one still unanswered after this long
# is on a frozen replica and reruns on the primary.
REPLICA_READ_DEADLINE = 1.0
# Read-your-writes: set by a write, cleared when a request starts (`UserDatabase.start_request`).
_WROTE: ContextVar[bool] = ContextVar("user_db_wrote", default=False)


class UserDatabase:
    """The primary engine, the replica engines, and per-engine statement counters (the
    `user_db_statements` metric; `query_counts` reads them)."""

    def __init__(
        self,
        primary_url: str,
        replica_urls: list[str],
        *,
        retry_seconds: float = 5.0,
        pool_size: int = 10,
        statement_timeout: float | None = None,
        replica_deadline: float = REPLICA_READ_DEADLINE,
    ) -> None:
        self._statement_timeout = statement_timeout
        self._statements = metrics.statement_counter()
        self.primary = self._engine(PRIMARY, primary_url, pool_size)
        # No pre-ping on replicas: a ping to a frozen replica would hang outside the watchdog's reach;
        # a dead pooled connection fails the read instead, which then runs on the primary.
        self.replicas = {
            f"replica{i}": self._engine(f"replica{i}", url, pool_size, pre_ping=False, autocommit=True)
            for i, url in enumerate(replica_urls)
        }
        self._watchdog = ReadWatchdog(replica_deadline)
        self._down = {name: Cooldown(retry_seconds) for name in self.replicas}
        self._next_replica = itertools.count()

    def _engine(
        self, name: str, url: str, pool_size: int, pre_ping: bool = True, autocommit: bool = False
    ) -> Engine:
        # hide_parameters: a failed INSERT's message would otherwise carry the password hash into logs.
        url = _with_application_name(url, f"user_service:{name}")
        engine = make_engine(
            url,
            pool_size=pool_size,
            statement_timeout=self._statement_timeout,
            hide_parameters=True,
            pool_pre_ping=pre_ping,
            # Replicas only serve single-statement reads: no BEGIN/ROLLBACK round trips around them.
            **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
        )
        add = metric_buffer.adder(self._statements.labels(name))
        event.listen(engine, "before_cursor_execute", lambda *_args: add())
        return engine

    @property
    def query_counts(self) -> dict[str, int]:
        """Statements sent so far by server name (`primary`, `replica0`, ...)."""
        found = metrics.counts(self._statements)
        return {name: found.get(name, 0) for name in (PRIMARY, *self.replicas)}

    @staticmethod
    def start_request() -> None:
        """A new request has written nothing yet: its reads may go to a replica again."""
        _WROTE.set(False)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one primary transaction; later reads in this request also use the primary."""
        _WROTE.set(True)
        with self.primary.begin() as connection:
            return work(connection)

    def read_primary(self, work: Callable[[Connection], T]) -> T:
        with self.primary.connect() as connection:
            return work(connection)

    def read_fresh(self, work: Callable[[Connection], T]) -> T:
        """The primary (freshest data); when it is unreachable, a replica rather than an error."""
        try:
            return self.read_primary(work)
        except DBAPIError as exc:
            if not _is_connection_error(exc) or not self.replicas:
                raise
            log.warning(
                "primary unreachable (%s); reading from a replica", type(exc.__cause__ or exc).__name__
            )
        return self._replicas_then_primary(work)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` on a healthy replica, or on the primary (after a write, or when none answers)."""
        if _WROTE.get():
            metrics.read_after_write()
            return self.read_primary(work)
        return self._replicas_then_primary(work)

    def _replicas_then_primary(self, work: Callable[[Connection], T]) -> T:
        for name in self._replica_order():
            try:
                with self.replicas[name].connect() as connection, self._watchdog.guard(connection):
                    result = work(connection)
                metrics.read_on_replica()
                return result
            except DBAPIError as exc:
                if not _is_connection_error(exc):
                    raise
                self._mark_down(name, exc)
        if self.replicas:
            metrics.REPLICA_FALLBACKS.inc()
            metrics.read_on_primary_instead()
        else:
            metrics.read_without_replica()
        return self.read_primary(work)

    def _replica_order(self) -> list[str]:
        alive = [name for name in self.replicas if not self._down[name].active]
        if not alive:
            return []
        start = next(self._next_replica) % len(alive)
        return alive[start:] + alive[:start]

    def _mark_down(self, name: str, exc: Exception) -> None:
        self._down[name].start()
        self.replicas[name].dispose()
        log.warning(
            "replica %s unreachable (%s); reading from the primary for %.1fs",
            name,
            type(exc.__cause__ or exc).__name__,
            self._down[name].seconds,
        )

    def ping_primary(self) -> None:
        with self.primary.connect() as connection:
            connection.execute(text("SELECT 1"))

    def ping_replicas(self) -> None:
        """Raises unless at least one replica answers (no replicas configured counts as down)."""
        errors: list[Exception] = []
        for engine in self.replicas.values():
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception as exc:
                errors.append(exc)
        raise RuntimeError(f"no replica answers ({len(errors)} configured)")

    def dispose(self) -> None:
        for engine in [self.primary, *self.replicas.values()]:
            engine.dispose()


def _with_application_name(url: str, application_name: str) -> str:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or "application_name" in parsed.query:
        return url
    return parsed.update_query_dict({"application_name": application_name}).render_as_string(
        hide_password=False
    )


def _is_connection_error(exc: DBAPIError) -> bool:
    # A statement the server cancelled (statement_timeout) is that request's fault, not the replica's:
    # rerunning it on the primary would only double its cost.
    if isinstance(exc.orig, QueryCanceled):
        return False
    return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
