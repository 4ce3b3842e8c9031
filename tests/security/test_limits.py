"""Size and rate limits on the real stack: oversized bodies, login brute force per account and client and
spraying from one address, and one Socket.IO client asking for a thousand subscriptions. Nothing is mocked."""

from __future__ import annotations

import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
import socketio

from tests.support.notification_client import NotificationClient

TWO_MB = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ("nginx", "/api/users/register"),
        ("nginx", "/api/bookings/book"),
        ("gateway", "/api/users/register"),
        ("user_service", "/api/users/register"),
        ("booking_service", "/api/bookings/book"),
    ],
)
def test_two_megabyte_body_gets_413_json(sec_stack, admin, where, path):
    base = sec_stack.nginx_url if where == "nginx" else sec_stack.url(where, 0)
    headers = {"Content-Type": "application/json", **admin.auth}
    try:
        response = requests.post(base + path, data=TWO_MB, headers=headers, timeout=20)
    except requests.ConnectionError:
        pytest.fail(f"{where} dropped the connection instead of answering 413")
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}


def test_chunked_two_megabyte_body_gets_413(sec_stack):
    """No Content-Length to check up front: the limit must hold while streaming too."""
    chunks = (TWO_MB[i : i + 65536] for i in range(0, len(TWO_MB), 65536))
    response = requests.post(
        sec_stack.nginx_url + "/api/users/register",
        data=chunks,
        headers={"Content-Type": "application/json"},
        timeout=20,
    )
    assert response.status_code == 413


def test_login_brute_force_on_one_account_gets_429_even_for_the_right_password(sec_stack, new_account):
    """One client guessing one account through nginx: five tries, then backoff that refuses even the right
    password while it lasts (the owner elsewhere is not blocked: tests/integration/test_user_login_limits)."""
    victim = new_account()
    url = sec_stack.nginx_url + "/api/users/login"
    statuses = [
        requests.post(url, json={"email": victim.email, "password": f"guess-{i}"}, timeout=10).status_code
        for i in range(12)
    ]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429, statuses
    right = requests.post(url, json={"email": victim.email, "password": victim.password}, timeout=10)
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0
    assert "token" not in right.json()


def test_login_spraying_from_one_address_gets_429(sec_stack, new_account):
    """Many accounts, one client address: after 1000 failures in the hour (LOGIN_MAX_FAILURES_PER_IP, high
    for NATs) the address gets 429 for every account, the right password included; other addresses do not.
    The user service is called directly with the address a trusted proxy would forward, so the suite's own
    address stays free."""
    url = sec_stack.url("user_service", 0) + "/api/users/login"
    address = {"X-Forwarded-For": f"10.66.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"}

    def spray(i: int) -> int:
        body = {"email": f"spray{i}-{uuid.uuid4().hex[:6]}@example.com", "password": "x"}
        return requests.post(url, json=body, headers=address, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(spray, range(1000)))
    assert set(statuses) == {401}
    victim = new_account()
    right = {"email": victim.email, "password": victim.password}
    refused = requests.post(url, json=right, headers=address, timeout=10)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    elsewhere = {"X-Forwarded-For": f"10.67.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"}
    assert requests.post(url, json=right, headers=elsewhere, timeout=10).status_code == 200


def test_a_thousand_subscriptions_from_one_client_are_capped(sec_stack):
    """The per-connection event budget cuts the burst off long before the subscription cap (both are
    tested on their own in tests/security/socketio_abuse/ and tests/integration)."""
    user_id = 600_000 + uuid.uuid4().int % 99_999
    client = NotificationClient.connect(
        sec_stack.socket_url, sec_stack.token(user_id), transports=["websocket"]
    )
    gone = threading.Event()
    client.sio.on("disconnect", lambda *_: gone.set())
    try:
        with contextlib.suppress(socketio.exceptions.SocketIOError):  # once disconnected
            for property_id in range(1, 1001):
                client.sio.emit("get-notification", {"property_id": property_id})
        assert gone.wait(30)
        replies = [reply["message"] for reply in client.events("notification_response")]
    finally:
        client.close()
    subscribed = [m for m in replies if m.startswith("Subscribed")]
    assert 0 < len(subscribed) <= 100
    assert set(replies) - set(subscribed) == {"Error"}
    store = redis.Redis.from_url(sec_stack.env["REDIS_URL"])
    assert store.scard(f"realtime:subs:{user_id}") == len(subscribed)


def test_oversized_socketio_notification_is_refused_and_the_server_keeps_serving(sec_stack, admin):
    client = NotificationClient.connect(sec_stack.socket_url, admin.token, transports=["websocket"])
    try:
        payload = {"property_id": 1, "notification": "x" * 20_000}
        assert client.message("broadcast_notification", payload, "notification_update") == "Error"
        reply = client.message("get-notification", {"property_id": 5}, "notification_response")
        assert reply.endswith("property with ID:5")
    finally:
        client.close()
