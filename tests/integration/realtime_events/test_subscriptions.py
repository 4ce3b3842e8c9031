"""The seed's Socket.IO events: connecting, get-notification, stop-notification, the Notifier
(against what: the package's docstring)."""

from __future__ import annotations

import time

import pytest
import redis
import requests
import socketio

from booking_service.notifications import Notifier
from booking_service.subscriptions import SubscriptionStore
from tests.support.notification_client import NotificationClient
from tests.support.realtime_events import (
    BAD_PAYLOADS,
    ERROR,
    assert_room_gets_only_marker,
    fresh_id,
    subscribed,
)

pytestmark = pytest.mark.timeout(120)


# ---- connect ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "not-a-jwt", "x" * 5000])
def test_connection_without_a_valid_token_is_refused(stack, token) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        NotificationClient.connect(stack.url("booking_realtime", 0), token)


def test_expired_token_is_refused(stack) -> None:
    token = stack.token(fresh_id(), "user", exp=1_000_000, iat=999_000)
    with pytest.raises(socketio.exceptions.ConnectionError):
        NotificationClient.connect(stack.url("booking_realtime", 0), token, transports=["websocket"])


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_token_is_accepted_from_auth_payload_and_authorization_header(stack, property_id, transport) -> None:
    url = stack.url("booking_realtime", 1)
    user_id = fresh_id()
    by_auth = NotificationClient.connect(url, stack.token(user_id), transports=[transport])
    by_header = NotificationClient.connect(
        url, None, transports=[transport], headers={"Authorization": f"Bearer {stack.token(user_id)}"}
    )
    try:
        # The user id in the messages is the token's subject.
        expected = f"User {user_id} is not subscribed to get notifications for room: {property_id}"
        assert by_auth.message("join-room", {"property_id": property_id}, "join_response") == expected
        assert by_header.message("join-room", {"property_id": property_id}, "join_response") == expected
    finally:
        by_auth.close()
        by_header.close()


def test_token_in_the_url_is_refused(stack) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(f"{stack.url('booking_realtime', 0)}?token={stack.token(fresh_id())}", wait_timeout=5)


# ---- get-notification / stop-notification ----------------------------------------------------------
def test_subscription_is_shared_by_instances_and_survives_reconnect(connect, property_id) -> None:
    user_id = fresh_id()
    first = connect(0, user_id)
    assert first.message("get-notification", {"property_id": property_id}, "notification_response") == (
        f"Subscribed to notification for property with ID:{property_id}"
    )
    first.close()
    second = connect(1, user_id, transports=["websocket"])
    assert second.message("get-notification", {"property_id": str(property_id)}, "notification_response") == (
        f"Already watching notification for property with ID:{property_id}"
    )
    assert second.message("join-room", {"property_id": property_id}, "join_response") == (
        f"Connected to room {property_id} for notifications"
    )


@pytest.mark.parametrize(
    "event,reply",
    [
        ("get-notification", "notification_response"),
        ("stop-notification", "stop_notification_response"),
        ("join-room", "join_response"),
        ("leave-room", "leave_response"),
    ],
)
def test_missing_or_invalid_property_id_answers_error(connect, event, reply) -> None:
    client = connect(0)
    for payload in BAD_PAYLOADS:
        assert client.request(event, payload, reply) == ERROR, payload
    assert client.sio.connected


def test_event_without_any_payload_answers_error(connect) -> None:
    client = connect(1)
    mark = client.mark()
    client.sio.emit("get-notification")
    assert client.wait_for("notification_response", after=mark) == ERROR


def test_stop_notification_unsubscribes_and_leaves_the_room(connect, stack, property_id) -> None:
    client = connect(0)
    subscribed(client, property_id)
    assert client.message(
        "stop-notification", {"property_id": property_id}, "stop_notification_response"
    ) == (f"Stopped getting notification for property with ID: {property_id}")
    assert client.message(
        "stop-notification", {"property_id": property_id}, "stop_notification_response"
    ) == ("No notification found for this property id")
    assert_room_gets_only_marker(stack, property_id, outsiders=[client])


def test_subscriptions_are_capped_per_user(connect, new_property) -> None:
    client = connect(1)
    cap = 100
    owned = [new_property() for _ in range(cap + 1)]
    for property_id in owned[:cap]:
        reply = client.message("get-notification", {"property_id": property_id}, "notification_response")
        assert reply.startswith("Subscribed to notification"), reply
        time.sleep(1 / 20)  # within the per-connection event rate
    assert client.request("get-notification", {"property_id": owned[cap]}, "notification_response") == ERROR
    assert client.message("get-notification", {"property_id": owned[0]}, "notification_response") == (
        f"Already watching notification for property with ID:{owned[0]}"
    )


def test_watching_a_property_that_does_not_exist_answers_error(connect, property_id) -> None:
    client = connect(0)
    missing = property_id + 10**9
    assert client.request("get-notification", {"property_id": missing}, "notification_response") == ERROR
    assert client.request("join-room", {"property_id": missing}, "join_response") == ERROR
    subscribed(client, property_id)


# ---- Notifier (the REST processes' emitter) ---------------------------------------------------------
def test_notifier_reaches_the_room_on_both_instances(connect, stack, property_id) -> None:
    members = [connect(0), connect(1)]
    for member in members:
        subscribed(member, property_id)
    Notifier(stack.env["REDIS_URL"]).booking_event("booked", property_id, "2031-01-02", "2031-01-05")
    expected = {
        "propertyId": property_id,
        "event": "booked",
        "startDate": "2031-01-02",
        "endDate": "2031-01-05",
    }
    for member in members:
        delivered = member.wait_for("notification_update")
        assert delivered["update"] == expected and delivered["propertyId"] == property_id


def test_notifier_never_raises_when_redis_is_unreachable() -> None:
    closed_port_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    Notifier(closed_port_url).property_event(1, {"event": "booked"})
    Notifier(None).property_event(1, {"event": "booked"})


def test_subscriptions_are_stored_in_redis_per_user(connect, stack, property_id) -> None:
    user_id = fresh_id()
    subscribed(connect(0, user_id), property_id)
    store = SubscriptionStore(redis.Redis.from_url(stack.env["REDIS_URL"]))
    assert store.properties_of(user_id) == {property_id}


def test_health_and_readiness(stack) -> None:
    for instance in (0, 1):
        base = stack.url("booking_realtime", instance)
        assert requests.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"redis": "ok"}
