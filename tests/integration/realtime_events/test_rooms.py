"""The seed's Socket.IO rooms: join-room, leave-room, broadcast, oversized frames
(against what: the package's docstring)."""

from __future__ import annotations

import time

import pytest

from tests.support.realtime_events import (
    ERROR,
    assert_room_gets_only_marker,
    fresh_id,
    subscribed,
)

pytestmark = pytest.mark.timeout(120)


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
