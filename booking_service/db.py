"""MariaDB engine and the unit of work: one transaction per business operation, rerun on deadlock,
with after-commit hooks (notifications, cache invalidation) that run only once it committed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as sa_exc

from booking_service.bookings.model import Booking
from booking_service.bookings.repository import SqlBookingRepository, SqlIdempotencyRepository
from booking_service.bookings.views import booking_key, guest_key
from booking_service.notifications import Notifier
from booking_service.properties.repository import SqlPropertyRepository
from common.db import make_engine
from common.near_cache import BOOKING_CHANNEL, NearCache

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSACTION_ATTEMPTS = 3
STATEMENTS_SENT = "statements_sent"  # per transaction, in the connection's info: may a lost one rerun?
RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock: the transaction can simply rerun


IDLE_PING_SECONDS = 5.0
# The booking copies the last transaction of this thread (this request) retired: what its answer names to
# the gateway (booking_service/api.py `retiring`), from the same list this unit of work announced.
_RETIRED: ContextVar[tuple[str, ...]] = ContextVar("retired_booking_copies", default=())


def build_engine(
    url: str, *, connect_timeout: float, pool_size: int, statement_timeout: float | None = None
) -> Engine:
    """For transactions. READ COMMITTED: after waiting on the property lock, the overlap check must see
    the winner's row. A server restart while busy is caught by `SqlUnitOfWork.transaction`'s one rerun,
    which counts the statements each transaction sent."""
    engine = _engine(url, "READ COMMITTED", connect_timeout, pool_size, statement_timeout)
    event.listen(engine, "after_cursor_execute", _count_statement)
    return engine


def build_read_engine(
    url: str, *, connect_timeout: float, pool_size: int, statement_timeout: float | None = None
) -> Engine:
    """For single-statement reads: autocommit, one round trip per read, not three (a server restart
    while busy is caught by `SqlUnitOfWork.read`'s one retry)."""
    engine = _engine(url, "AUTOCOMMIT", connect_timeout, pool_size, statement_timeout)
    # SQLAlchemy still ends each connection's use with a DBAPI rollback, which PyMySQL always sends,
    # autocommit or not; in autocommit there is nothing to undo.
    engine.dialect.do_rollback = _nothing_to_roll_back  # type: ignore[method-assign]
    return engine


def _engine(
    url: str, isolation_level: str, connect_timeout: float, pool_size: int, statement_timeout: float | None
) -> Engine:
    """Both engines: a connection is pinged only after IDLE_PING_SECONDS idle, and goes back to the pool
    without the pool's ROLLBACK (every use is a `Connection`, whose close rolls back whatever it left
    open, so after a COMMIT that ROLLBACK was a round trip with nothing to undo)."""
    engine = make_engine(
        url,
        connect_timeout=connect_timeout,
        pool_size=pool_size,
        statement_timeout=statement_timeout,
        isolation_level=isolation_level,
        pool_pre_ping=False,
        pool_reset_on_return=None,
    )
    event.listen(engine, "connect", _use_utc)
    event.listen(engine, "checkin", _mark_idle)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _count_statement(conn: Connection, *_args: Any) -> None:
    conn.info[STATEMENTS_SENT] = conn.info.get(STATEMENTS_SENT, 0) + 1


def _nothing_to_roll_back(_dbapi_connection: Any) -> None:
    return None


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping(reconnect=False)
    except Exception as exc:  # the pool replaces the connection and checks out another
        raise sa_exc.DisconnectionError(str(exc)) from exc


def _use_utc(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")


def is_retryable(error: sa_exc.DBAPIError) -> bool:
    args = getattr(error.orig, "args", ())
    return bool(args) and args[0] in RETRYABLE_MYSQL_ERRORS


class SqlTransaction:
    """The repositories of one connection, and the actions to run once it commits."""

    def __init__(self, conn: Connection) -> None:
        self.properties = SqlPropertyRepository(conn)
        self.bookings = SqlBookingRepository(conn)
        self.idempotency = SqlIdempotencyRepository(conn)
        self.actions: list[Callable[[], object]] = []

    def after_commit(self, action: Callable[[], object]) -> None:
        self.actions.append(action)


class SqlUnitOfWork:
    def __init__(
        self,
        engine: Engine,
        notifier: Notifier,
        on_properties_changed: Callable[[], None],
        read_engine: Engine | None = None,
        *,
        booking_copies: NearCache[Any] | None = None,  # retired here after commits; read by the views
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.notifier = notifier
        self._on_properties_changed = on_properties_changed
        self._booking_copies = booking_copies or NearCache(None, channel=BOOKING_CHANNEL)

    def transaction(self, work: Callable[[SqlTransaction], T]) -> T:
        """Runs `work` in one transaction: rerun on deadlock or lock timeout, and once when the
        connection turns out dead at its first statement (what the pool's ping used to catch;
        nothing was sent, so nothing can have been written)."""
        _RETIRED.set(())
        reconnected = False
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            info: dict[str, Any] = {}
            try:
                with self.engine.connect() as conn:
                    info = conn.info
                    info[STATEMENTS_SENT] = 0
                    tx = SqlTransaction(conn)
                    with conn.begin():
                        result = work(tx)
                break
            except sa_exc.DBAPIError as error:
                if error.connection_invalidated and info.get(STATEMENTS_SENT) == 0 and not reconnected:
                    reconnected = True
                    log.warning("transaction rerun on a new connection after %s", type(error.orig).__name__)
                    continue
                if not is_retryable(error) or attempt == TRANSACTION_ATTEMPTS:
                    raise
                log.warning("transaction retried after %s (attempt %d)", error.orig, attempt)
        keys = [booking_key(booking_id) for booking_id in tx.bookings.changed]
        keys += [guest_key(guest) for guest in tx.bookings.changed_guests]
        _RETIRED.set(tuple(keys))
        announced = [message for key in keys if (message := self._booking_copies.announcement(key))]
        with self.notifier.batch(announced):  # the copies' invalidations and the events: one round trip
            for action in tx.actions:
                action()
        return result

    def retired_by_last_write(self) -> tuple[str, ...]:
        return _RETIRED.get()

    def booking(self, booking_id: int) -> Booking | None:
        return self.read(lambda tx: tx.bookings.get(booking_id))

    def bookings_of(self, guest_id: int) -> Sequence[Booking]:
        return self.read(lambda tx: tx.bookings.of_user(guest_id))

    def read(self, work: Callable[[SqlTransaction], T]) -> T:
        try:
            with self.read_engine.connect() as conn:
                return work(SqlTransaction(conn))
        except sa_exc.DBAPIError as error:
            if not error.connection_invalidated:  # only a dead pooled connection is worth a second try
                raise
        with self.read_engine.connect() as conn:
            return work(SqlTransaction(conn))

    def properties_changed(self) -> None:
        self._on_properties_changed()
