"""SIGKILL one instance of each web service under steady load through nginx, then restart it.

Real processes on a private stack (nothing mocked). With a second healthy instance, no read may fail,
no booking may be lost, duplicated or stored without its client seeing a 201.
"""

from __future__ import annotations

import pytest

from tests.support.faults import FaultRow, answers, run_fault, sigkill_instance
from tests.support.load import READ_KINDS, reconcile

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("service", ["gateway", "user_service", "booking_service"])
def test_sigkill_one_instance_under_load_fails_no_read_and_loses_no_booking(
    chaos_stack, load_users, fault_rows, service
):
    url = chaos_stack.url(service, 0)
    run = run_fault(
        chaos_stack,
        load_users,
        inject=lambda: sigkill_instance(chaos_stack, service, 0),
        heal=lambda: chaos_stack.start(service, 0),
        healthy=lambda: answers(url),
    )
    load = run.load
    rec = reconcile(chaos_stack.env["BOOKING_DB_URL"], load.bookings)
    fault_rows.append(FaultRow.of(f"SIGKILL {service}-0", load, rec, run.fault_at, run.back_after_heal_s))

    assert rec.confirmed > 10, "the load should have booked steadily"
    assert rec.clean, rec
    assert load.server_errors(READ_KINDS) == [], load.errors_by_kind()
    assert [a for a in load.bookings if a.final_status != 201] == []
    assert run.back_after_heal_s is not None, f"{service}-0 did not come back"
    assert load.successes_after(run.healed_at, READ_KINDS) > 10
