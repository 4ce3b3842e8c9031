"""Every request-serving database session carries a statement timeout below the gateway's read timeout
(issue #15 item 3): a runaway statement ends as a clean error within the bound, and in user_service a
cancelled statement on the replica is not rerun on the primary. Real MariaDB and PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from booking_service.db import build_engine
from common.settings import BaseServiceSettings
from user_service.database import UserDatabase


def test_the_default_statement_timeout_is_below_the_gateways_read_timeout() -> None:
    from gateway.settings import GatewaySettings

    assert BaseServiceSettings().db_statement_timeout < GatewaySettings().upstream_read_timeout


def test_a_runaway_booking_statement_is_ended_by_mariadb(stack: Any) -> None:
    engine = build_engine(stack.env["BOOKING_DB_URL"], connect_timeout=1, pool_size=1, statement_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(sa.text("SELECT SLEEP(5)"))
    assert time.monotonic() - started < 2.0
    engine.dispose()


def test_a_runaway_user_read_is_cancelled_and_not_rerun_on_the_primary(stack: Any) -> None:
    db = UserDatabase(stack.env["USER_DB_URL"], [stack.env["USER_DB_REPLICA_URLS"]], statement_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(OperationalError):
        db.read(lambda conn: conn.execute(sa.text("SELECT pg_sleep(5)")))
    assert time.monotonic() - started < 2.0, "cancelled once on the replica, never again on the primary"
    assert db.query_counts["primary"] == 0
    assert db.read(lambda conn: conn.execute(sa.text("SELECT 1")).scalar()) == 1
    assert db.query_counts["replica0"] == 2, "the replica is still in use after a cancelled statement"
