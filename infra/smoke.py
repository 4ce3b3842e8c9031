"""The seed contract's smoke test, through the edge only: one script for every way the suite is run.

`make test` runs it against the private test stack (tests/e2e/test_smoke.py); the GitHub workflow runs
it against `docker compose up` and against the dev-cluster overlay on kind. It registers a fresh user,
logs in, reads the profile and the property list, watches a property over Socket.IO on both edge entries
(port 5001 and /socket.io/ on the HTTP port), books a night, reads the booking back and cancels it.

    python -m infra.smoke [--http http://127.0.0.1:8080] [--socket http://127.0.0.1:5001]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import uuid
from collections.abc import Callable
from typing import Any

import requests
import socketio

TIMEOUT = 10.0


class SmokeFailure(AssertionError):
    """A contract check that did not hold."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def call(method: str, url: str, status: int, **kwargs: Any) -> Any:
    response = requests.request(method, url, timeout=TIMEOUT, **kwargs)
    expect(response.status_code == status, f"{method} {url}: {response.status_code} {response.text[:200]}")
    return response.json()


def watch_property(socket_url: str, token: str, property_id: int, path: str = "socket.io") -> None:
    """get-notification then join-room on one Socket.IO connection, with the seed's replies."""
    client = socketio.SimpleClient()
    client.connect(socket_url, auth={"token": token}, socketio_path=path, wait_timeout=TIMEOUT)
    try:
        client.emit("get-notification", {"property_id": property_id})
        event, data = client.receive(timeout=TIMEOUT)
        expect(event == "notification_response", f"get-notification answered {event}")
        expect(str(property_id) in data["message"] and "notification" in data["message"], str(data))
        client.emit("join-room", {"property_id": property_id})
        event, data = client.receive(timeout=TIMEOUT)
        expect(event == "join_response", f"join-room answered {event}")
        expect(data["message"] == f"Connected to room {property_id} for notifications", str(data))
    finally:
        client.disconnect()


def book_a_night(api: str, auth: dict[str, str], user_id: int, property_id: int) -> dict[str, Any]:
    """A one-night booking on a random future date (a taken night is retried elsewhere)."""
    for _ in range(20):
        start = dt.date.today() + dt.timedelta(days=random.randint(30, 700))
        body = {
            "userId": user_id,
            "propertyId": property_id,
            "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=1)).isoformat(),
        }
        response = requests.post(f"{api}/bookings/book", json=body, headers=auth, timeout=TIMEOUT)
        if response.status_code != 409:
            expect(response.status_code == 201, f"book: {response.status_code} {response.text[:200]}")
            return {**body, **response.json()}
    raise SmokeFailure("every night tried was already booked")


def run(http_url: str, socket_url: str, log: Callable[[str], None] = print) -> None:
    api = f"{http_url.rstrip('/')}/api"
    expect(requests.get(f"{http_url.rstrip('/')}/nginx-health", timeout=TIMEOUT).ok, "edge health")
    name = f"smoke{uuid.uuid4().hex[:12]}"
    account = {"username": name, "email": f"{name}@example.com", "password": "smoke-test-password"}
    registered = call("POST", f"{api}/users/register", 201, json=account)
    expect(registered == {"message": "User registered successfully"}, str(registered))
    login = call("POST", f"{api}/users/login", 200, json=account)
    expect(login.get("message") == "Login successful" and login.get("token"), "login")
    auth = {"Authorization": f"Bearer {login['token']}"}
    profile = call("GET", f"{api}/users/profile", 200, headers=auth)
    expect(profile["username"] == name and profile["email"] == account["email"], str(profile))
    log("users: register, login, profile ok")

    properties = call("GET", f"{api}/bookings/properties", 200)
    available = [p for p in properties if p["availability"] is True]
    expect(bool(available), "no available property")
    property_id = int(available[0]["propertyId"])
    log(f"bookings: {len(properties)} properties listed")

    watch_property(socket_url, login["token"], property_id)
    watch_property(http_url, login["token"], property_id)
    log("socket.io: get-notification and join-room on both edge entries ok")

    booking = book_a_night(api, auth, profile["id"], property_id)
    expect(booking["message"] == "Booking confirmed" and booking["totalPrice"] > 0, str(booking))
    read = call("GET", f"{api}/bookings/booking/{booking['bookingId']}", 200, headers=auth)
    fields = ("bookingId", "userId", "propertyId", "startDate", "endDate")
    expect(all(read[f] == booking[f] for f in fields), f"read back {read} for {booking}")
    cancelled = call("DELETE", f"{api}/cancel-booking/{booking['bookingId']}", 200, headers=auth)
    expect(cancelled == {"message": "Booking cancelled successfully"}, str(cancelled))
    log(f"bookings: booking {booking['bookingId']} made, read back and cancelled")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.smoke")
    parser.add_argument("--http", default="http://127.0.0.1:8080", help="the edge's HTTP entry")
    parser.add_argument("--socket", default="http://127.0.0.1:5001", help="the edge's Socket.IO port")
    args = parser.parse_args(argv)
    try:
        run(args.http, args.socket)
    except (SmokeFailure, requests.RequestException, socketio.exceptions.SocketIOError) as exc:
        print(f"smoke test failed: {exc}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
