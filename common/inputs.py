"""Bounded parsers for untrusted input: each returns a value within the stated bounds, or raises BadRequest.

Only ASCII digits count (Python's `int()`, `str.isdigit()` and `\\d` take any Unicode digit), lengths are
checked before anything is converted, and no value of unbounded size (a 4,300-digit int, a Decimal such as
`1e-17000000` that a driver renders digit by digit) gets through to a database.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from common.errors import BadRequest

N = TypeVar("N", int, float, Decimal)

MAX_ID = 2**63 - 1  # the largest value of a signed 64-bit column
_INT = re.compile(r"-?[0-9]{1,19}")  # as many digits as a 64-bit value has
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def int_text(raw: Any, name: str, *, low: int, high: int, message: str | None = None) -> int:
    """A query-string integer: an optional '-' and 1-19 ASCII digits, nothing else ('+', '_', spaces)."""
    if not isinstance(raw, str) or not _INT.fullmatch(raw):
        raise BadRequest(message or f"{name} must be an integer")
    return _within(int(raw), low, high, message or f"{name} must be an integer between {low} and {high}")


def json_int(value: Any, name: str, *, low: int, high: int, message: str | None = None) -> int:
    """A JSON integer (not a bool, not a float such as 1.0) within [low, high], compared without converting."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(message or f"{name} must be an integer")
    return _within(value, low, high, message or f"{name} must be an integer between {low} and {high}")


def decimal_text(raw: Any, name: str, *, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """A plain decimal ('12', '12.5'): no exponent, sign, spaces or underscores; no more digits than `high`
    has before the point nor `places` after it."""
    message = _decimal_message(name, low, high, places)
    if not isinstance(raw, str) or not _decimal_pattern(len(str(int(high))), places).fullmatch(raw):
        raise BadRequest(message)
    return _within(Decimal(raw), low, high, message)


def json_decimal(value: Any, name: str, *, low: Decimal, high: Decimal, places: int = 2) -> Decimal:
    """A JSON number (not a bool, NaN or Infinity) within [low, high] with at most `places` decimals."""
    message = _decimal_message(name, low, high, places)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(message)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(message)
    _within(value, low, high, message)
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise BadRequest(message)
    return number


def date_text(value: Any, name: str, *, earliest: dt.date, latest: dt.date) -> dt.date:
    """A calendar date written exactly YYYY-MM-DD in ASCII digits, within [earliest, latest]."""
    message = f"{name} must be a date in YYYY-MM-DD format"
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise BadRequest(message)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(message) from None
    if day < earliest:
        raise BadRequest(f"{name} must be on or after {earliest.isoformat()}")
    if day > latest:
        raise BadRequest(f"{name} must be on or before {latest.isoformat()}")
    return day


def text(value: Any, name: str, *, max_length: int, allow_empty: bool = False) -> str:
    """A string of at most `max_length` characters that a database can store, stripped of outer spaces."""
    kind = "a string" if allow_empty else "a non-empty string"
    if not isinstance(value, str) or len(value) > max_length or not (allow_empty or value.strip()):
        raise BadRequest(f"{name} must be {kind} of at most {max_length} characters")
    if not storable(value):
        raise BadRequest(f"{name} contains characters that are not allowed")
    return value.strip()


def storable(value: str) -> bool:
    """False for NUL (PostgreSQL refuses it) and lone surrogates (JSON allows them, UTF-8 cannot encode them)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def flag_text(raw: Any, name: str) -> bool:
    """'true'/'1' or 'false'/'0', in any case."""
    value = _FLAGS.get(raw.lower()) if isinstance(raw, str) and len(raw) <= 5 else None
    if value is None:
        raise BadRequest(f"{name} must be true or false")
    return value


def json_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


def _within(value: N, low: Any, high: Any, message: str) -> N:
    if not low <= value <= high:
        raise BadRequest(message)
    return value


def _decimal_message(name: str, low: Decimal, high: Decimal, places: int) -> str:
    return f"{name} must be a number from {low} to {high} with at most {places} decimals"


@lru_cache(maxsize=8)
def _decimal_pattern(digits: int, places: int) -> re.Pattern[str]:
    return re.compile(rf"-?[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{places}}})?")
