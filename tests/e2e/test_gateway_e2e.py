"""Every seed REST path end to end through nginx → gateway → service on the real stack, with the seed's
exact responses, plus the edge behaviour only the full path shows (request id in every log, docs)."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.services import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD


def api(stack: Any, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, stack.nginx_url + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def user(stack: Any) -> dict[str, Any]:
    name = f"gw{uuid.uuid4().hex[:10]}"
    creds = {"email": f"{name}@example.com", "password": "gateway-pass-1"}
    registered = api(stack, "POST", "/api/users/register", json={"username": name, **creds})
    assert (registered.status_code, registered.json()) == (
        201,
        {"message": "User registered successfully"},
    ), f"{registered.headers} (stack {stack.root})"
    login = api(stack, "POST", "/api/users/login", json=creds)
    assert login.status_code == 200 and login.json()["message"] == "Login successful"
    return {"username": name, **creds, "token": login.json()["token"]}


def test_user_paths_through_nginx(stack: Any, user: dict[str, Any]) -> None:
    again = api(
        stack, "POST", "/api/users/register", json={k: user[k] for k in ("username", "email", "password")}
    )
    assert (again.status_code, again.json()) == (409, {"error": "User already exists"})
    wrong = api(
        stack, "POST", "/api/users/login", json={"email": user["email"], "password": "not-the-password"}
    )
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Invalid credentials"})
    profile = api(stack, "GET", "/api/users/profile", user["token"])
    assert profile.status_code == 200
    assert {k: profile.json()[k] for k in ("username", "email")} == {
        "username": user["username"],
        "email": user["email"],
    }
    assert isinstance(profile.json()["id"], int)
    assert api(stack, "GET", "/api/users/allusers", user["token"]).status_code == 403
    admin = api(
        stack, "POST", "/api/users/login", json={"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
    )
    everyone = api(stack, "GET", "/api/users/allusers", admin.json()["token"])
    assert everyone.status_code == 200
    assert {
        "id": profile.json()["id"],
        "username": user["username"],
        "email": user["email"],
    } in everyone.json()


def test_booking_paths_through_nginx(stack: Any, user: dict[str, Any]) -> None:
    properties = api(stack, "GET", "/api/bookings/properties")
    assert properties.status_code == 200
    first = next(p for p in properties.json() if p["propertyId"] == 1)
    assert {k: first[k] for k in ("availability", "location", "name", "pricePerNight")} == {
        "availability": True, "location": "New York City NY", "name": "Modern City Apartment", "pricePerNight": 120,
    }  # fmt: skip
    user_id = api(stack, "GET", "/api/users/profile", user["token"]).json()["id"]
    start = random.randint(100, 390)  # days ahead: browser tests book property 1 later in the horizon
    dates = {"startDate": _day(start), "endDate": _day(start + 3)}
    booked = api(
        stack, "POST", "/api/bookings/book", user["token"], json={"userId": user_id, "propertyId": 1, **dates}
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["message"] == "Booking confirmed" and booked.json()["totalPrice"] == 360
    booking_id = booked.json()["bookingId"]
    details = api(stack, "GET", f"/api/bookings/booking/{booking_id}", user["token"])
    assert details.status_code == 200
    # The seed's fields, unchanged; `guests` and `status` were added (issue #20).
    assert details.json() == {"bookingId": booking_id, "userId": user_id, "propertyId": 1, **dates,
                              "guests": 1, "status": "confirmed"}  # fmt: skip
    missing = api(
        stack, "POST", "/api/bookings/book", user["token"], json={"userId": user_id, "propertyId": 5, **dates}
    )
    assert (missing.status_code, missing.json()) == (404, {"message": "Property not found or not available"})
    cancelled = api(stack, "DELETE", f"/api/cancel-booking/{booking_id}", user["token"])
    assert (cancelled.status_code, cancelled.json()) == (200, {"message": "Booking cancelled successfully"})
    unknown = api(stack, "GET", "/api/bookings/booking/999999999", user["token"])
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Booking not found"})


def _day(offset: int) -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


def test_protected_path_without_token_is_401_json_at_the_edge(stack: Any) -> None:
    response = api(stack, "GET", "/api/bookings/mine")
    assert (response.status_code, response.json()) == (401, {"error": "Authorization token is missing"})


def test_unknown_path_and_docs_through_nginx(stack: Any) -> None:
    unknown = api(stack, "GET", "/api/nowhere")
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Not found"})
    page = api(stack, "GET", "/api/docs")
    assert page.status_code == 200 and "openapi.json" in page.text and "<script" in page.text
    assert "https://" not in page.text, "the docs page must not load anything from a CDN"
    spec = api(stack, "GET", "/api/docs/openapi.json").json()
    assert "/api/bookings/book" in spec["paths"]


@pytest.mark.parametrize("sent", [True, False], ids=["client-id", "nginx-id"])
def test_one_request_id_in_nginx_gateway_and_service_logs(
    stack: Any, user: dict[str, Any], sent: bool
) -> None:
    headers = {"X-Request-ID": f"e2e-{uuid.uuid4().hex}"} if sent else {}
    response = api(stack, "GET", "/api/users/profile", user["token"], headers=headers)
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"].split(",")[0].strip()  # see the test below
    if sent:
        assert request_id == headers["X-Request-ID"]
    logs = {"nginx": [stack.root / "nginx" / "logs"], "gateway": _logs(stack, "gateway"),
            "user_service": _logs(stack, "user_service")}  # fmt: skip
    deadline = time.monotonic() + 5
    missing = set(logs)
    while missing and time.monotonic() < deadline:
        missing = {name for name, paths in logs.items() if not _logged(paths, request_id)}
        time.sleep(0.1)
    assert missing == set(), f"request id {request_id} not found in the logs of {missing}"


def test_response_carries_exactly_one_request_id(stack: Any) -> None:
    response = api(stack, "GET", "/api/bookings/properties", headers={"X-Request-ID": "one-id-only"})
    assert response.headers["X-Request-ID"] == "one-id-only"


def _logs(stack: Any, name: str) -> list[Path]:
    return sorted(stack.logs.glob(f"{name}-*.log"))


def _logged(paths: list[Path], request_id: str) -> bool:
    files = [f for p in paths for f in (sorted(p.glob("*.log")) if p.is_dir() else [p])]
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            if request_id in line and _json_request_id(line) == request_id:
                return True
    return False


def _json_request_id(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    nested = (
        record.get("http", {}).get("request", {}).get("id") if isinstance(record.get("http"), dict) else None
    )
    return nested or record.get("http.request.id")
