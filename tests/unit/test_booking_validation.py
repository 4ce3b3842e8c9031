"""Booking input rules and JSON shapes, without servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from booking_service.inputs import parse_booking, parse_property_filters
from booking_service.serializers import json_number
from common.errors import BadRequest
from tests.support.data import Days, day, on_the_day


def body(**change: object) -> dict:
    return {"userId": 3, "propertyId": 2, "startDate": day(1), "endDate": day(6), **change}


def test_valid_booking_is_parsed_with_night_count():
    request = parse_booking(body())
    assert (request.user_id, request.property_id, request.nights) == (3, 2, 5)


def test_booking_may_start_today_and_last_365_nights():
    assert parse_booking(body(startDate=day(0), endDate=day(365))).nights == 365


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"userId": 0}, "userId must be a positive integer"),
        ({"userId": 2**31}, "userId must be a positive integer"),
        ({"propertyId": False}, "propertyId must be a positive integer"),
        ({"propertyId": None}, "propertyId is required"),
        ({"startDate": "2030-1-01"}, "startDate must be a date in YYYY-MM-DD format"),
        ({"startDate": " 2030-01-01"}, "startDate must be a date in YYYY-MM-DD format"),
        ({"endDate": ["2030-01-01"]}, "endDate must be a date in YYYY-MM-DD format"),
        ({"startDate": Days(-2)}, "startDate must not be in the past"),  # past at UTC-12 too
        ({"endDate": Days(367)}, "A stay cannot exceed 365 nights"),
        ({"endDate": Days(1)}, "endDate must be after startDate"),
    ],
)
def test_invalid_booking_names_the_problem(change, message):
    with pytest.raises(BadRequest) as raised:
        parse_booking(body(**on_the_day(change)))
    assert raised.value.message == message


def test_missing_field_is_reported():
    incomplete = body()
    del incomplete["endDate"]
    with pytest.raises(BadRequest, match="endDate is required"):
        parse_booking(incomplete)


def test_property_filters_parse_and_default():
    filters = parse_property_filters({"location": " Aspen ", "maxPrice": "200.5", "available": "true"})
    assert (filters.location, filters.max_price, filters.available) == ("Aspen", Decimal("200.5"), True)
    assert (filters.limit, filters.offset, filters.sort) == (50, 0, "id")


@pytest.mark.parametrize(
    "args",
    [{"maxPrice": "NaN"}, {"minPrice": "1e9"}, {"to": Days(3)}, {"from": Days(3), "to": Days(3)},
     {"limit": "201"}, {"offset": "-1"}, {"sort": "rating"}, {"location": "x" * 201}],
)  # fmt: skip
def test_bad_property_filters_are_rejected(args):
    with pytest.raises(BadRequest):
        parse_property_filters(on_the_day(args))


@pytest.mark.parametrize(
    ("value", "expected"), [(Decimal("120.00"), 120), (Decimal("497.50"), 497.5), (Decimal("0"), 0)]
)
def test_json_number_is_an_int_when_whole(value, expected):
    result = json_number(value)
    assert result == expected and type(result) is type(expected)
