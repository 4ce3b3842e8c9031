"""Contract of host property management and search (issue #12) against a real booking_service on real
MariaDB and Redis Cluster from the `stack` fixture. Nothing is mocked."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.data import day

DETAIL_KEYS = {"availability", "location", "name", "pricePerNight", "propertyId", "description", "maxGuests",
               "ownerId", "timeZone"}  # fmt: skip


def new_id() -> int:
    return 800_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.url("booking_service", 0)


def auth(stack, user_id: int, role: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token(user_id, role)}"}


@pytest.fixture
def host(stack):
    user_id = new_id()
    return user_id, auth(stack, user_id, "host")


@pytest.fixture
def town() -> str:
    """A location only this test uses, so list filters see only its own properties."""
    return f"Town-{uuid.uuid4().hex[:10]}, TS"


def create(base: str, headers: dict, **fields) -> requests.Response:
    body = {"name": "Lake House", "location": "Lakeside, LS", "pricePerNight": 150, **fields}
    return requests.post(f"{base}/api/bookings/properties", json=body, headers=headers, timeout=5)


def search(base: str, **params) -> list[dict]:
    response = requests.get(f"{base}/api/bookings/properties", params=params, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def test_host_creates_property_in_seed_shape_with_owner(base, host):
    user_id, headers = host
    response = create(base, headers, description="Quiet", maxGuests=4, pricePerNight=149.99)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert body | {"propertyId": 0} == {
        "availability": True, "location": "Lakeside, LS", "name": "Lake House", "pricePerNight": 149.99,
        "propertyId": 0, "description": "Quiet", "maxGuests": 4, "ownerId": user_id, "timeZone": "UTC",
    }  # fmt: skip
    detail = requests.get(f"{base}/api/bookings/properties/{body['propertyId']}", timeout=5)
    assert detail.json() == body


def test_guest_cannot_create_and_anonymous_gets_401(base, stack):
    assert create(base, auth(stack, new_id(), "user")).status_code == 403
    assert create(base, {}).status_code == 401


def test_admin_can_create(base, stack):
    assert create(base, auth(stack, 1, "admin")).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"location": 7}, "location"),
        ({"pricePerNight": 0}, "pricePerNight"),
        ({"pricePerNight": "100"}, "pricePerNight"),
        ({"pricePerNight": 10.005}, "pricePerNight"),
        ({"availability": "yes"}, "availability"),
        ({"maxGuests": 0}, "maxGuests"),
        ({"description": "x" * 4001}, "description"),
        ({"ownerId": 5}, "ownerId"),
        ({"name": "\ud800"}, "name"),
        ({"location": "x\udfff"}, "location"),
        ({"description": "\ud800"}, "description"),
    ],
)
def test_invalid_property_body_is_400_naming_the_field(base, host, body, field):
    _, headers = host
    response = create(base, headers, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]


def test_seed_property_detail_leaves_out_unset_fields(base):
    response = requests.get(f"{base}/api/bookings/properties/2", timeout=5)
    body = response.json()
    photos = body.pop("photos")  # the seed listings' own photos (issue #20), an addition
    assert len(photos) == 2 and all(set(photo) == {"id", "url", "thumbUrl"} for photo in photos)
    assert body.pop("timeZone") == "UTC"  # and every listing's time zone, the other
    assert body == {"availability": True, "location": "Malibu, CA", "name": "Oceanfront Luxury Villa",
                    "pricePerNight": 450, "propertyId": 2}  # fmt: skip


def test_get_unknown_property_is_404(base):
    response = requests.get(f"{base}/api/bookings/properties/987654321", timeout=5)
    assert response.status_code == 404 and response.json() == {"error": "Property not found"}


def test_owner_patches_others_get_403_admin_allowed(base, host, stack):
    _, headers = host
    property_id = create(base, headers).json()["propertyId"]
    url = f"{base}/api/bookings/properties/{property_id}"
    changed = requests.patch(
        url, json={"pricePerNight": 175.5, "availability": False}, headers=headers, timeout=5
    )
    assert changed.status_code == 200
    assert (changed.json()["pricePerNight"], changed.json()["availability"]) == (175.5, False)
    other_host = auth(stack, new_id(), "host")
    assert requests.patch(url, json={"name": "Mine now"}, headers=other_host, timeout=5).status_code == 403
    admin = auth(stack, 1, "admin")
    assert requests.patch(url, json={"name": "Renamed"}, headers=admin, timeout=5).json()["name"] == "Renamed"
    seed = f"{base}/api/bookings/properties/1"
    assert requests.patch(seed, json={"name": "Hijack"}, headers=headers, timeout=5).status_code == 403


@pytest.mark.parametrize(("body", "field"), [({}, "field"), ({"pricePerNight": -5}, "pricePerNight"),
                                             ({"propertyId": 3}, "propertyId")])  # fmt: skip
def test_invalid_patch_is_400(base, host, body, field):
    _, headers = host
    property_id = create(base, headers).json()["propertyId"]
    url = f"{base}/api/bookings/properties/{property_id}"
    response = requests.patch(url, json=body, headers=headers, timeout=5)
    assert response.status_code == 400 and field in response.json()["error"]


def test_patch_unknown_property_is_404(base, host):
    _, headers = host
    url = f"{base}/api/bookings/properties/987654321"
    assert requests.patch(url, json={"name": "x"}, headers=headers, timeout=5).status_code == 404


def test_retire_refused_with_future_bookings_then_hidden_everywhere(base, host, stack, town):
    _, headers = host
    property_id = create(base, headers, location=town).json()["propertyId"]
    guest_id = new_id()
    body = {"userId": guest_id, "propertyId": property_id, "startDate": day(5), "endDate": day(7)}
    guest = auth(stack, guest_id)
    booking = requests.post(f"{base}/api/bookings/book", json=body, headers=guest, timeout=5).json()
    url = f"{base}/api/bookings/properties/{property_id}"
    refused = requests.delete(url, headers=headers, timeout=5)
    assert refused.status_code == 409 and "error" in refused.json()
    requests.delete(f"{base}/api/cancel-booking/{booking['bookingId']}", headers=guest, timeout=5)
    assert requests.delete(url, headers=headers, timeout=5).status_code == 200
    assert search(base, location=town) == []
    assert requests.get(url, timeout=5).status_code == 404
    assert requests.delete(url, headers=headers, timeout=5).status_code == 404
    rebook = requests.post(f"{base}/api/bookings/book", json=body, headers=guest, timeout=5)
    assert rebook.status_code == 404
    assert rebook.json() == {"message": "Property not found or not available"}


def test_search_filters_sort_and_paginate(base, host, town):
    _, headers = host
    for name, price in (("Bravo", 300), ("Alpha", 100), ("Charlie", 200)):
        assert create(base, headers, name=name, pricePerNight=price, location=town).status_code == 201
    assert [p["name"] for p in search(base, location=town.lower(), sort="price")] == [
        "Alpha",
        "Charlie",
        "Bravo",
    ]
    assert [p["name"] for p in search(base, location=town, sort="-price")] == ["Bravo", "Charlie", "Alpha"]
    assert [p["name"] for p in search(base, location=town, sort="name")] == ["Alpha", "Bravo", "Charlie"]
    assert [p["name"] for p in search(base, location=town, minPrice=150, maxPrice=250)] == ["Charlie"]
    page = search(base, location=town, sort="name", limit=2, offset=1)
    assert [p["name"] for p in page] == ["Bravo", "Charlie"]
    assert set(page[0]) == {"availability", "location", "name", "pricePerNight", "propertyId"}


def test_default_page_is_50_and_limit_is_capped(base, stack):
    admin = auth(stack, 1, "admin")
    while len(search(base, limit=200)) <= 50:
        assert create(base, admin).status_code == 201
    assert len(search(base)) == 50
    assert requests.get(f"{base}/api/bookings/properties?limit=201", timeout=5).status_code == 400


def test_calendar_lists_booked_ranges_without_guests(base, host, stack):
    _, headers = host
    property_id = create(base, headers).json()["propertyId"]
    for start, end in ((10, 12), (20, 25)):
        guest_id = new_id()
        body = {"userId": guest_id, "propertyId": property_id, "startDate": day(start), "endDate": day(end)}
        assert (
            requests.post(f"{base}/api/bookings/book", json=body, headers=auth(stack, guest_id)).status_code
            == 201
        )
    url = f"{base}/api/bookings/properties/{property_id}/calendar"
    calendar = requests.get(url, params={"from": day(11), "to": day(21)}, timeout=5).json()
    assert calendar == {
        "propertyId": property_id, "from": day(11), "to": day(21),
        "booked": [{"startDate": day(10), "endDate": day(12)}, {"startDate": day(20), "endDate": day(25)}],
        "blocked": [],
    }  # fmt: skip
    assert requests.get(url, params={"from": day(5), "to": day(5)}, timeout=5).status_code == 400
    missing = f"{base}/api/bookings/properties/987654321/calendar"
    assert requests.get(missing, timeout=5).status_code == 404


def test_price_change_never_alters_existing_booking(base, host, stack):
    _, headers = host
    property_id = create(base, headers, pricePerNight=100).json()["propertyId"]
    guest_id = new_id()
    guest = auth(stack, guest_id)
    body = {"userId": guest_id, "propertyId": property_id, "startDate": day(3), "endDate": day(5)}
    booked = requests.post(f"{base}/api/bookings/book", json=body, headers=guest, timeout=5).json()
    assert booked["totalPrice"] == 200
    url = f"{base}/api/bookings/properties/{property_id}"
    assert requests.patch(url, json={"pricePerNight": 999}, headers=headers, timeout=5).status_code == 200
    mine = requests.get(f"{base}/api/bookings/mine", headers=guest, timeout=5).json()
    assert [(b["totalPrice"], b["pricePerNight"]) for b in mine] == [(200, 100)]
    body.update(startDate=day(6), endDate=day(7))
    assert requests.post(f"{base}/api/bookings/book", json=body, headers=guest).json()["totalPrice"] == 999
