"""ETL with a source down: the run fails clearly with a non-zero exit, loads nothing, and the next
run after the source returns catches up. Real MariaDB, PostgreSQL replica and warehouse; no mocks."""

from __future__ import annotations

import pytest

from tests.support.etl import run_cli


@pytest.fixture(scope="module")
def stack(chaos_stack):
    """Faults hit this module's private stack, never the shared session one (README)."""
    return chaos_stack


@pytest.mark.parametrize(
    ("server", "named_in_error"),
    [("mariadb", "bookings (MariaDB)"), ("postgres_replica", "users (PostgreSQL replica)")],
)
def test_source_down_fails_clearly_loads_nothing_and_next_run_catches_up(
    stack, sources, warehouse, server, named_in_error
):
    properties = [sources.add_property(), sources.add_property()]
    assert run_cli(stack, "run").returncode == 0
    sources.add_bookings(properties, 120, seed=hash(server) % 1000)
    before = warehouse.checksums()

    stack.stop_server(server)
    try:
        failed = run_cli(stack, "run", BATCH_SIZE="25")
    finally:
        stack.start_server(server)

    assert failed.returncode == 1
    assert named_in_error in failed.stderr and "Traceback" not in failed.stderr
    # Bookings are readable while the replica is down, yet nothing is loaded: both sources are
    # checked before the first batch, and the primary is never used as a fallback.
    assert warehouse.checksums() == before

    caught_up = run_cli(stack, "run", BATCH_SIZE="25")
    assert caught_up.returncode == 0, caught_up.stderr
    assert warehouse.totals(properties) == sources.totals(properties)
    assert sum(count for count, *_ in warehouse.totals(properties).values()) == 120
