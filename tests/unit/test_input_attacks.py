"""The attacks on the bounded parsers of `common.inputs` and the services' parsers that were found, one by
one, without servers: each must be a 400 (or an invalid token), never another exception or an unbounded
value. The property tests that found them are in test_input_bounds.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from booking_service import schema
from booking_service.bookings.services import MAX_TOTAL
from booking_service.inputs import (
    BOOKING_HORIZON_DAYS,
    MAX_NIGHTS,
    MAX_PRICE,
    parse_booking,
    parse_property_fields,
    parse_property_filters,
)
from common import inputs
from common.auth import InvalidToken, _identity_from_claims
from common.errors import BadRequest
from tests.support.data import Days, day, on_the_day
from user_service import validation as user_validation


@pytest.mark.parametrize(
    "raw", ["1e-17000000", "1E5", "NaN", "Infinity", "-Infinity", "+1", "1_000", " 5", "5 ", "0x10", "²", "١٢",
            "１２", "1.", ".5", "1.005", "-1", "123456789", "9" * 5000],
)  # fmt: skip
def test_price_filter_refuses_anything_but_a_plain_decimal(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_property_filters({"minPrice": raw})


@pytest.mark.parametrize(
    "raw", ["²", "١٢", "１２", "+1", "1_000", " 5", "5\n", "1e3", "9" * 4301, "0x1", "1.0"]
)
def test_paging_refuses_anything_but_ascii_digits_in_both_services(raw: str) -> None:
    with pytest.raises(BadRequest):
        parse_property_filters({"limit": raw})
    with pytest.raises(BadRequest):
        user_validation.page({"offset": raw})


@pytest.mark.parametrize(
    "value", [True, 1.0, 2**31, 2**63, 10**4000, -(10**4000), float("nan"), float("inf"), "12", None]
)
def test_json_ids_refuse_bools_floats_strings_and_huge_ints(value: object) -> None:
    with pytest.raises(BadRequest, match="userId"):
        parse_booking({"userId": value, "propertyId": 1, "startDate": "2030-01-01", "endDate": "2030-01-02"})


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), 10.005, 1e-7, 5e-324, 1e300, 10**4000, True, "100",
              float(MAX_PRICE) + 0.01, 0, -0.0],
)  # fmt: skip
def test_price_body_refuses_non_finite_over_precise_and_out_of_range_numbers(value: object) -> None:
    with pytest.raises(BadRequest, match="pricePerNight"):
        parse_property_fields({"pricePerNight": value}, partial=True)


def test_a_valid_property_body_becomes_its_column_values() -> None:
    body = {"name": " Loft ", "location": "Oslo", "pricePerNight": 99, "availability": False,
            "description": "", "maxGuests": 4}  # fmt: skip
    assert parse_property_fields(body, partial=False).values == {
        "name": "Loft", "location": "Oslo", "price_per_night": Decimal(99), "availability": False,
        "description": "", "max_guests": 4,
    }  # fmt: skip


def test_price_body_takes_the_maximum_with_two_decimals() -> None:
    assert parse_property_fields({"pricePerNight": 999999.99}, partial=True).values == {
        "price_per_night": MAX_PRICE
    }
    assert parse_property_fields({"pricePerNight": 175.5}, partial=True).values == {
        "price_per_night": Decimal("175.5")
    }


@pytest.mark.parametrize(
    ("start", "end"),
    # Beyond the horizon of today at UTC+14 (UTC's today + 1); the exact, local bound is a rule.
    [("9999-12-30", "9999-12-31"), (Days(BOOKING_HORIZON_DAYS + 1), Days(BOOKING_HORIZON_DAYS + 2)),
     (Days(500), Days(BOOKING_HORIZON_DAYS + 2)), ("0001-01-01", Days(1)), ("２０３０-01-01", Days(2))],
)  # fmt: skip
def test_bookings_beyond_the_horizon_or_in_odd_years_are_refused(start: str, end: str) -> None:
    with pytest.raises(BadRequest):
        parse_booking(
            {"userId": 1, "propertyId": 1, "startDate": on_the_day(start), "endDate": on_the_day(end)}
        )


def test_the_last_night_of_the_horizon_can_be_booked() -> None:
    body = {"userId": 1, "propertyId": 1, "startDate": day(BOOKING_HORIZON_DAYS - 365), "endDate": day(730)}
    assert parse_booking(body).nights == MAX_NIGHTS


@pytest.mark.parametrize(
    "window", [("9999-12-30", "9999-12-31"), (Days(-400), Days(-399)), (Days(700), Days(732))]
)
def test_search_windows_outside_a_year_back_and_the_horizon_are_refused(window: tuple) -> None:
    start, end = on_the_day(window)
    with pytest.raises(BadRequest):
        parse_property_filters({"from": start, "to": end})


def test_the_longest_stay_at_the_highest_price_fits_the_total_column() -> None:
    column = schema.bookings.c.total_price.type
    column_max = Decimal(10 ** (column.precision - column.scale)) - Decimal(1).scaleb(-column.scale)
    longest_stay_total = MAX_PRICE * MAX_NIGHTS
    assert column_max == MAX_TOTAL
    assert longest_stay_total <= column_max
    price_column = schema.properties.c.price_per_night.type
    assert price_column.scale == 2 and len(str(int(MAX_PRICE))) <= price_column.precision - 2


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfff", "x" * 201])
def test_text_refuses_nul_lone_surrogates_and_overlong_values(text: str) -> None:
    with pytest.raises(BadRequest):
        inputs.text(text, "name", max_length=200)
    with pytest.raises(BadRequest):
        parse_property_filters({"location": text})


@pytest.mark.parametrize("key", ["\u212a@example.com", "ａ@example.com"])
def test_emails_with_characters_that_lowercase_to_ascii_are_refused(key: str) -> None:
    with pytest.raises(BadRequest):
        user_validation.valid_email(key)


@pytest.mark.parametrize("sub", ["²", "١٢", "1" * 20, "-1", " 1", ""])
def test_token_subjects_that_are_not_ascii_ids_are_invalid_tokens(sub: str) -> None:
    with pytest.raises(InvalidToken):
        _identity_from_claims({"sub": sub, "role": "user"})
