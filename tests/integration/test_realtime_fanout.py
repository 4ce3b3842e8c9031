"""The fan-out's direct writes (booking_service/realtime/fanout.py) against a real realtime instance
(gunicorn gevent), real bookings through nginx and real python-socketio clients: every client gets each
notification once and in order, and the instance's /metrics shows they were written straight to the
sockets, not through engine.io's queue (a fallback that would pass every other test unnoticed)."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.support.data import day, insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)
REALTIME = "booking_realtime"
CLIENTS = 3


def direct_writes(stack) -> float:
    text = requests.get(f"{stack.url(REALTIME, 0)}/metrics", timeout=5).text
    match = re.search(r"^realtime_direct_writes_total ([0-9.e+]+)$", text, re.M)
    return float(match[1]) if match else 0.0


def book(stack, property_id: int, start: str, end: str) -> None:
    user_id = 700_000 + uuid.uuid4().int % 1_000_000
    body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
    headers = {"Authorization": f"Bearer {stack.token(user_id)}"}
    answer = requests.post(f"{stack.nginx_url}/api/bookings/book", json=body, headers=headers, timeout=10)
    assert answer.status_code == 201, answer.text


def test_room_notifications_are_written_straight_to_each_socket_once_and_in_order(
    stack, stack_booking_db
) -> None:
    property_id = insert_property(stack_booking_db, "Fan-out, FO", 60, "rt-fanout")
    clients = []
    try:
        for _ in range(CLIENTS):
            user_id = 900_000 + uuid.uuid4().int % 1_000_000
            client = NotificationClient.connect(
                stack.url(REALTIME, 0), stack.token(user_id), transports=["websocket"]
            )
            clients.append(client)
            client.message("get-notification", {"property_id": property_id}, "notification_response")
            client.message("join-room", {"property_id": property_id}, "join_response")
        marks = [client.mark() for client in clients]
        before = direct_writes(stack)
        for offset in (40, 42, 44):
            book(stack, property_id, day(offset), day(offset + 1))
        for client, mark in zip(clients, marks, strict=True):
            client.wait_for("notification_update", lambda d: d["update"]["startDate"] == day(44), 10, mark)
        after = direct_writes(stack)
    finally:
        for client in clients:
            client.close()
    for client, mark in zip(clients, marks, strict=True):
        starts = [
            r.data["update"]["startDate"] for r in client.received[mark:] if r.event == "notification_update"
        ]
        assert starts == [day(40), day(42), day(44)]
    assert after - before >= 3 * CLIENTS, "the notifications took engine.io's queue, not the direct writes"
