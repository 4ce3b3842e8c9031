"""SQLAlchemy engine construction with timeouts that fail fast instead of hanging workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def connect_args_for(url: str, connect_timeout: float) -> dict[str, Any]:
    driver = make_url(url).drivername
    if driver.startswith("postgresql"):
        return {"connect_timeout": max(1, round(connect_timeout))}
    if driver.startswith("mysql") or driver.startswith("mariadb"):
        return {
            "connect_timeout": max(1, round(connect_timeout)),
            "read_timeout": 10,
            "write_timeout": 10,
            "ssl_disabled": True,
            "charset": "utf8mb4",
        }
    return {}


def make_engine(url: str, *, connect_timeout: float = 2.0, pool_size: int = 10, **options: Any) -> Engine:
    """A pooled engine that checks connections before use and gives up connecting quickly."""
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        pool_recycle=1800,
        connect_args=connect_args_for(url, connect_timeout),
        **options,
    )
