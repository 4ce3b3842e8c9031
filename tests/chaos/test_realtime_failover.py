"""Killing the realtime instance a client is connected to: the client reconnects through nginx to the
other instance, joins its room again without re-subscribing, and still receives later booking updates.
Real servers throughout (nginx ip_hash, two gunicorn gevent instances, Redis, MariaDB); nothing is mocked."""

from __future__ import annotations

import os
import signal
import threading
import uuid

import pytest
import requests

from tests.support.data import booking_engine, day, insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(180)
REALTIME = "booking_realtime"


@pytest.fixture(scope="module")
def stack(chaos_stack):
    """Faults hit this module's private stack, never the shared session one (README)."""
    return chaos_stack


def new_property(stack) -> int:
    engine = booking_engine(stack)
    try:
        return insert_property(engine, "Failover, FO", 70, "rt-chaos")
    finally:
        engine.dispose()


def crash(stack, instance: int) -> None:
    """SIGKILL the whole instance (gunicorn master and its worker), as a machine failure would."""
    pid = stack.pid(REALTIME, instance)
    assert pid, f"{REALTIME}-{instance} is not running"
    os.killpg(pid, signal.SIGKILL)
    stack.kill(REALTIME, instance)  # reaps it


def crash_the_one_serving(stack, disconnected: threading.Event) -> int:
    """nginx picks the instance (ip_hash), so find it by crashing one and watching the client."""
    for instance in (0, 1):
        crash(stack, instance)
        if disconnected.wait(5):
            return instance
        stack.start(REALTIME, instance)
    raise AssertionError("the client never noticed an instance crash")


def book(stack, property_id: int, start: str, end: str) -> requests.Response:
    user_id = 700_000 + uuid.uuid4().int % 1_000_000
    body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
    headers = {"Authorization": f"Bearer {stack.token(user_id)}"}
    return requests.post(f"{stack.nginx_url}/api/bookings/book", json=body, headers=headers, timeout=10)


def test_client_fails_over_rejoins_and_keeps_receiving_updates(stack) -> None:
    property_id = new_property(stack)
    user_id = 800_000 + uuid.uuid4().int % 1_000_000
    client = NotificationClient.connect(
        stack.socket_url, stack.token(user_id), transports=["websocket"], reconnection=True
    )
    disconnected = threading.Event()
    client.sio.on("disconnect", lambda *_: disconnected.set())
    client.rejoin_on_reconnect([property_id])
    crashed = None
    try:
        assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
            f"Subscribed to notification for property with ID:{property_id}"
        )
        assert client.message("join-room", {"property_id": property_id}, "join_response") == (
            f"Connected to room {property_id} for notifications"
        )
        mark = client.mark()
        crashed = crash_the_one_serving(stack, disconnected)

        joined = f"Connected to room {property_id} for notifications"
        client.wait_for("join_response", lambda data: data == {"message": joined}, timeout=20, after=mark)
        booked = book(stack, property_id, day(70), day(72))
        assert booked.status_code == 201, booked.text
        update = client.wait_for("notification_update", timeout=10, after=mark)
        assert update["update"] == {
            "propertyId": property_id,
            "event": "booked",
            "startDate": day(70),
            "endDate": day(72),
        }
    finally:
        client.close()
        if crashed is not None:
            stack.start(REALTIME, crashed)

    # The restarted instance knows the subscription too: it lives in Redis, not in the process.
    again = NotificationClient.connect(stack.url(REALTIME, crashed), stack.token(user_id))
    try:
        assert again.message("get-notification", {"property_id": property_id}, "notification_response") == (
            f"Already watching notification for property with ID:{property_id}"
        )
    finally:
        again.close()
