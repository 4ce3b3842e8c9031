"""Authorization matrix through nginx: every protected endpoint × (no token, another user's token,
admin token), plus the owner; nobody reads or cancels another user's booking; allusers, role changes and
the Socket.IO broadcast are admin-only; identity headers sent by clients are never trusted.
Real stack (private, see conftest); nothing is mocked."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from common.routes import ROUTES
from tests.security.conftest import Account, login
from tests.support.data import day
from tests.support.notification_client import NotificationClient


@dataclass
class World:
    owner: Account
    other: Account
    host: Account
    admin: Account
    bookings: list[int]
    properties: list[int]


def book(stack, account: Account, property_id: int, offset: int) -> int:
    body = {
        "userId": account.id,
        "propertyId": property_id,
        "startDate": day(offset),
        "endDate": day(offset + 2),
    }
    response = requests.post(
        stack.nginx_url + "/api/bookings/book", json=body, headers=account.auth, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["bookingId"]


def host_property(stack, host: Account) -> int:
    body = {
        "name": f"sec-{uuid.uuid4().hex[:8]}",
        "location": "Host, HS",
        "pricePerNight": 80,
        "availability": True,
    }
    response = requests.post(
        stack.nginx_url + "/api/bookings/properties", json=body, headers=host.auth, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["propertyId"]


@pytest.fixture(scope="module")
def world(sec_stack, new_account, module_admin, booking_db) -> World:
    owner, other, host_user = new_account(), new_account(), new_account()
    host = Account(host_user.id, host_user.email, host_user.password, sec_stack.token(host_user.id, "host"))
    with booking_db.begin() as conn:
        prop = conn.execute(
            sa.text(
                "INSERT INTO properties (name, location, price_per_night, availability) VALUES ('m', 'M', 50, 1)"
            )
        ).lastrowid
    bookings = [book(sec_stack, owner, prop, 400 + 5 * i) for i in range(3)]
    return World(
        owner, other, host, module_admin, bookings, [host_property(sec_stack, host) for _ in range(3)]
    )


def call(stack, method: str, path: str, account: Account | None, body: Any = None) -> requests.Response:
    headers = account.auth if account else {}
    return requests.request(method, stack.nginx_url + path, json=body, headers=headers, timeout=10)


def fill(path: str, world: World) -> str:
    b, p = world.bookings, world.properties
    return path.format(owner=world.owner.id, b0=b[0], b1=b[1], p0=p[0], p1=p[1])


TOKEN_ROUTES = [route for route in ROUTES if route.token]
# Routes a plain signed-in user may not call at all, whatever the object (their role is not listed).
ROLE_RESTRICTED = [route for route in TOKEN_ROUTES if route.roles and "user" not in route.roles]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize("route", TOKEN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_token_route_of_the_manifest_refuses_a_caller_without_one(sec_stack, route):
    response = call(sec_stack, route.method, concrete(route.path), None, {})
    assert response.status_code == 401, response.text
    assert "error" in response.json()


@pytest.mark.parametrize("route", ROLE_RESTRICTED, ids=lambda r: f"{r.method} {r.path}")
def test_every_role_restricted_route_refuses_a_plain_user(sec_stack, world, route):
    response = call(sec_stack, route.method, concrete(route.path), world.other, {})
    assert response.status_code == 403, response.text
    assert "error" in response.json()


# Object-level answers the manifest cannot know, for the caller: another (plain) user, an admin.
# (method, path template, body, expected for: other user, admin); the no-token column is the manifest's.
MATRIX = [
    ("GET", "/api/users/profile", None, (200, 200)),
    ("GET", "/api/users/allusers", None, (403, 200)),
    ("PATCH", "/api/users/{owner}/role", {"role": "user"}, (403, 200)),
    ("GET", "/api/bookings/booking/{b0}", None, (404, 200)),
    ("GET", "/api/bookings/mine", None, (200, 200)),
    ("DELETE", "/api/cancel-booking/{b1}", None, (404, 200)),
    ("POST", "/api/bookings/book", "owner-booking", (403, 201)),
    ("POST", "/api/bookings/properties", {"name": "x", "location": "y", "pricePerNight": 9}, (403, 201)),
    ("PATCH", "/api/bookings/properties/{p0}", {"pricePerNight": 81}, (403, 200)),
    ("POST", "/api/bookings/properties/{p0}/blocks", "block", (403, 201)),
    ("GET", "/api/bookings/hosting/bookings", None, (403, 200)),
    ("GET", "/api/bookings/hosting/earnings", None, (403, 200)),
    ("DELETE", "/api/bookings/properties/{p1}", None, (403, 200)),
]  # fmt: skip


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_matrix_rows_are_manifest_routes():
    known = {(route.method, _template(route.path)): route for route in TOKEN_ROUTES}
    assert all((method, _template(path)) in known for method, path, _, _ in MATRIX)


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), MATRIX, ids=[f"{m[0]} {m[1]}" for m in MATRIX]
)
def test_endpoint_answers_each_caller_as_documented(sec_stack, world, method, path, body, expected):
    if body == "owner-booking":
        body = {"userId": world.owner.id, "propertyId": world.properties[2], "startDate": day(700),
                "endDate": day(701)}  # fmt: skip
    elif body == "block":
        body = {"startDate": day(600), "endDate": day(602)}
    url = fill(path, world)
    got = [call(sec_stack, method, url, who, body) for who in (None, world.other, world.admin)]
    assert [r.status_code for r in got] == [401, *expected], [r.text for r in got]
    assert all(r.headers["Content-Type"].startswith("application/json") for r in got)


def booking_status(booking_db, booking_id: int) -> str:
    with booking_db.connect() as conn:
        return conn.execute(
            sa.text("SELECT status FROM bookings WHERE id = :i"), {"i": booking_id}
        ).scalar_one()


def test_nobody_else_reads_or_cancels_a_booking_but_its_owner_can(sec_stack, world, booking_db):
    target = world.bookings[2]
    # A fresh login: the matrix's role change revoked the owner's first token (within 1 s, so not always yet).
    owner = Account(world.owner.id, world.owner.email, world.owner.password,
                    login(sec_stack, world.owner.email, world.owner.password))  # fmt: skip
    other_list = call(sec_stack, "GET", "/api/bookings/mine", world.other).json()
    assert target not in [b["bookingId"] for b in other_list]
    assert call(sec_stack, "GET", f"/api/bookings/booking/{target}", world.other).status_code == 404
    assert call(sec_stack, "DELETE", f"/api/cancel-booking/{target}", world.other).status_code == 404
    assert booking_status(booking_db, target) == "confirmed"
    assert call(sec_stack, "GET", f"/api/bookings/booking/{target}", owner).json()["userId"] == owner.id
    assert call(sec_stack, "DELETE", f"/api/cancel-booking/{target}", owner).status_code == 200
    assert booking_status(booking_db, target) == "cancelled"


def test_profile_is_always_the_callers_own(sec_stack, world):
    assert call(sec_stack, "GET", "/api/users/profile", world.other).json()["id"] == world.other.id


@pytest.mark.parametrize(
    "spoofed",
    [
        {"X-Authenticated-User-Id": "1", "X-Authenticated-User-Role": "admin"},
        {"X-User-Id": "1", "X-Role": "admin", "X-Forwarded-For": "10.0.0.1"},
    ],
)
def test_identity_headers_from_clients_are_ignored(sec_stack, world, spoofed):
    anonymous = requests.get(sec_stack.nginx_url + "/api/users/allusers", headers=spoofed, timeout=10)
    assert anonymous.status_code == 401
    as_user = requests.get(
        sec_stack.nginx_url + "/api/users/allusers", headers={**spoofed, **world.other.auth}, timeout=10
    )
    assert as_user.status_code == 403


@pytest.mark.parametrize(
    ("service", "path"),
    [("user_service", "/api/users/allusers"), ("booking_service", "/api/bookings/booking/1")],
)
def test_services_reached_directly_still_require_a_token(sec_stack, service, path):
    """Defence in depth: a caller that bypasses nginx and the gateway gets no further."""
    headers = {"X-Authenticated-User-Id": "1", "X-Authenticated-User-Role": "admin"}
    response = requests.get(sec_stack.url(service, 0) + path, headers=headers, timeout=10)
    assert response.status_code == 401


def test_socketio_broadcast_is_admin_only(sec_stack, world, own_property):
    property_id = own_property  # watching needs a property that exists
    member = NotificationClient.connect(sec_stack.socket_url, sec_stack.token(world.other.id))
    # The owner's own token was revoked by the role change of the matrix above: a host is not an admin either.
    user = NotificationClient.connect(sec_stack.socket_url, world.host.token)
    boss = NotificationClient.connect(sec_stack.socket_url, world.admin.token)
    try:
        member.request("get-notification", {"property_id": property_id}, "notification_response")
        member.request("join-room", {"property_id": property_id}, "join_response")
        payload = {"property_id": property_id, "notification": "free upgrade"}
        refused = user.request("broadcast_notification", payload, "notification_update")
        assert refused == {"message": "Forbidden"}
        boss.sio.emit("broadcast_notification", {**payload, "notification": "from admin"})
        member.wait_for("notification_update", lambda d: d["update"] == "from admin", timeout=5)
        assert "free upgrade" not in [e["update"] for e in member.events("notification_update")]
    finally:
        for client in (member, user, boss):
            client.close()
