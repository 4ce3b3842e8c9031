"""Contract of the booking additions of issue #20 (guest count, hosts not booking their own listing, date
blocks, owner cancellation, hosting bookings and earnings) against a real booking_service process on real
MariaDB and Redis from the `stack` fixture. Nothing is mocked; the rules themselves are unit-tested in
tests/unit/test_booking_rules.py and test_property_rules.py."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from tests.support.data import day
from tests.support.notification_client import NotificationClient


def new_id() -> int:
    return 3_000_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.url("booking_service", 0)


class Caller:
    def __init__(self, stack, base: str, role: str = "user") -> None:
        self.id = new_id()
        self.base = base
        self.headers = {"Authorization": f"Bearer {stack.token(self.id, role)}"}

    def call(self, method: str, path: str, body: object = None, **params: object) -> requests.Response:
        return requests.request(
            method, self.base + path, json=body, params=params, headers=self.headers, timeout=10
        )

    def book(self, property_id: int, start: int, end: int, **extra: object) -> requests.Response:
        body = {
            "userId": self.id,
            "propertyId": property_id,
            "startDate": day(start),
            "endDate": day(end),
            **extra,
        }
        return self.call("POST", "/api/bookings/book", body)


@pytest.fixture
def host(stack, base) -> Caller:
    return Caller(stack, base, "host")


@pytest.fixture
def guest(stack, base) -> Caller:
    return Caller(stack, base)


def listing(host: Caller, **fields: object) -> int:
    body = {
        "name": "Lake House",
        "location": f"Town-{uuid.uuid4().hex[:10]}, TS",
        "pricePerNight": 100,
        **fields,
    }
    response = host.call("POST", "/api/bookings/properties", body)
    assert response.status_code == 201, response.text
    return response.json()["propertyId"]


def test_guests_are_kept_and_checked_against_max_guests(host, guest):
    prop = listing(host, maxGuests=3)
    too_many = guest.book(prop, 5, 6, guests=4)
    assert (too_many.status_code, too_many.json()) == (400, {"error": "Too many guests for this property"})
    assert guest.book(prop, 5, 6, guests=0).status_code == 400
    booked = guest.book(prop, 5, 6, guests=3)
    assert booked.status_code == 201 and set(booked.json()) == {"bookingId", "message", "totalPrice"}
    one = guest.call("GET", f"/api/bookings/booking/{booked.json()['bookingId']}").json()
    assert (one["guests"], one["status"]) == (3, "confirmed")
    assert guest.call("GET", "/api/bookings/mine").json()[0]["guests"] == 3


def test_guests_filter_lists_only_properties_that_fit(host):
    town = f"Guests-{uuid.uuid4().hex[:10]}"
    small, large = listing(host, location=town, maxGuests=2), listing(host, location=town, maxGuests=6)
    found = requests.get(
        host.base + "/api/bookings/properties", params={"location": town, "guests": 3}, timeout=5
    )
    assert [p["propertyId"] for p in found.json()] == [large]
    both = requests.get(
        host.base + "/api/bookings/properties", params={"location": town, "guests": 2}, timeout=5
    )
    assert [p["propertyId"] for p in both.json()] == [small, large]
    assert requests.get(host.base + "/api/bookings/properties?guests=51", timeout=5).status_code == 400


def test_a_host_cannot_book_their_own_listing(host):
    response = host.book(listing(host), 3, 4)
    assert (response.status_code, response.json()) == (403, {"error": "Hosts cannot book their own property"})


def test_blocked_dates_show_as_booked_refuse_bookings_and_free_on_removal(stack, host, guest):
    prop = listing(host)
    blocks = f"/api/bookings/properties/{prop}/blocks"
    created = host.call("POST", blocks, {"startDate": day(10), "endDate": day(13)})
    assert created.status_code == 201
    block = created.json()
    assert block == {"id": block["id"], "propertyId": prop, "startDate": day(10), "endDate": day(13)}
    calendar = requests.get(f"{host.base}/api/bookings/properties/{prop}/calendar", timeout=5).json()
    assert calendar["booked"] == [{"startDate": day(10), "endDate": day(13)}] and calendar["blocked"] == [
        block
    ]
    refused = guest.book(prop, 12, 14)
    assert (refused.status_code, refused.json()) == (
        409,
        {"error": "Property is already booked for these dates"},
    )
    assert guest.call("POST", blocks, {"startDate": day(20), "endDate": day(21)}).status_code == 403
    assert Caller(stack, host.base, "host").call("DELETE", f"{blocks}/{block['id']}").status_code == 403
    assert host.call("DELETE", f"{blocks}/{block['id']}").json() == {"message": "Block removed"}
    assert host.call("DELETE", f"{blocks}/{block['id']}").json() == {"error": "Block not found"}
    assert guest.book(prop, 12, 14).status_code == 201
    assert host.call("POST", blocks, {"startDate": day(13), "endDate": day(15)}).status_code == 409


def test_the_listings_owner_cancels_a_guests_booking_and_the_guest_hears_of_it(stack, host, guest):
    prop = listing(host)
    booking_id = guest.book(prop, 30, 33).json()["bookingId"]
    watcher = NotificationClient.connect(stack.socket_url, stack.token(guest.id))
    try:
        watcher.request("get-notification", {"property_id": prop}, "notification_response")
        watcher.request("join-room", {"property_id": prop}, "join_response")
        assert (
            Caller(stack, host.base, "host").call("DELETE", f"/api/cancel-booking/{booking_id}").status_code
            == 404
        )
        response = host.call("DELETE", f"/api/cancel-booking/{booking_id}")
        assert response.json() == {"message": "Booking cancelled successfully"}
        update = watcher.wait_for(
            "notification_update",
            lambda d: isinstance(d["update"], dict) and d["update"].get("bookingId") == booking_id,
            timeout=5,
        )["update"]
    finally:
        watcher.close()
    assert (update["event"], update["cancelledBy"]) == ("cancelled", "owner")
    assert guest.call("GET", f"/api/bookings/booking/{booking_id}").json()["status"] == "cancelled"
    assert Caller(stack, host.base).book(prop, 30, 33).status_code == 201  # the dates are free again


def test_hosting_bookings_show_my_listings_only_admins_see_all(stack, host, guest):
    prop, other = listing(host, name="Loft"), listing(Caller(stack, host.base, "host"))
    mine = guest.book(prop, 40, 42, guests=2).json()["bookingId"]
    theirs = guest.book(other, 40, 42).json()["bookingId"]
    rows = host.call("GET", "/api/bookings/hosting/bookings").json()
    assert [r["id"] for r in rows] == [mine]
    row = rows[0]
    assert {k: row[k] for k in ("propertyId", "propertyName", "userId", "startDate", "endDate", "guests",
                                "totalPrice", "status")} == {
        "propertyId": prop, "propertyName": "Loft", "userId": guest.id, "startDate": day(40),
        "endDate": day(42), "guests": 2, "totalPrice": 200, "status": "confirmed"}  # fmt: skip
    assert row["createdAt"].endswith("Z")
    assert host.call("GET", "/api/bookings/hosting/bookings", **{"from": day(43), "to": day(50)}).json() == []
    admin = Caller(stack, host.base, "admin")
    assert [
        r["id"] for r in admin.call("GET", "/api/bookings/hosting/bookings", propertyId=other).json()
    ] == [theirs]
    assert guest.call("GET", "/api/bookings/hosting/bookings").status_code == 403
    assert host.call("GET", "/api/bookings/hosting/bookings", status="maybe").status_code == 400


def test_earnings_per_month_from_live_confirmed_bookings(stack, host, guest):
    prop = listing(host, pricePerNight=80)
    guest.book(prop, 50, 53)
    cancelled = guest.book(prop, 60, 61).json()["bookingId"]
    guest.call("DELETE", f"/api/cancel-booking/{cancelled}")
    nights = [dt.date.fromisoformat(day(n)).strftime("%Y-%m") for n in (50, 51, 52)]
    expected = [{"month": month, "revenue": f"{80 * nights.count(month)}.00", "nights": nights.count(month),
                 "bookings": 1} for month in sorted(set(nights))]  # fmt: skip
    assert host.call("GET", "/api/bookings/hosting/earnings").json() == expected
    assert guest.call("GET", "/api/bookings/hosting/earnings").status_code == 403
