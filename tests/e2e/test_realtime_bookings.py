"""Bookings notify the property's room, end to end: nginx → gateway → booking_service (REST, either
instance) → MariaDB commit → Redis queue → every realtime instance → python-socketio clients that came in
through nginx (the seed's :5001 analog and :8080/socket.io/), over long-polling and WebSocket.
All servers are real; nothing is mocked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
import socketio

from tests.support.data import day, insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)
UPDATE_KEYS = {"propertyId", "event", "startDate", "endDate"}


def new_id() -> int:
    return 500_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture
def property_id(stack_booking_db) -> int:
    """A property only this test books, so its calendar and its room are its own."""
    return insert_property(stack_booking_db, "Socketville, SV", 80, "rt")


@pytest.fixture
def watchers() -> Iterator[list[NotificationClient]]:
    """Subscribed, joined clients: via the Socket.IO port and via /socket.io/ on the API port."""
    opened: list[NotificationClient] = []
    yield opened
    for client in opened:
        client.close()


def watch(
    stack, opened: list[NotificationClient], url: str, transport: str, property_id: int
) -> NotificationClient:
    client = NotificationClient.connect(url, stack.token(new_id()), transports=[transport])
    opened.append(client)
    assert client.sio.transport() == transport
    assert client.message("get-notification", {"property_id": property_id}, "notification_response") == (
        f"Subscribed to notification for property with ID:{property_id}"
    )
    assert client.message("join-room", {"property_id": property_id}, "join_response") == (
        f"Connected to room {property_id} for notifications"
    )
    return client


def book(base: str, token: str, user_id: int, property_id: int, start: str, end: str) -> requests.Response:
    body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{base}/api/bookings/book", json=body, headers=headers, timeout=10)


def cancel(base: str, token: str, booking_id: int) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.delete(f"{base}/api/cancel-booking/{booking_id}", headers=headers, timeout=10)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_booking_and_cancel_through_nginx_notify_watchers(stack, watchers, property_id, transport) -> None:
    clients = [
        watch(stack, watchers, stack.socket_url, transport, property_id),
        watch(stack, watchers, stack.nginx_url, transport, property_id),
    ]
    user_id = new_id()
    token = stack.token(user_id)
    start, end = day(40), day(43)

    booked = book(stack.nginx_url, token, user_id, property_id, start, end)
    assert booked.status_code == 201, booked.text
    expected = {"propertyId": property_id, "event": "booked", "startDate": start, "endDate": end}
    for client in clients:
        update = client.wait_for("notification_update")["update"]
        assert update == expected
        assert set(update) == UPDATE_KEYS  # nobody's identity travels to the room

    assert cancel(stack.nginx_url, token, booked.json()["bookingId"]).status_code == 200
    for client in clients:
        client.wait_for("notification_update", lambda data: data["update"]["event"] == "cancelled")
        assert [event["update"] for event in client.events("notification_update")] == [
            expected,
            {**expected, "event": "cancelled"},
        ]


@pytest.mark.parametrize("booking_instance", [0, 1])
def test_booking_on_either_rest_instance_reaches_both_realtime_instances(
    stack, watchers, property_id, booking_instance
) -> None:
    clients = [
        watch(stack, watchers, stack.url("booking_realtime", i), "websocket", property_id) for i in (0, 1)
    ]
    user_id = new_id()
    start, end = day(50 + booking_instance * 5), day(52 + booking_instance * 5)
    booked = book(
        stack.url("booking_service", booking_instance), stack.token(user_id), user_id, property_id, start, end
    )
    assert booked.status_code == 201, booked.text
    for client in clients:
        assert client.wait_for("notification_update")["update"]["startDate"] == start


def test_rejected_booking_sends_nothing(stack, watchers, property_id) -> None:
    client = watch(stack, watchers, stack.socket_url, "websocket", property_id)
    user_id = new_id()
    token = stack.token(user_id)
    first = book(stack.nginx_url, token, user_id, property_id, day(60), day(62))
    assert first.status_code == 201, first.text
    overlapping = book(stack.nginx_url, token, user_id, property_id, day(61), day(63))
    assert overlapping.status_code == 409, overlapping.text
    assert cancel(stack.nginx_url, token, first.json()["bookingId"]).status_code == 200
    # FIFO queue: had the rolled-back booking notified, it would sit between "booked" and "cancelled".
    client.wait_for("notification_update", lambda data: data["update"]["event"] == "cancelled")
    assert [u["update"]["event"] for u in client.events("notification_update")] == ["booked", "cancelled"]


def test_socket_port_refuses_connections_without_token(stack) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        NotificationClient.connect(stack.socket_url, None, transports=["websocket"])
