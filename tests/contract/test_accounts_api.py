"""Self-service accounts (issue #20 item 5) on the real stack: profile edits, password change, one-time
reset links over real SMTP (an aiosmtpd sink on a free port), account deletion, becoming a host, and the
admins' user search. Old tokens are refused through the token-version mechanism. Nothing mocked."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from collections.abc import Iterator

import pytest
import requests
from aiosmtpd.controller import Controller

from tests.support.faults import wait_until
from tests.support.net import free_port
from tests.support.users import in_process_user_app

PROFILE, PASSWORD, BECOME_HOST = "/api/users/profile", "/api/users/password", "/api/users/become-host"
RESET, CONFIRM, LOGIN = "/api/users/password-reset", "/api/users/password-reset/confirm", "/api/users/login"


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.nginx_url


def signed_up(base: str) -> tuple[dict[str, str], str]:
    name = f"acc{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "correct horse 1"}
    assert requests.post(f"{base}/api/users/register", json=user, timeout=10).status_code == 201
    token = requests.post(f"{base}{LOGIN}", json=user, timeout=10).json()["token"]
    return user, token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_soon(base: str, token: str) -> bool:
    """The revocation bound is 1 s per process: poll a little past it."""
    return wait_until(
        lambda: requests.get(f"{base}{PROFILE}", headers=auth(token), timeout=10).status_code == 401, 3
    )


def test_patch_profile_changes_username_and_email(base: str) -> None:
    _, token = signed_up(base)
    new = f"n{uuid.uuid4().hex[:10]}"
    response = requests.patch(
        f"{base}{PROFILE}",
        json={"username": new, "email": f"{new}@Example.com"},
        headers=auth(token),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["username"] == new and response.json()["email"] == f"{new}@example.com"
    profile = requests.get(f"{base}{PROFILE}", headers=auth(token), timeout=10).json()
    assert (profile["username"], profile["email"]) == (new, f"{new}@example.com")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "username or email is required"),
        ({"email": "not-an-email"}, 400, "email is not a valid email address"),
        ({"username": "x" * 2000}, 400, "username must be at most 1000 characters"),
    ],
)
def test_patch_profile_refuses_bad_input(base: str, body: dict, status: int, message: str) -> None:
    _, token = signed_up(base)
    response = requests.patch(f"{base}{PROFILE}", json=body, headers=auth(token), timeout=10)
    assert (response.status_code, response.json()) == (status, {"error": message})


def test_patch_profile_to_a_taken_email_is_409(base: str) -> None:
    other, _ = signed_up(base)
    _, token = signed_up(base)
    response = requests.patch(
        f"{base}{PROFILE}", json={"email": other["email"]}, headers=auth(token), timeout=10
    )
    assert (response.status_code, response.json()) == (409, {"error": "User already exists"})


def test_password_change_needs_the_current_one_and_ends_old_sessions(base: str) -> None:
    user, token = signed_up(base)
    wrong = {"currentPassword": "nope nope", "newPassword": "battery staple 2"}
    response = requests.post(f"{base}{PASSWORD}", json=wrong, headers=auth(token), timeout=10)
    assert (response.status_code, response.json()) == (403, {"error": "Current password is incorrect"})
    right = {"currentPassword": user["password"], "newPassword": "battery staple 2"}
    response = requests.post(f"{base}{PASSWORD}", json=right, headers=auth(token), timeout=10)
    assert response.status_code == 200 and response.json()["message"] == "Password changed"
    fresh = response.json()["token"]
    assert refused_soon(base, token)
    assert requests.get(f"{base}{PROFILE}", headers=auth(fresh), timeout=10).status_code == 200
    login = {"email": user["email"], "password": "battery staple 2"}
    assert requests.post(f"{base}{LOGIN}", json=login, timeout=10).status_code == 200


def test_become_host_returns_a_host_token_and_revokes_the_old_one(base: str) -> None:
    _, token = signed_up(base)
    response = requests.post(f"{base}{BECOME_HOST}", headers=auth(token), timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["message"], body["role"]) == ("You are a host now", "host")
    assert refused_soon(base, token)
    listing = {"name": "Host test loft", "location": "Lisbon", "pricePerNight": 80}
    created = requests.post(
        f"{base}/api/bookings/properties", json=listing, headers=auth(body["token"]), timeout=10
    )
    assert created.status_code == 201, created.text


def test_new_user_routes_need_a_token_at_the_edge(base: str) -> None:
    for method, path in (("POST", PASSWORD), ("POST", BECOME_HOST), ("PATCH", PROFILE), ("DELETE", PROFILE)):
        assert requests.request(method, f"{base}{path}", json={}, timeout=10).status_code == 401


def test_delete_account_anonymises_and_refuses_the_old_password(base: str, stack) -> None:
    user, token = signed_up(base)
    wrong = requests.delete(
        f"{base}{PROFILE}", json={"password": "wrong one"}, headers=auth(token), timeout=10
    )
    assert wrong.status_code == 403
    response = requests.delete(
        f"{base}{PROFILE}", json={"password": user["password"]}, headers=auth(token), timeout=10
    )
    assert (response.status_code, response.json()) == (200, {"message": "Account deleted"})
    assert refused_soon(base, token)
    login = {"email": user["email"], "password": user["password"]}
    assert requests.post(f"{base}{LOGIN}", json=login, timeout=10).status_code == 401
    admin = requests.post(
        f"{base}{LOGIN}", json={"email": "admin@example.com", "password": "admin-dev-password"}, timeout=10
    ).json()["token"]
    found = requests.get(
        f"{base}/api/users/users", params={"q": user["username"]}, headers=auth(admin), timeout=10
    )
    assert found.json() == []  # the name is gone; the row stays (as deleted_<id>) for bookings and the ETL


def test_admin_user_search_filters_pages_and_shows_roles(base: str) -> None:
    user, token = signed_up(base)
    admin = requests.post(
        f"{base}{LOGIN}", json={"email": "admin@example.com", "password": "admin-dev-password"}, timeout=10
    ).json()["token"]
    found = requests.get(
        f"{base}/api/users/users", params={"q": user["username"].upper()}, headers=auth(admin), timeout=10
    )
    assert found.status_code == 200
    [row] = found.json()
    assert (row["username"], row["role"]) == (user["username"], "user") and "createdAt" in row
    admins = requests.get(
        f"{base}/api/users/users", params={"role": "admin", "limit": 1}, headers=auth(admin), timeout=10
    )
    assert len(admins.json()) == 1 and admins.json()[0]["role"] == "admin"
    wildcard = requests.get(f"{base}/api/users/users", params={"q": "%"}, headers=auth(admin), timeout=10)
    assert all("%" in r["username"] + r["email"] for r in wildcard.json())
    bad = requests.get(f"{base}/api/users/users", params={"role": "root"}, headers=auth(admin), timeout=10)
    assert bad.status_code == 400
    assert requests.get(f"{base}/api/users/users", headers=auth(token), timeout=10).status_code == 403


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_password_reset_link_is_mailed_and_works_once(stack, smtp_sink) -> None:
    """The user service runs in process (pointed at the sink) on the stack's real databases."""
    inbox, port = smtp_sink
    client = in_process_user_app(stack, smtp_host="127.0.0.1", smtp_port=port).test_client()
    user, _ = signed_up(stack.nginx_url)
    unknown = client.post(RESET, json={"email": "nobody-here@example.com"})
    response = client.post(RESET, json={"email": user["email"].upper()})
    assert unknown.status_code == response.status_code == 202
    assert response.get_json() == {"message": "If that email is registered, a reset link is on its way"}
    assert wait_until(lambda: bool(inbox.messages), 5, 0.05), "no reset mail"
    [mail] = inbox.messages
    assert f"To: {user['email']}" in mail
    body = email.message_from_string(mail, policy=email.policy.default).get_content()
    token = re.search(r"#/reset\?token=(\S+)", body)[1]
    bad = client.post(CONFIRM, json={"token": token[:-2] + "AA", "newPassword": "brand new pass"})
    assert (bad.status_code, bad.get_json()) == (400, {"error": "Invalid or expired reset link"})
    done = client.post(CONFIRM, json={"token": token, "newPassword": "brand new pass"})
    assert (done.status_code, done.get_json()) == (200, {"message": "Password reset, you can log in now"})
    again = client.post(CONFIRM, json={"token": token, "newPassword": "another pass 3"})
    assert again.status_code == 400
    assert client.post(LOGIN, json={"email": user["email"], "password": "brand new pass"}).status_code == 200
