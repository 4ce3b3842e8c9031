"""Contract of the booking REST API (seed paths, statuses, messages) against a real booking_service
process, real MariaDB and real Redis Cluster started by the `stack` fixture. Nothing is mocked."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import redis
import requests
import sqlalchemy as sa

from tests.support.data import booking_engine, day, insert_property
from tests.support.faults import wait_until
from tests.support.users import registered_user_id

SEED_PROPERTIES = [
    {"availability": True, "location": "New York City NY", "name": "Modern City Apartment",
     "pricePerNight": 120, "propertyId": 1},
    {"availability": True, "location": "Malibu, CA", "name": "Oceanfront Luxury Villa",
     "pricePerNight": 450, "propertyId": 2},
    {"availability": True, "location": "Aspen, CO", "name": "Rustic Mountain Cabin",
     "pricePerNight": 180, "propertyId": 3},
    {"availability": True, "location": "Charleston, SC", "name": "Charming Country Cottage",
     "pricePerNight": 90, "propertyId": 4},
    {"availability": False, "location": "Chicago, IL", "name": "Downtown Penthouse",
     "pricePerNight": 600, "propertyId": 5},
]  # fmt: skip


class Days(int):
    """A date written as an offset from today in a parametrized body."""


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.url("booking_service", 0)


@pytest.fixture(scope="module")
def db(stack):
    engine = booking_engine(stack)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_property(db) -> int:
    """A property nobody else books, so each test owns its calendar; price 99.50 per night."""
    return insert_property(db, "Testville, TS", Decimal("99.50"), "test")


@pytest.fixture
def user(stack):
    """A fresh user id and its auth header."""
    user_id = 100_000 + uuid.uuid4().int % 1_000_000
    return user_id, {"Authorization": f"Bearer {stack.token(user_id, 'user')}"}


def book(base: str, headers: dict, user_id: int, property_id: int, start: str, end: str, **extra):
    body = {"userId": user_id, "propertyId": property_id, "startDate": start, "endDate": end}
    return requests.post(f"{base}/api/bookings/book", json=body, headers={**headers, **extra}, timeout=10)


def test_properties_list_is_the_seed_list(base):
    response = requests.get(f"{base}/api/bookings/properties", timeout=5)
    assert response.status_code == 200
    seed = response.json()[:5]
    assert [{key: item[key] for key in SEED_PROPERTIES[0]} for item in seed] == SEED_PROPERTIES
    # The one addition: each seed listing's first photo (made by `python -m booking_service migrate`).
    assert all(set(item) - set(SEED_PROPERTIES[0]) == {"thumbUrl"} for item in seed)


def test_properties_filters(base):
    cheap = requests.get(f"{base}/api/bookings/properties", params={"maxPrice": "120"}, timeout=5).json()
    assert {p["propertyId"] for p in cheap} >= {1, 4} and all(p["pricePerNight"] <= 120 for p in cheap)
    aspen = requests.get(f"{base}/api/bookings/properties", params={"location": "aspen"}, timeout=5).json()
    assert [p["propertyId"] for p in aspen] == [3]
    unavailable = requests.get(f"{base}/api/bookings/properties?available=false", timeout=5).json()
    assert 5 in {p["propertyId"] for p in unavailable} and not any(p["availability"] for p in unavailable)


@pytest.mark.parametrize(
    "query", ["maxPrice=abc", "maxPrice=-1", "available=maybe", "from=2030-01-01", "from=x&to=y", "limit=0"]
)
def test_properties_bad_filters_are_400(base, query):
    response = requests.get(f"{base}/api/bookings/properties?{query}", timeout=5)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


def test_date_window_filter_hides_booked_property(base, user, fresh_property):
    user_id, headers = user
    assert book(base, headers, user_id, fresh_property, day(10), day(13)).status_code == 201
    params = {"location": "Testville", "limit": 200}
    busy = requests.get(f"{base}/api/bookings/properties", params={**params, "from": day(12), "to": day(14)})
    free = requests.get(f"{base}/api/bookings/properties", params={**params, "from": day(13), "to": day(15)})
    assert fresh_property not in {p["propertyId"] for p in busy.json()}
    assert fresh_property in {p["propertyId"] for p in free.json()}


def test_book_returns_201_with_nights_times_price(base, user, fresh_property, db):
    user_id, headers = user
    response = book(base, headers, user_id, fresh_property, day(5), day(10))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"bookingId", "message", "totalPrice"}
    assert body["message"] == "Booking confirmed"
    assert body["totalPrice"] == 497.5  # 5 nights x 99.50
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM bookings WHERE id = :i"), {"i": body["bookingId"]}).one()
    assert (row.status, row.user_id, str(row.price_per_night)) == ("confirmed", user_id, "99.50")


def test_seed_property_total_price_is_a_json_integer(base, user):
    user_id, headers = user
    response = book(base, headers, user_id, 2, day(300), day(302))
    assert response.status_code == 201
    assert type(response.json()["totalPrice"]) is int and response.json()["totalPrice"] == 900
    # Give the seed property's dates back so the test can run again on the same database.
    cancel = f"{base}/api/cancel-booking/{response.json()['bookingId']}"
    assert requests.delete(cancel, headers=headers, timeout=5).status_code == 200


@pytest.mark.parametrize("property_id", [5, 999_999])
def test_unknown_or_unavailable_property_is_404_with_seed_message(base, user, property_id):
    user_id, headers = user
    response = book(base, headers, user_id, property_id, day(3), day(4))
    assert response.status_code == 404
    assert response.json() == {"message": "Property not found or not available"}


def test_overlapping_booking_is_409(base, user, fresh_property, stack):
    user_id, headers = user
    assert book(base, headers, user_id, fresh_property, day(20), day(25)).status_code == 201
    other = {"Authorization": f"Bearer {stack.token(user_id + 1)}"}
    response = book(base, other, user_id + 1, fresh_property, day(24), day(26))
    assert response.status_code == 409
    assert response.json() == {"error": "Property is already booked for these dates"}
    # Checkout day is the next guest's check-in day.
    assert book(base, other, user_id + 1, fresh_property, day(25), day(27)).status_code == 201


def test_booking_for_someone_else_is_403_unless_admin(base, user, fresh_property, stack):
    _, headers = user
    guest = registered_user_id(stack)
    assert book(base, headers, guest, fresh_property, day(3), day(4)).status_code == 403
    admin = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    assert book(base, admin, guest, fresh_property, day(3), day(4)).status_code == 201


def test_admin_booking_for_a_user_that_does_not_exist_is_400(base, fresh_property, stack):
    """Only once the user directory is known to be whole: until then booking_service cannot tell, and by
    design lets the admin's booking through (user_service fills it in the background at start)."""
    directory = redis.Redis.from_url(stack.env["REDIS_URL"])
    assert wait_until(lambda: directory.exists("hrp:user-ids:complete"), 30), "user directory never filled"
    directory.close()
    admin = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    response = book(
        base, admin, 2_000_000_000 + uuid.uuid4().int % 100_000_000, fresh_property, day(3), day(4)
    )
    assert response.status_code == 400
    assert response.json() == {"error": "userId is not a registered user"}


def test_booking_without_or_with_bad_token_is_401(base, fresh_property):
    body = {"userId": 1, "propertyId": fresh_property, "startDate": day(3), "endDate": day(4)}
    assert requests.post(f"{base}/api/bookings/book", json=body, timeout=5).status_code == 401
    bad = {"Authorization": "Bearer not.a.token"}
    assert requests.post(f"{base}/api/bookings/book", json=body, headers=bad, timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"userId": None}, "userId"),
        ({"userId": "3"}, "userId"),
        ({"userId": True}, "userId"),
        ({"propertyId": 1.5}, "propertyId"),
        ({"propertyId": -2}, "propertyId"),
        ({"startDate": None}, "startDate"),
        ({"startDate": "10/10/2030"}, "startDate"),
        ({"startDate": "2030-02-30"}, "startDate"),
        ({"endDate": 20301010}, "endDate"),
        ({"endDate": Days(40)}, "endDate must be after startDate"),
        ({"endDate": Days(39)}, "endDate must be after startDate"),
        ({"startDate": "2001-01-01", "endDate": "2001-01-03"}, "past"),
        ({"endDate": Days(40 + 366)}, "365"),
    ],
)
def test_invalid_booking_body_is_400(base, user, fresh_property, db, change, fragment):
    user_id, headers = user
    body = {"userId": user_id, "propertyId": fresh_property, "startDate": day(40), "endDate": day(42)}
    body.update({k: day(v) if isinstance(v, Days) else v for k, v in change.items()})
    response = requests.post(f"{base}/api/bookings/book", json=body, headers=headers, timeout=5)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    with db.connect() as conn:
        count = conn.execute(sa.text("SELECT COUNT(*) FROM bookings WHERE property_id = :p"),
                             {"p": fresh_property}).scalar()  # fmt: skip
    assert count == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_malformed_body_is_400(base, user, raw):
    _, headers = user
    response = requests.post(
        f"{base}/api/bookings/book", data=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "error" in response.json()


def test_get_booking_owner_and_admin_see_it_others_get_404(base, user, fresh_property, stack):
    user_id, headers = user
    booking_id = book(base, headers, user_id, fresh_property, day(50), day(52)).json()["bookingId"]
    expected = {"bookingId": booking_id, "userId": user_id, "propertyId": fresh_property,
                "startDate": day(50), "endDate": day(52), "guests": 1, "status": "confirmed"}  # fmt: skip
    url = f"{base}/api/bookings/booking/{booking_id}"
    assert requests.get(url, headers=headers, timeout=5).json() == expected
    admin = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    assert requests.get(url, headers=admin, timeout=5).json() == expected
    stranger = {"Authorization": f"Bearer {stack.token(user_id + 1)}"}
    for target in (url, f"{base}/api/bookings/booking/987654321"):
        response = requests.get(target, headers=stranger, timeout=5)
        assert response.status_code == 404
        assert response.json() == {"error": "Booking not found"}


def test_mine_lists_only_callers_bookings(base, user, fresh_property, stack):
    user_id, headers = user
    booking_id = book(base, headers, user_id, fresh_property, day(60), day(61)).json()["bookingId"]
    other = {"Authorization": f"Bearer {stack.token(user_id + 1)}"}
    book(base, other, user_id + 1, fresh_property, day(61), day(62))
    mine = requests.get(f"{base}/api/bookings/mine", headers=headers, timeout=5).json()
    assert [b["bookingId"] for b in mine] == [booking_id]
    assert mine[0]["status"] == "confirmed" and mine[0]["totalPrice"] == 99.5


def test_cancel_keeps_history_frees_dates_and_refuses_twice(base, user, fresh_property, db, stack):
    user_id, headers = user
    booking_id = book(base, headers, user_id, fresh_property, day(70), day(75)).json()["bookingId"]
    url = f"{base}/api/cancel-booking/{booking_id}"
    stranger = {"Authorization": f"Bearer {stack.token(user_id + 1)}"}
    assert requests.delete(url, headers=stranger, timeout=5).json() == {"error": "Booking not found"}
    response = requests.delete(url, headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.json() == {"message": "Booking cancelled successfully"}
    again = requests.delete(url, headers=headers, timeout=5)
    assert again.status_code == 409
    with db.connect() as conn:
        status = conn.execute(
            sa.text("SELECT status FROM bookings WHERE id = :i"), {"i": booking_id}
        ).scalar()
    assert status == "cancelled"
    assert book(base, stranger, user_id + 1, fresh_property, day(71), day(73)).status_code == 201


def test_cancel_unknown_booking_is_404(base, user):
    _, headers = user
    response = requests.delete(f"{base}/api/cancel-booking/987654321", headers=headers, timeout=5)
    assert response.status_code == 404
    assert response.json() == {"error": "Booking not found"}


def test_idempotency_key_replays_first_response(base, user, fresh_property, db):
    user_id, headers = user
    key = uuid.uuid4().hex
    first = book(base, headers, user_id, fresh_property, day(80), day(82), **{"Idempotency-Key": key})
    second = book(base, headers, user_id, fresh_property, day(80), day(82), **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    with db.connect() as conn:
        count = conn.execute(sa.text("SELECT COUNT(*) FROM bookings WHERE property_id = :p"),
                             {"p": fresh_property}).scalar()  # fmt: skip
    assert count == 1
    reused = book(base, headers, user_id, fresh_property, day(90), day(92), **{"Idempotency-Key": key})
    assert reused.status_code == 422


def test_unknown_route_and_method_are_json(base):
    assert requests.get(f"{base}/api/bookings/nope", timeout=5).json() == {"error": "Not found"}
    response = requests.put(f"{base}/api/bookings/properties", timeout=5)
    assert response.status_code == 405 and "error" in response.json()


def test_health_and_ready(base):
    assert requests.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{base}/ready", timeout=5).json()
    assert ready["checks"]["mariadb"] == "ok"
