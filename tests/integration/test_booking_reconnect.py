"""The write engine no longer pings every connection it lends (issue #16: two of a booking's round trips
were the ping and a ROLLBACK after COMMIT). A connection that died in the pool must still cost nothing
but a rerun, and a transaction whose connection dies after it began writing must never be rerun by us.
Real MariaDB; the connections are killed from another session with `KILL CONNECTION`."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from booking_service.db import SqlTransaction, SqlUnitOfWork, build_engine
from booking_service.notifications import Notifier


def _connection_id(tx: SqlTransaction) -> int:
    return int(tx.properties.conn.execute(sa.text("SELECT CONNECTION_ID()")).scalar_one())


@pytest.fixture
def uow(stack: Any) -> Any:
    engine = build_engine(stack.env["BOOKING_DB_URL"], connect_timeout=1, pool_size=1, statement_timeout=2)
    killer = sa.create_engine(stack.env["BOOKING_DB_URL"], connect_args={"ssl_disabled": True})
    unit = SqlUnitOfWork(engine, Notifier(None), lambda: None)

    def kill(connection_id: int) -> None:
        with killer.connect() as conn:
            conn.execute(sa.text(f"KILL CONNECTION {connection_id:d}"))

    unit.kill = kill  # type: ignore[attr-defined]
    yield unit
    engine.dispose()
    killer.dispose()


def test_a_connection_killed_while_pooled_costs_one_rerun(uow: Any) -> None:
    first = uow.transaction(_connection_id)
    uow.kill(first)
    runs: list[int] = []

    def work(tx: SqlTransaction) -> int:
        runs.append(1)
        return _connection_id(tx)

    second = uow.transaction(work)
    assert second != first, "the transaction ran on a new connection"
    assert len(runs) == 2, "the dead connection failed the first run, the rerun succeeded"
    assert uow.transaction(_connection_id) == second, "the new connection went back to the pool"


def test_a_connection_lost_after_the_first_statement_is_not_rerun(uow: Any) -> None:
    runs: list[int] = []

    def work(tx: SqlTransaction) -> None:
        runs.append(1)
        uow.kill(_connection_id(tx))
        tx.properties.get(1)

    with pytest.raises(sa_exc.DBAPIError) as raised:
        uow.transaction(work)
    assert raised.value.connection_invalidated
    assert len(runs) == 1, "a transaction that had begun is never rerun after its connection was lost"
    assert uow.transaction(_connection_id) > 0, "the pool recovers on the next transaction"


def _session_counters(tx: SqlTransaction) -> dict[str, int]:
    rows = tx.properties.conn.execute(
        sa.text("SHOW SESSION STATUS WHERE Variable_name IN ('Com_rollback', 'Com_admin_commands')")
    )
    return {name: int(value) for name, value in rows}


def test_a_transaction_costs_no_ping_and_no_rollback_after_its_commit(uow: Any) -> None:
    before = uow.transaction(_session_counters)
    uow.transaction(_connection_id)
    uow.transaction(_connection_id)
    after = uow.transaction(_session_counters)
    assert after == before, "MariaDB counted no ROLLBACK nor COM_PING on the pooled connection"
