"""Helpers of the Socket.IO event suites (tests/integration/realtime_events): distinct user ids, a
subscribe-and-join step, the payloads every event must refuse, and a check that a room got nothing else."""

from __future__ import annotations

import itertools
import random

from booking_service.notifications import Notifier
from tests.support.notification_client import NotificationClient

_ids = itertools.count(random.randrange(10**6, 10**9, 10**5))
ERROR = {"message": "Error"}
BAD_PAYLOADS = [
    None,
    "7",
    [7],
    7,
    {},
    {"property_id": None},
    {"property_id": "abc"},
    {"property_id": 1.5},
    {"property_id": -1},
    {"property_id": True},
    {"property_id": "9" * 5000},
]


def fresh_id() -> int:
    """Distinct user ids per test: Redis outlives a test, and the stack is shared."""
    return next(_ids)


def subscribed(client: NotificationClient, property_id: int) -> None:
    assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
        f"Subscribed to notification for property with ID:{property_id}"
    )
    assert client.message("join-room", {"property_id": property_id}, "join_response") == (
        f"Connected to room {property_id} for notifications"
    )


MARKER = {"update": {"marker": True}}


def assert_room_gets_only_marker(stack, property_id: int, members=(), outsiders=()) -> None:
    """Publishes a marker after the action under test. The queue is FIFO, so anything the action sent to
    the room would arrive before it: members must get exactly the marker, outsiders nothing at all."""
    marks = [client.mark() for client in (*members, *outsiders)]
    probes = [
        NotificationClient.connect(stack.url("booking_realtime", i), stack.token(fresh_id())) for i in (0, 1)
    ]
    try:
        for probe in probes:
            subscribed(probe, property_id)
        Notifier(stack.env["REDIS_URL"]).property_event(property_id, MARKER["update"])
        for client, mark in zip((*probes, *members), (0, 0, *marks), strict=False):
            client.wait_for(
                "notification_update", lambda data: data["update"] == MARKER["update"], after=mark
            )
            updates = [r.data["update"] for r in client.received[mark:] if r.event == "notification_update"]
            assert updates == [MARKER["update"]]
    finally:
        for probe in probes:
            probe.close()
    probes[0].sio.sleep(0.2)
    for client, mark in zip(outsiders, marks[len(members) :], strict=True):
        assert [r for r in client.received[mark:] if r.event == "notification_update"] == []
