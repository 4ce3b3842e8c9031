"""SQLAlchemy engine construction with timeouts that fail fast instead of hanging workers."""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import Engine
from sqlalchemy.engine import make_url


def connect_args_for(
    url: str, connect_timeout: float, statement_timeout: float | None = None
) -> dict[str, Any]:
    """Driver options; `statement_timeout` (seconds) makes the server end any longer statement with an
    error, so a runaway query costs a clean 503, not a stuck worker."""
    driver = make_url(url).drivername
    if driver.startswith("postgresql"):
        args: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout))}
        if statement_timeout:
            args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
        return args
    if driver.startswith("mysql") or driver.startswith("mariadb"):
        args = {
            "connect_timeout": max(1, round(connect_timeout)),
            # A frozen server costs a worker the statement timeout and a second, not minutes.
            "read_timeout": round(statement_timeout) + 1 if statement_timeout else 10,
            "write_timeout": round(statement_timeout) + 1 if statement_timeout else 10,
            "ssl_disabled": True,
            "charset": "utf8mb4",
        }
        if statement_timeout:
            args["init_command"] = f"SET SESSION max_statement_time={statement_timeout:g}"
        return args
    return {}


def make_engine(
    url: str,
    *,
    connect_timeout: float = 2.0,
    pool_size: int = 10,
    statement_timeout: float | None = None,
    **options: Any,
) -> Engine:
    """A pooled engine that checks connections before use and gives up connecting quickly."""
    options.setdefault("pool_pre_ping", True)
    return sqlalchemy.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        pool_recycle=1800,
        connect_args=connect_args_for(url, connect_timeout, statement_timeout),
        **options,
    )
