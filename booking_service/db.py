"""MariaDB engine for the booking service, and the one place database outages become 503s."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response
from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as sa_exc

from common.db import make_engine
from common.errors import error_response

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSACTION_ATTEMPTS = 3

UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
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


def register_db_error_handler(app: Flask) -> None:
    def unavailable(error: Exception) -> Response:
        log.error("database unavailable: %s", type(error).__name__)
        return error_response(503, "Service unavailable", headers={"Retry-After": "1"})

    for error_class in UNAVAILABLE:
        app.register_error_handler(error_class, unavailable)


def transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Runs `work` in one transaction, rerun on deadlock; its `after_commit` actions run only on success."""
    for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
        try:
            with engine.connect() as conn:
                conn.info["after_commit"] = []
                with conn.begin():
                    result = work(conn)
                actions = conn.info.pop("after_commit")
            break
        except sa_exc.OperationalError as error:
            if not is_retryable(error) or attempt == TRANSACTION_ATTEMPTS:
                raise
            log.warning("transaction retried after %s (attempt %d)", error.orig, attempt)
    for action in actions:
        action()
    return result


def after_commit(conn: Connection, action: Callable[[], object]) -> None:
    """Schedules `action` (cache invalidation, notification) for after this transaction commits."""
    conn.info["after_commit"].append(action)
