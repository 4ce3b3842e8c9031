"""Inputs that once reached a driver unbounded or crashed a parser, sent through nginx to the real stack:
a price filter that became a multi-megabyte SQL statement, Unicode digits, bookings in the year 9999,
the largest total a booking can have, ids beyond the columns' range. Each gets a fast JSON 400 or 404,
never a 5xx. Nothing is mocked."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
import requests
import sqlalchemy as sa

from tests.security.conftest import Account
from tests.support.data import Days, day, insert_property, on_the_day

PROPERTIES = "/api/bookings/properties"
ATTACKS = [
    "minPrice=1e-17000000",
    "maxPrice=1E%2B17000000",
    "maxPrice=NaN",
    "minPrice=Infinity",
    "minPrice=%2B1",
    "maxPrice=1_000",
    "maxPrice=%205",
    "minPrice=%EF%BC%91",  # a fullwidth 1
    "limit=%C2%B2",  # ²
    "limit=%D9%A1%D9%A2",  # Arabic-Indic 12
    "offset=" + "9" * 1000,
    "offset=-0x1",
    "available=%C2%B2",
    "from=9999-12-30&to=9999-12-31",
    "from=%D9%A2%D9%A0%D9%A2%D9%A7-01-01&to=2027-01-02",
    "location=a%00b",
]


def assert_fast_json(response: requests.Response, elapsed: float, status: int = 400) -> None:
    assert response.status_code == status, response.text[:200]
    assert response.headers["Content-Type"].startswith("application/json")
    assert "error" in response.json()
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def timed_get(url: str, **kwargs: object) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.get(url, timeout=10, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@pytest.mark.parametrize("query", ATTACKS)
def test_unbounded_or_unicode_filters_get_a_fast_json_400(sec_stack, query):
    assert_fast_json(*timed_get(f"{sec_stack.nginx_url}{PROPERTIES}?{query}"))


@pytest.mark.parametrize("query", ["from=9999-12-30", "to=9999-12-31", "from=0001-01-01", "from=%C2%B2"])
def test_calendar_windows_outside_the_range_get_a_fast_json_400(sec_stack, query):
    assert_fast_json(*timed_get(f"{sec_stack.nginx_url}{PROPERTIES}/1/calendar?{query}"))


@pytest.mark.parametrize(
    "query", ["limit=%C2%B2", "offset=%D9%A1%D9%A2", "limit=%2B5", "offset=" + "9" * 1000]
)
def test_unicode_or_huge_user_paging_gets_a_fast_json_400(sec_stack, admin: Account, query):
    url = f"{sec_stack.nginx_url}/api/users/allusers?{query}"
    assert_fast_json(*timed_get(url, headers=admin.auth))


def book(
    stack, account: Account, property_id: int, start: str, end: str, **headers: str
) -> requests.Response:
    body = {"userId": account.id, "propertyId": property_id, "startDate": start, "endDate": end}
    return requests.post(
        stack.nginx_url + "/api/bookings/book", json=body, headers={**account.auth, **headers}, timeout=10
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [("9999-12-30", "9999-12-31"), (Days(731), Days(732)), (Days(700), Days(731)),
     ("2O30-01-01", Days(3)), ("٢٠٢٧-01-01", Days(3))],
)  # fmt: skip
def test_bookings_in_9999_or_beyond_the_horizon_are_refused(sec_stack, new_account, own_property, start, end):
    response = book(sec_stack, new_account(), own_property, on_the_day(start), on_the_day(end))
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_the_last_nights_of_the_horizon_can_be_booked(sec_stack, new_account, own_property):
    response = book(sec_stack, new_account(), own_property, day(728), day(730))
    assert response.status_code == 201, response.text


def test_the_highest_price_for_the_longest_stay_is_booked_with_its_exact_total(sec_stack, new_account):
    host = sec_stack.token(900_000 + uuid.uuid4().int % 99_999, "host")
    created = requests.post(
        sec_stack.nginx_url + PROPERTIES,
        json={"name": "Top", "location": "Max, MX", "pricePerNight": 999999.99, "availability": True},
        headers={"Authorization": f"Bearer {host}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    response = book(sec_stack, new_account(), created.json()["propertyId"], day(1), day(366))
    assert response.status_code == 201, response.text
    assert Decimal(str(response.json()["totalPrice"])) == Decimal("999999.99") * 365


@pytest.mark.parametrize("price", [1000000, 999999.999, 1e-7, "1e-17000000"])
def test_prices_above_the_maximum_or_too_precise_are_refused(sec_stack, price):
    host = sec_stack.token(900_000 + uuid.uuid4().int % 99_999, "host")
    response = requests.post(
        sec_stack.nginx_url + PROPERTIES,
        json={"name": "Over", "location": "Max, MX", "pricePerNight": price, "availability": True},
        headers={"Authorization": f"Bearer {host}"},
        timeout=10,
    )
    assert response.status_code == 400 and "pricePerNight" in response.json()["error"]


def test_a_stored_price_whose_total_would_overflow_the_column_gets_400(sec_stack, new_account, booking_db):
    """Rows written before the price limit existed: the column allows 99,999,999.99 a night."""
    legacy = insert_property(booking_db, "Legacy, LG", Decimal("99999999.99"), "sec-legacy")
    response = book(sec_stack, new_account(), legacy, day(1), day(366))
    assert response.status_code == 400, response.text
    with booking_db.connect() as conn:
        count = conn.execute(sa.text("SELECT COUNT(*) FROM bookings WHERE property_id = :p"), {"p": legacy})
        assert count.scalar_one() == 0


@pytest.mark.parametrize("key", ["k" * 256, "clé", "tab\there", ""])
def test_idempotency_keys_that_are_too_long_or_not_printable_ascii_get_400(
    sec_stack, new_account, own_property, key
):
    raw = {"Idempotency-Key": key.encode("latin-1")}
    response = book(sec_stack, new_account(), own_property, day(600), day(601), **raw)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text


IDS = [str(2**31), str(2**63 - 1), str(2**63), str(10**30), "9" * 1000, "%D9%A1%D9%A2", "%C2%B2", "%EF%BC%91"]


@pytest.mark.parametrize(
    ("method", "template"),
    [("GET", "/api/bookings/booking/{}"), ("DELETE", "/api/cancel-booking/{}"), ("GET", PROPERTIES + "/{}"),
     ("GET", PROPERTIES + "/{}/calendar"), ("PATCH", PROPERTIES + "/{}"), ("DELETE", PROPERTIES + "/{}"),
     ("PATCH", "/api/users/{}/role")],
)  # fmt: skip
def test_ids_beyond_the_columns_or_in_unicode_digits_get_a_json_4xx(sec_stack, admin, method, template):
    problems = []
    for value in IDS:
        url = sec_stack.nginx_url + template.format(value)
        response = requests.request(
            method, url, json={"role": "user", "name": "x"}, headers=admin.auth, timeout=10
        )
        if not 400 <= response.status_code < 500 or "error" not in response.json():
            problems.append(f"{value[:25]}: {response.status_code} {response.text[:80]}")
    assert not problems, "\n".join(problems)
