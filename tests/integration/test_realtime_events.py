"""The seed's Socket.IO events against two real realtime instances (gunicorn gevent), a real Redis and the
real booking database (only properties that exist may be watched: each test inserts its own).

Real python-socketio clients connect straight to `booking_realtime` instances 0 and 1; nothing is mocked.
The abuse limits (auth deadline, event budget, token in the URL) are tested in tests/security.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator

import pytest
import redis
import requests
import socketio

from booking_service.notifications import Notifier
from booking_service.subscriptions import SubscriptionStore
from tests.support.data import insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)

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


def subscribed(client: NotificationClient, property_id: int) -> None:
    assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
        f"Subscribed to notification for property with ID:{property_id}"
    )
    assert client.message("join-room", {"property_id": property_id}, "join_response") == (
        f"Connected to room {property_id} for notifications"
    )


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


# ---- join-room / leave-room ------------------------------------------------------------------------
def test_join_room_requires_a_subscription(connect, property_id) -> None:
    user_id = fresh_id()
    client = connect(0, user_id)
    assert client.message("join-room", {"property_id": property_id}, "join_response") == (
        f"User {user_id} is not subscribed to get notifications for room: {property_id}"
    )
    subscribed(client, property_id)


def test_leave_room_stops_delivery_but_keeps_the_subscription(connect, stack, property_id) -> None:
    user_id = fresh_id()
    client = connect(1, user_id)
    assert client.message("leave-room", {"property_id": property_id}, "leave_response") == (
        f"User {user_id} did not get notification for property with ID: {property_id}"
    )
    subscribed(client, property_id)
    assert client.message("leave-room", {"property_id": property_id}, "leave_response") == (
        f"Left from room {property_id}"
    )
    assert_room_gets_only_marker(stack, property_id, outsiders=[client])
    assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
        f"Already watching notification for property with ID:{property_id}"
    )


# ---- broadcast -------------------------------------------------------------------------------------
@pytest.mark.parametrize("event", ["broadcast_notification", "broadcast-notification"])
def test_admin_broadcast_reaches_room_members_on_every_instance(connect, event, property_id) -> None:
    members = [connect(0), connect(1, transports=["websocket"])]
    for member in members:
        subscribed(member, property_id)
    outsider = connect(0)
    admin = connect(1, role="admin")
    admin.sio.emit(event, {"property_id": property_id, "notification": {"text": "pool closed"}})
    for member in members:
        assert member.wait_for("notification_update")["update"] == {"text": "pool closed"}
    # The member on instance 0 got it, so the outsider on instance 0 was skipped in the same fan-out.
    assert outsider.events("notification_update") == []
    assert admin.events("notification_update") == []


@pytest.mark.parametrize(
    "payload",
    [
        {"property_id": 1},
        {"notification": "x"},
        {"property_id": "abc", "notification": "x"},
        {"property_id": 1, "notification": "x" * 20_000},
        "text",
        None,
    ],
)
def test_broadcast_with_missing_or_bad_fields_answers_error_to_sender(connect, payload) -> None:
    admin = connect(0, role="admin")
    assert admin.request("broadcast_notification", payload, "notification_update") == ERROR
    assert admin.sio.connected


@pytest.mark.parametrize("role", ["user", "host"])
def test_only_admins_may_broadcast(connect, stack, role, property_id) -> None:
    member = connect(1)
    subscribed(member, property_id)
    sender = connect(0, role=role)
    reply = sender.request(
        "broadcast_notification", {"property_id": property_id, "notification": "x"}, "notification_update"
    )
    assert reply == {"message": "Forbidden"}
    assert_room_gets_only_marker(stack, property_id, members=[member])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_oversized_frame_disconnects_only_its_sender(connect, transport, property_id) -> None:
    bystander = connect(1, transports=["websocket"])
    subscribed(bystander, property_id)
    attacker = connect(1, transports=[transport])
    attacker.sio.emit("get-notification", {"property_id": "1" * 200_000})  # > SOCKETIO_MAX_MESSAGE_BYTES
    deadline = time.monotonic() + 15  # polling notices only at its next request; slow under load
    while attacker.sio.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not attacker.sio.connected
    assert bystander.sio.connected
    assert bystander.message("leave-room", {"property_id": property_id}, "leave_response") == (
        f"Left from room {property_id}"
    )


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
