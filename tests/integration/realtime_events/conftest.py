"""Fixtures of the Socket.IO event suites: a property of the test's own, and clients that close after it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.data import insert_property
from tests.support.notification_client import NotificationClient
from tests.support.realtime_events import fresh_id


@pytest.fixture
def new_property(stack_booking_db) -> Callable[[], int]:
    """A property of this test's own, in the booking database (watching needs one that exists)."""
    return lambda: insert_property(stack_booking_db, "Realtime, RT", 90, "rt-events")


@pytest.fixture
def property_id(new_property) -> int:
    return new_property()


@pytest.fixture
def connect(stack) -> Iterator[Callable[..., NotificationClient]]:
    opened: list[NotificationClient] = []

    def _connect(
        instance: int = 0, user_id: int | None = None, role: str = "user", **options
    ) -> NotificationClient:
        token = stack.token(user_id or fresh_id(), role)
        client = NotificationClient.connect(stack.url("booking_realtime", instance), token, **options)
        opened.append(client)
        return client

    yield _connect
    for client in opened:
        client.close()
