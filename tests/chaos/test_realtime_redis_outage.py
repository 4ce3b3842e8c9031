"""Standalone Redis (subscriptions + Socket.IO queue) goes down and comes back: connected clients stay
connected and get "Error" instead of a crash, /ready turns 503, and once Redis is back subscriptions and
cross-instance delivery work again without restarting anything. Real servers; nothing is mocked."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from booking_service.notifications import Notifier
from tests.support.data import booking_engine, insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def stack(chaos_stack):
    """Faults hit this module's private stack, never the shared session one (README)."""
    return chaos_stack


def fresh_id() -> int:
    return 900_000_000 + uuid.uuid4().int % 10_000_000


def new_property(stack) -> int:
    """Watching needs a property that exists in the booking database."""
    engine = booking_engine(stack)
    try:
        return insert_property(engine, "Outage, RO", 60, "rt-redis")
    finally:
        engine.dispose()


def ready_status(stack, instance: int) -> int:
    return requests.get(f"{stack.url('booking_realtime', instance)}/ready", timeout=10).status_code


def test_redis_outage_answers_error_then_recovers(stack) -> None:
    user_id, property_id = fresh_id(), new_property(stack)
    client = NotificationClient.connect(
        stack.url("booking_realtime", 1), stack.token(user_id), transports=["websocket"]
    )
    try:
        stack.stop_server("redis")
        try:
            assert client.request(
                "get-notification", {"property_id": property_id}, "notification_response", 10
            ) == {"message": "Error"}
            assert client.request("join-room", {"property_id": property_id}, "join_response", 10) == {
                "message": "Error"
            }
            assert client.sio.connected
            assert ready_status(stack, 1) == 503
            Notifier(stack.env["REDIS_URL"]).property_event(property_id, {"lost": True})  # must not raise
        finally:
            stack.start_server("redis")

        assert ready_status(stack, 1) == 200
        assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
            f"Subscribed to notification for property with ID:{property_id}"
        )
        assert client.message("join-room", {"property_id": property_id}, "join_response") == (
            f"Connected to room {property_id} for notifications"
        )
        assert_queue_delivers_again(stack, client, property_id)
    finally:
        client.close()


def assert_queue_delivers_again(stack, client: NotificationClient, property_id: int) -> None:
    """The instance's queue listener reconnects with back-off; keep publishing until one arrives."""
    notifier = Notifier(stack.env["REDIS_URL"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        notifier.property_event(property_id, {"event": "probe"})
        try:
            assert client.wait_for("notification_update", timeout=1)["update"] == {"event": "probe"}
            return
        except TimeoutError:
            continue
    raise AssertionError("the realtime instance never resumed delivery after Redis came back")
