"""Socket.IO abuse (issue #15 item 5) against the real realtime processes of the security stack (gunicorn
gevent, Redis, MariaDB), with python-socketio clients and raw Engine.IO clients that skip CONNECT or stay
silent: the silent session is closed within the deadline + 1 s, a token in the URL is refused, a connection
ends when its token expires. Floods and existence checks are in test_floods.py."""

from __future__ import annotations

import time

import jwt
import pytest
import socketio

from tests.support.notification_client import NotificationClient
from tests.support.socket_abuse import (
    DEADLINE,
    connect_websocket,
    connected,
    next_packet,
    on_disconnect,
    open_polling,
    open_websocket,
    polling_seconds_until_closed,
    seconds_until_closed,
    user_id,
)

pytestmark = pytest.mark.timeout(180)


# ---- 1. authentication deadline ---------------------------------------------------------------------
def test_websocket_session_that_never_sends_connect_is_closed_at_the_deadline(base) -> None:
    started = time.monotonic()
    ws = open_websocket(base)
    closed_after = seconds_until_closed(ws, started, DEADLINE + 5)
    assert DEADLINE - 0.5 <= closed_after <= DEADLINE + 1


def test_polling_session_that_never_sends_connect_is_closed_at_the_deadline(base) -> None:
    started = time.monotonic()
    sid = open_polling(base)
    closed_after = polling_seconds_until_closed(base, sid, started, DEADLINE + 5)
    assert DEADLINE - 0.5 <= closed_after <= DEADLINE + 1


def test_session_sending_only_refused_connects_is_closed_at_the_deadline(base) -> None:
    started = time.monotonic()
    ws = open_websocket(base)
    for _ in range(3):
        ws.send('40{"token":"forged"}')
        assert next_packet(ws).startswith("44")  # CONNECT_ERROR; the session itself stays open
        time.sleep(1)
    assert DEADLINE - 0.5 <= seconds_until_closed(ws, started, DEADLINE + 5) <= DEADLINE + 1


def test_session_whose_connection_ended_is_closed_a_deadline_later(sec_stack, base) -> None:
    ws = connect_websocket(base, sec_stack.token(user_id()))
    ws.send("41")  # Socket.IO DISCONNECT; the Engine.IO session stays open
    left = time.monotonic()
    assert DEADLINE - 0.5 <= seconds_until_closed(ws, left, DEADLINE + 5) <= DEADLINE + 1


def test_many_silent_sessions_are_all_closed_and_real_clients_are_not(
    sec_stack, base, own_property, clients
) -> None:
    silent = [open_websocket(base) for _ in range(100)]
    last_opened = time.monotonic()
    client = connected(clients, base, sec_stack.token(user_id()))
    assert client.message("get-notification", {"property_id": own_property}, "notification_response") == (
        f"Subscribed to notification for property with ID:{own_property}"
    )
    closed_after = [seconds_until_closed(ws, last_opened, DEADLINE + 5) for ws in silent]
    assert max(closed_after) <= DEADLINE + 1
    assert client.sio.connected  # authenticated: the deadline is not for it
    assert client.message("join-room", {"property_id": own_property}, "join_response") == (
        f"Connected to room {own_property} for notifications"
    )


# ---- 4. token only in the auth payload (or an Authorization header) ---------------------------------
@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_token_in_the_url_is_refused_even_beside_a_valid_auth_payload(sec_stack, base, transport) -> None:
    token = sec_stack.token(user_id())
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(f"{base}?token={token}", auth={"token": token}, transports=[transport], wait_timeout=5)


def test_token_in_the_url_is_refused_through_nginx_and_logged_nowhere(sec_stack) -> None:
    token = sec_stack.token(user_id())
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(f"{sec_stack.socket_url}?token={token}", transports=["polling"], wait_timeout=5)
    logs = [path for path in sec_stack.root.rglob("*.log") if path.is_file()]
    assert logs
    assert [path for path in logs if token in path.read_text(errors="replace")] == []


def test_the_client_helper_never_puts_a_token_in_the_url(sec_stack, base) -> None:
    with pytest.raises(ValueError):
        NotificationClient.connect(f"{base}?token={sec_stack.token(user_id())}")


# ---- 5. token expiry --------------------------------------------------------------------------------
def test_connection_is_closed_when_its_token_expires(sec_stack, base, own_property, clients) -> None:
    token = sec_stack.token(user_id(), ttl=3)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    client = connected(clients, base, token)
    gone = on_disconnect(client)
    assert client.message(
        "get-notification", {"property_id": own_property}, "notification_response"
    ).startswith("Subscribed")
    assert gone.wait(expires_at - time.time() + 1)
    assert expires_at - 0.1 <= time.time() <= expires_at + 1
    with pytest.raises(socketio.exceptions.ConnectionError):
        NotificationClient.connect(base, token, transports=["websocket"])


def test_raw_session_ignoring_the_disconnect_is_closed_at_token_expiry(sec_stack, base) -> None:
    token = sec_stack.token(user_id(), ttl=2)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    ws = connect_websocket(base, token)
    assert seconds_until_closed(ws, time.monotonic(), 10) < 10  # reads past the Socket.IO DISCONNECT
    assert expires_at - 0.1 <= time.time() <= expires_at + 1
