"""Issue #15 item 4 on REST: logout and role changes revoke tokens within the stated bound in every
process that verifies them (gateway, booking_service, user_service), and a live session can refresh its
token. Real private stack (nginx, gateways, services, PostgreSQL, Redis); nothing is mocked."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from booking_service.realtime.events import REVOCATION_SWEEP_SECONDS
from common.revocation import REVOCATION_BOUND_SECONDS
from tests.security.conftest import Account, login
from tests.support.notification_client import NotificationClient

SLACK_S = 0.5  # one request's time on a busy 2-core machine


def seconds_until_refused(url: str, headers: dict[str, str], limit: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if requests.get(url, headers=headers, timeout=5).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.05)
    return float("inf")


def every_verifier(stack, path: str) -> list[str]:
    """The path through nginx, and straight at each instance of the service that owns it."""
    service = "user_service" if path.startswith("/api/users") else "booking_service"
    return [stack.nginx_url + path] + [stack.url(service, i) + path for i in (0, 1)]


def test_logout_revokes_the_token_everywhere_within_the_bound(sec_stack, new_account: Callable[[], Account]):
    account = new_account()
    for path in ("/api/users/profile", "/api/bookings/mine"):
        assert requests.get(sec_stack.nginx_url + path, headers=account.auth, timeout=5).status_code == 200
    out = requests.post(sec_stack.nginx_url + "/api/users/logout", headers=account.auth, timeout=5)
    assert out.status_code == 200 and out.json() == {"message": "Logged out"}
    for path in ("/api/users/profile", "/api/bookings/mine"):
        for url in every_verifier(sec_stack, path):
            assert seconds_until_refused(url, account.auth) <= REVOCATION_BOUND_SECONDS + SLACK_S, url
    again = login(sec_stack, account.email, account.password)
    fresh = requests.get(
        sec_stack.nginx_url + "/api/users/profile", headers={"Authorization": f"Bearer {again}"}, timeout=5
    )
    assert fresh.status_code == 200, "logging in again starts a new session"


def test_a_demoted_admin_loses_admin_rights_within_the_bound(
    sec_stack, new_account: Callable[[], Account], admin: Account
):
    account = new_account()
    role_url = f"{sec_stack.nginx_url}/api/users/{account.id}/role"
    assert requests.patch(role_url, json={"role": "admin"}, headers=admin.auth, timeout=5).status_code == 200
    promoted = {"Authorization": f"Bearer {login(sec_stack, account.email, account.password)}"}
    assert (
        requests.get(sec_stack.nginx_url + "/api/users/allusers", headers=promoted, timeout=5).status_code
        == 200
    )
    assert requests.patch(role_url, json={"role": "user"}, headers=admin.auth, timeout=5).status_code == 200
    for url in every_verifier(sec_stack, "/api/users/allusers"):
        assert seconds_until_refused(url, promoted) <= REVOCATION_BOUND_SECONDS + SLACK_S, url
    created = requests.post(
        sec_stack.nginx_url + "/api/bookings/properties",
        json={"name": "Not mine to list", "location": "Nowhere", "pricePerNight": 10},
        headers=promoted,
        timeout=5,
    )
    assert created.status_code == 401


def test_refresh_gives_a_working_token_with_the_current_role(
    sec_stack, new_account: Callable[[], Account], admin: Account
):
    account = new_account()
    refreshed = requests.post(sec_stack.nginx_url + "/api/users/refresh", headers=account.auth, timeout=5)
    assert refreshed.status_code == 200
    token = refreshed.json()["token"]
    new_auth = {"Authorization": f"Bearer {token}"}
    assert (
        requests.get(sec_stack.nginx_url + "/api/users/profile", headers=new_auth, timeout=5).status_code
        == 200
    )
    role_url = f"{sec_stack.nginx_url}/api/users/{account.id}/role"
    assert requests.patch(role_url, json={"role": "host"}, headers=admin.auth, timeout=5).status_code == 200
    stale = requests.post(sec_stack.nginx_url + "/api/users/refresh", headers=new_auth, timeout=5)
    assert stale.status_code == 401, "a revoked session cannot refresh itself back to life"


def test_logout_needs_a_token(sec_stack):
    response = requests.post(sec_stack.nginx_url + "/api/users/logout", timeout=5)
    assert response.status_code == 401


SOCKET_BOUND_S = REVOCATION_SWEEP_SECONDS + REVOCATION_BOUND_SECONDS + SLACK_S


def seconds_until_disconnected(client: NotificationClient, limit: float = 15.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not client.sio.connected:
            return time.monotonic() - started
        time.sleep(0.05)
    return float("inf")


def test_logout_ends_a_silent_socketio_connection_within_the_bound(
    sec_stack, new_account: Callable[[], Account]
):
    account = new_account()
    client = NotificationClient.connect(sec_stack.socket_url, account.token)
    try:
        assert client.sio.connected
        out = requests.post(sec_stack.nginx_url + "/api/users/logout", headers=account.auth, timeout=5)
        assert out.status_code == 200
        assert seconds_until_disconnected(client) <= SOCKET_BOUND_S
    finally:
        client.close()


def test_a_demoted_admin_can_no_longer_broadcast(
    sec_stack, new_account: Callable[[], Account], admin: Account
):
    account, watcher_account = new_account(), new_account()
    role_url = f"{sec_stack.nginx_url}/api/users/{account.id}/role"
    assert requests.patch(role_url, json={"role": "admin"}, headers=admin.auth, timeout=5).status_code == 200
    promoted = login(sec_stack, account.email, account.password)
    client = NotificationClient.connect(sec_stack.socket_url, promoted)
    watcher = NotificationClient.connect(sec_stack.socket_url, watcher_account.token)
    try:
        watcher.request("get-notification", {"property_id": 1}, "notification_response")
        watcher.request("join-room", {"property_id": 1}, "join_response")
        assert (
            requests.patch(role_url, json={"role": "user"}, headers=admin.auth, timeout=5).status_code == 200
        )
        time.sleep(REVOCATION_BOUND_SECONDS + SLACK_S)
        mark = watcher.mark()
        if client.sio.connected:  # not swept yet: its next event is checked, and refused
            client.sio.emit("broadcast_notification", {"property_id": 1, "notification": "still admin?"})
        assert seconds_until_disconnected(client) <= SOCKET_BOUND_S
        time.sleep(0.5)
        updates = [e.data["update"] for e in watcher.received[mark:] if e.event == "notification_update"]
        assert "still admin?" not in updates
    finally:
        client.close()
        watcher.close()
