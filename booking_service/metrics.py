"""The booking service's metrics: cache lookups by layer and outcome, bookings, database pool in use."""

from __future__ import annotations

from flask import Flask, Response, request
from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, event

from common.metric_buffer import adder
from common.metrics import ensure_multiprocess_dir

BOOK_RULE = "/api/bookings/book"
BOOKING_OUTCOMES = {201: "confirmed", 409: "conflicted"}

ensure_multiprocess_dir()
CACHE_LOOKUPS = Counter(
    "booking_cache_lookups",
    "Property cache lookups: layer near (in process) or redis (cluster); outcome hit, miss or bypass "
    "(the layer was unusable: Redis down or cooling off, the near cache not subscribed).",
    ["layer", "outcome"],
)
BOOKING_COPIES = Counter(
    "booking_copy_lookups",
    "Booking-by-id reads from this process's copies: outcome hit, miss or bypass (not subscribed).",
    ["outcome"],
)
BOOKINGS = Counter("booking_requests", "Booking requests by outcome (confirmed, conflicted).", ["outcome"])
POOL_IN_USE = Gauge(
    "booking_db_pool_in_use", "MariaDB connections checked out of the pool.", multiprocess_mode="livesum"
)

# Buffered (common/metric_buffer.py): these run on every cached read and every pooled connection use.
OUTCOMES = ("hit", "miss", "bypass")
_near_property = {o: adder(CACHE_LOOKUPS.labels("near", o)) for o in OUTCOMES}
_near_booking = {o: adder(BOOKING_COPIES.labels(o)) for o in OUTCOMES}
redis_hit, redis_miss, redis_bypass = (
    adder(CACHE_LOOKUPS.labels("redis", o)) for o in ("hit", "miss", "bypass")
)
pool_delta = adder(POOL_IN_USE)


def near_property_lookup(outcome: str) -> None:
    _near_property[outcome]()


def near_booking_lookup(outcome: str) -> None:
    _near_booking[outcome]()


def init_booking_metrics(app: Flask, *engines: Engine) -> None:
    """Pool gauge over every engine the app uses (pass each), booking outcomes from the booking route."""
    for engine in engines:
        event.listen(engine, "checkout", lambda *_args: pool_delta(1))
        event.listen(engine, "checkin", lambda *_args: pool_delta(-1))

    @app.after_request
    def _count_booking(response: Response) -> Response:
        rule = request.url_rule
        if rule is not None and rule.rule == BOOK_RULE and request.method == "POST":
            outcome = BOOKING_OUTCOMES.get(response.status_code)
            if outcome is not None:
                BOOKINGS.labels(outcome).inc()
        return response
