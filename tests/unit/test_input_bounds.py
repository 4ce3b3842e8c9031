"""The bounded parsers of `common.inputs` and every service parser built on them, without servers.

Property tests: any string or JSON value either parses into a value within the stated bounds and of
bounded size, or raises BadRequest (a 400) — never any other exception; then ids in paths. The attacks
that were found, one by one, are in test_input_attacks.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking_service.inputs import (
    BOOKING_HORIZON_DAYS,
    MAX_NIGHTS,
    MAX_PRICE,
    parse_booking,
    parse_property_fields,
    parse_property_filters,
)
from booking_service.properties.model import todays_on_earth, utc_now
from common import inputs
from common.errors import BadRequest
from common.web import BoundedIntConverter
from user_service import validation as user_validation

FAST = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Any character at all, lone surrogates and NUL included, and the Unicode digits int() would accept.
ANY_CHAR = st.characters(exclude_categories=()) | st.characters(categories=["Cs"])
UNICODE_DIGITS = st.characters(categories=["Nd", "No"])
TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.text(st.sampled_from("0123456789.-+eE_ x"), max_size=30),
    st.text(UNICODE_DIGITS, min_size=1, max_size=5),
    st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,6})?", fullmatch=True),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(places=2, min_value=0, max_value=10**9).map(float),
    st.booleans(),
)
FILTERS = ["location", "minPrice", "maxPrice", "available", "from", "to", "sort", "limit", "offset"]
JSON = st.recursive(
    st.none() | NUMBERS | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def outcome(parse: Any, *args: Any, **kwargs: Any) -> Any:
    """The parsed value, or None when the parser refused with a 400; any other exception fails the test."""
    try:
        return parse(*args, **kwargs)
    except BadRequest as refused:
        assert refused.status == 400 and refused.message
        return None


@FAST
@given(st.one_of(TEXT, JSON))
def test_int_text_gives_an_int_in_range_or_a_400(raw: Any) -> None:
    value = outcome(inputs.int_text, raw, "n", low=-5, high=10**12)
    assert value is None or (type(value) is int and -5 <= value <= 10**12 and raw.isascii())


@FAST
@given(JSON)
def test_json_int_gives_an_int_in_range_or_a_400(raw: Any) -> None:
    value = outcome(inputs.json_int, raw, "n", low=1, high=2**31 - 1)
    assert value is None or (type(value) is int and 1 <= value <= 2**31 - 1 and value == raw)


def small_decimal(value: Decimal, high: Decimal, places: int) -> bool:
    _, digits, exponent = value.as_tuple()
    return value.is_finite() and -places <= int(exponent) <= 0 and len(digits) <= len(str(int(high))) + places


@FAST
@given(st.one_of(TEXT, JSON))
def test_decimal_text_gives_a_small_decimal_in_range_or_a_400(raw: Any) -> None:
    high = Decimal("99999999.99")
    value = outcome(inputs.decimal_text, raw, "p", low=Decimal(0), high=high)
    assert value is None or (0 <= value <= high and small_decimal(value, high, 2))


@FAST
@given(JSON)
def test_json_decimal_gives_a_price_with_two_decimals_in_range_or_a_400(raw: Any) -> None:
    value = outcome(inputs.json_decimal, raw, "p", low=Decimal("0.01"), high=MAX_PRICE)
    assert value is None or (Decimal("0.01") <= value <= MAX_PRICE and small_decimal(value, MAX_PRICE, 2))
    if value is not None:
        assert not isinstance(raw, bool) and Decimal(repr(raw)) == value


@FAST
@given(st.one_of(TEXT, JSON))
def test_date_text_gives_a_date_in_the_window_or_a_400(raw: Any) -> None:
    earliest, latest = dt.date(2025, 1, 1), dt.date(2027, 12, 31)
    value = outcome(inputs.date_text, raw, "d", earliest=earliest, latest=latest)
    assert value is None or (earliest <= value <= latest and value.isoformat() == raw)


@FAST
@given(st.one_of(TEXT, JSON, st.text(ANY_CHAR, min_size=190, max_size=210)))
def test_text_gives_storable_bounded_text_or_a_400(raw: Any) -> None:
    value = outcome(inputs.text, raw, "t", max_length=200)
    assert value is None or (0 < len(value) <= 200 and inputs.storable(value) and value == value.strip())


@FAST
@given(st.dictionaries(st.sampled_from(FILTERS), TEXT))
def test_property_filters_are_bounded_or_a_400(args: dict[str, str]) -> None:
    filters = outcome(parse_property_filters, args)
    if filters is None:
        return
    for price in (filters.min_price, filters.max_price):
        assert price is None or (0 <= price < 10**8 and small_decimal(price, Decimal("99999999.99"), 2))
    assert 1 <= filters.limit <= 200 and 0 <= filters.offset <= 10_000_000
    assert filters.location is None or len(filters.location) <= 200


def booking_bodies() -> st.SearchStrategy[dict[str, Any]]:
    day = st.integers(-400, 800).map(lambda n: (utc_now().date() + dt.timedelta(days=n)).isoformat())
    field = st.one_of(JSON, day, st.integers(-2, 2**31 + 1))
    keys = st.sampled_from(["userId", "propertyId", "startDate", "endDate", "other"])
    return st.dictionaries(keys, field, max_size=5)


@FAST
@given(booking_bodies())
def test_booking_bodies_are_within_the_horizon_or_a_400(body: dict[str, Any]) -> None:
    booking = outcome(parse_booking, body)
    if booking is None:
        return
    assert 0 < booking.user_id <= 2**31 - 1 and 0 < booking.property_id <= 2**31 - 1
    # Today anywhere on Earth: the rules then hold each stay to its property's own today.
    westmost, eastmost = todays_on_earth(utc_now())
    assert westmost <= booking.start < booking.end <= eastmost + dt.timedelta(days=BOOKING_HORIZON_DAYS)
    assert booking.nights <= MAX_NIGHTS


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["name", "location", "pricePerNight", "availability", "description", "maxGuests"]),
        JSON,
        max_size=6,
    )
)
def test_property_bodies_are_bounded_or_a_400(body: dict[str, Any]) -> None:  # fmt: skip
    fields = outcome(parse_property_fields, body, partial=True)
    if fields is None:
        return
    values = fields.values
    price = values.get("price_per_night")
    assert price is None or (0 < price <= MAX_PRICE and small_decimal(price, MAX_PRICE, 2))
    assert values.get("max_guests") is None or 1 <= values["max_guests"] <= 100
    for column in ("name", "location", "description"):
        assert values.get(column) is None or inputs.storable(values[column])


@FAST
@given(st.dictionaries(st.sampled_from(["limit", "offset", "other"]), TEXT))
def test_user_paging_is_bounded_or_a_400(args: dict[str, str]) -> None:
    page = outcome(user_validation.page, args)
    assert page is None or (1 <= page[0] <= 1000 and 0 <= page[1] <= 10_000_000)


@FAST
@given(st.dictionaries(st.sampled_from(["username", "email", "password", "role"]), JSON, max_size=4))
def test_user_bodies_are_bounded_or_a_400(body: dict[str, Any]) -> None:
    for parse in (user_validation.registration, user_validation.credentials, user_validation.role):
        value = outcome(parse, body)
        fields = [value] if isinstance(value, str) else list(vars(value).values()) if value else []
        assert all(len(f) <= 1000 and inputs.storable(f) for f in fields)


# ---- path ids ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def id_client() -> Any:
    app = Flask(__name__)
    app.url_map.converters["int"] = BoundedIntConverter
    app.add_url_rule("/things/<int:thing_id>", "thing", lambda thing_id: str(thing_id))
    return app.test_client()


@pytest.mark.parametrize(
    ("segment", "status"),
    [("42", 200), (str(2**63 - 1), 200), (str(2**63), 404), ("9" * 5000, 404), ("١٢", 404), ("²", 404),
     ("-1", 404), ("+1", 404), ("1_0", 404)],
)  # fmt: skip
def test_path_ids_are_ascii_and_at_most_64_bit(id_client: Any, segment: str, status: int) -> None:
    assert id_client.get(f"/things/{segment}").status_code == status


SEGMENT_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/?#%"), max_size=25)


@settings(max_examples=200, deadline=None, database=None)
@given(
    st.one_of(
        SEGMENT_TEXT, st.from_regex(r"[0-9]{1,25}", fullmatch=True), st.text(UNICODE_DIGITS, min_size=1)
    )
)
def test_any_path_segment_is_a_bounded_id_or_a_404(id_client: Any, segment: str) -> None:
    response = id_client.get("/things/" + segment)
    assert response.status_code in (200, 404, 308)
    if response.status_code == 200:
        assert 0 <= int(response.text) <= 2**63 - 1
