"""common.cooldown: the one "leave a failed dependency alone for N seconds" rule, alone and as the token
version reader uses it. No servers: the Redis is a closed local port (refused at once), the clock a fake."""

from __future__ import annotations

import logging

import pytest

from common.cooldown import Cooldown
from common.revocation import TokenVersions
from tests.support.clock import FakeClock
from tests.support.net import closed_port


def test_a_cooldown_is_inactive_until_started_even_at_time_zero() -> None:
    assert not Cooldown(5.0, clock=FakeClock(0.0)).active


def test_a_started_cooldown_lasts_exactly_its_seconds() -> None:
    clock = FakeClock(100.0)
    cooldown = Cooldown(5.0, clock=clock)
    cooldown.start()
    clock.now = 104.999
    assert cooldown.active
    clock.now = 105.0
    assert not cooldown.active


def test_starting_again_counts_from_the_latest_failure() -> None:
    clock = FakeClock(0.0)
    cooldown = Cooldown(2.0, clock=clock)
    cooldown.start()
    clock.now = 1.5
    cooldown.start()
    clock.now = 3.0
    assert cooldown.active
    clock.now = 3.5
    assert not cooldown.active


def test_token_versions_leave_an_unreachable_store_alone_for_a_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(50.0)
    versions = TokenVersions(f"redis://127.0.0.1:{closed_port()}/0", clock=clock)

    def store_attempts() -> int:
        return sum("token versions unreadable" in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.WARNING, logger="common.revocation"):
        assert versions.current(1) == 0  # unknown and unreadable: the signature alone decides
        assert store_attempts() == 1
        clock.now = 50.9
        assert versions.current(2) == 0
        assert store_attempts() == 1  # still within the pause: the store was not asked
        clock.now = 51.0
        assert versions.current(3) == 0
        assert store_attempts() == 2
