"""MariaDB engine and the unit of work: one transaction per business operation, rerun on deadlock,
with after-commit hooks (notifications, cache invalidation) that run only once it committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as sa_exc

from booking_service.bookings.repository import SqlBookingRepository, SqlIdempotencyRepository
from booking_service.ports import Notifications
from booking_service.properties.repository import SqlPropertyRepository
from common.db import make_engine

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSACTION_ATTEMPTS = 3
RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock: the transaction can simply rerun


def build_engine(
    url: str, *, connect_timeout: float, pool_size: int, statement_timeout: float | None = None
) -> Engine:
    # READ COMMITTED: after waiting on the property lock, the overlap check must see the winner's row.
    engine = make_engine(
        url,
        connect_timeout=connect_timeout,
        pool_size=pool_size,
        statement_timeout=statement_timeout,
        isolation_level="READ COMMITTED",
    )
    event.listen(engine, "connect", _use_utc)
    return engine


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
        self, engine: Engine, notifier: Notifications, on_properties_changed: Callable[[], None]
    ) -> None:
        self.engine = engine
        self.notifier = notifier
        self._on_properties_changed = on_properties_changed

    def transaction(self, work: Callable[[SqlTransaction], T]) -> T:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                with self.engine.connect() as conn:
                    tx = SqlTransaction(conn)
                    with conn.begin():
                        result = work(tx)
                break
            except sa_exc.OperationalError as error:
                if not is_retryable(error) or attempt == TRANSACTION_ATTEMPTS:
                    raise
                log.warning("transaction retried after %s (attempt %d)", error.orig, attempt)
        for action in tx.actions:
            action()
        return result

    def read(self, work: Callable[[SqlTransaction], T]) -> T:
        with self.engine.connect() as conn:
            return work(SqlTransaction(conn))

    def properties_changed(self) -> None:
        self._on_properties_changed()
