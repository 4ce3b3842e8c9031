"""Payload validation and origin policy of the Socket.IO process (pure functions, no servers)."""

from __future__ import annotations

import pytest
from flask import Flask

from booking_service.notifications import room_for
from booking_service.realtime.events import token_in_url
from booking_service.realtime.payloads import (
    MAX_NOTIFICATION_BYTES,
    BadPayloadError,
    notification_from,
    property_id_from,
    token_from,
)
from booking_service.realtime.settings import RealtimeSettings


@pytest.mark.parametrize(
    ("payload", "expected"),
    [({"property_id": 7}, 7), ({"property_id": "42"}, 42), ({"property_id": 2**63 - 1}, 2**63 - 1)],
)
def test_property_id_accepts_positive_integers_and_digit_strings(payload: dict, expected: int) -> None:
    assert property_id_from(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "property_id",
        [1],
        7,
        {},
        {"property_id": None},
        {"property_id": True},
        {"property_id": 0},
        {"property_id": -3},
        {"property_id": 1.5},
        {"property_id": "abc"},
        {"property_id": "12a"},
        {"property_id": " 12"},
        {"property_id": "9" * 500},
        {"property_id": 2**64},
        {"property_id": {"nested": 1}},
    ],
)
def test_property_id_rejects_missing_or_non_integer_ids(payload: object) -> None:
    with pytest.raises(BadPayloadError):
        property_id_from(payload)


@pytest.mark.parametrize("payload", [{}, {"notification": None}, {"notification": ""}, {"notification": {}}])
def test_notification_must_be_present(payload: dict) -> None:
    with pytest.raises(BadPayloadError):
        notification_from(payload)


def test_notification_size_is_bounded() -> None:
    assert notification_from({"notification": "x" * (MAX_NOTIFICATION_BYTES - 2)}) == "x" * (
        MAX_NOTIFICATION_BYTES - 2
    )
    with pytest.raises(BadPayloadError):
        notification_from({"notification": "x" * MAX_NOTIFICATION_BYTES})


def test_room_name_is_shared_by_emitter_and_server() -> None:
    assert room_for(12) == "property:12"


def _environ(host: str, **extra: str) -> dict[str, str]:
    return {"wsgi.url_scheme": "http", "HTTP_HOST": host, **extra}


def test_origin_policy_allows_same_origin_and_configured_origins_only() -> None:
    allowed = RealtimeSettings(cors_origins="http://localhost:8080").origin_policy()
    assert allowed("http://127.0.0.1:5001", _environ("127.0.0.1:5001"))
    assert allowed("http://localhost:8080", _environ("127.0.0.1:5001"))
    assert not allowed("http://evil.example", _environ("127.0.0.1:5001"))
    assert not allowed("http://127.0.0.1:9999", _environ("127.0.0.1:5001"))


def test_origin_policy_trusts_forwarded_host_and_proto() -> None:
    allowed = RealtimeSettings().origin_policy()
    environ = _environ("127.0.0.1:8311", HTTP_X_FORWARDED_HOST="rent.example", HTTP_X_FORWARDED_PROTO="https")
    assert allowed("https://rent.example", environ)


def test_wildcard_origin_is_passed_through() -> None:
    assert RealtimeSettings(cors_origins="*").origin_policy() == "*"


def test_origin_policy_compares_host_names_when_the_proxy_dropped_the_port() -> None:
    allowed = RealtimeSettings().origin_policy()
    assert allowed("http://127.0.0.1:5001", _environ("127.0.0.1"))
    assert not allowed("http://evil.example:5001", _environ("127.0.0.1"))


@pytest.mark.parametrize(
    ("auth", "headers", "query", "expected"),
    [
        ({"token": "from-auth"}, {"Authorization": "Bearer from-header"}, "token=from-query", "from-auth"),
        (None, {"Authorization": "Bearer from-header"}, "token=from-query", "from-header"),
        ({"token": ""}, {}, "token=from-query", None),
        ({"token": 123}, {}, "", None),
        ("not-a-dict", {"Authorization": "Basic abc"}, "", None),
        ({"token": "x" * 5000}, {}, "", None),
    ],
)
def test_token_is_taken_from_auth_then_header_never_the_url(auth, headers, query, expected) -> None:
    with Flask(__name__).test_request_context("/socket.io/", headers=headers, query_string=query):
        assert token_from(auth) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("EIO=4&transport=polling&token=abc", True), ("token=", True), ("EIO=4&transport=websocket", False)],
)
def test_a_token_parameter_in_the_url_is_noticed(query, expected) -> None:
    with Flask(__name__).test_request_context("/socket.io/", query_string=query):
        assert token_in_url() is expected
