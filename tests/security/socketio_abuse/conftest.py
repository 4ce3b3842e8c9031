"""Fixtures of the Socket.IO abuse suites: one realtime instance of the security stack, and clients
that close after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.notification_client import NotificationClient


@pytest.fixture
def base(sec_stack) -> str:
    """One realtime instance, straight: every client of a test shares its one gevent worker."""
    return sec_stack.url("booking_realtime", 0)


@pytest.fixture
def clients() -> Iterator[list[NotificationClient]]:
    opened: list[NotificationClient] = []
    yield opened
    for client in opened:
        client.close()
