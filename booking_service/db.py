"""MariaDB engine for the booking service, and the one place database outages become 503s."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response
from sqlalchemy import Engine, event
from sqlalchemy import exc as sa_exc

from common.db import make_engine
from common.errors import error_response

log = logging.getLogger(__name__)

UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
RETRYABLE_MYSQL_ERRORS = {1205, 1213}  # lock wait timeout, deadlock: the transaction can simply rerun


def build_engine(url: str, *, connect_timeout: float, pool_size: int) -> Engine:
    # READ COMMITTED: after waiting on the property lock, the overlap check must see the winner's row.
    engine = make_engine(
        url, connect_timeout=connect_timeout, pool_size=pool_size, isolation_level="READ COMMITTED"
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
