"""No double booking under concurrency: real booking_service instances (two processes, several
gunicorn workers each) on real MariaDB; nothing is mocked."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest
import requests
import sqlalchemy as sa

from tests.support.data import booking_engine, day, insert_property

USERS = 50


@pytest.fixture(scope="module")
def db(stack):
    engine = booking_engine(stack)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_property(db) -> int:
    return insert_property(db, "Racetown, RC", 100, "race")


def post_all(stack, bodies: list[dict]) -> list[requests.Response]:
    """Sends every body at the same moment, alternating between the two service instances."""
    barrier = threading.Barrier(len(bodies))

    def send(indexed: tuple[int, dict]) -> requests.Response:
        index, body = indexed
        headers = {"Authorization": f"Bearer {stack.token(body['userId'])}"}
        url = f"{stack.url('booking_service', index % 2)}/api/bookings/book"
        with requests.Session() as session:
            barrier.wait()
            return session.post(url, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, enumerate(bodies)))


def confirmed_bookings(db, property_id: int) -> list:
    with db.connect() as conn:
        query = "SELECT * FROM bookings WHERE property_id = :p AND status = 'confirmed'"
        return conn.execute(sa.text(query), {"p": property_id}).all()


def test_fifty_users_same_dates_exactly_one_wins(stack, db, fresh_property):
    first_user = 500_000 + uuid.uuid4().int % 100_000
    bodies = [
        {"userId": first_user + i, "propertyId": fresh_property, "startDate": day(30), "endDate": day(34)}
        for i in range(USERS)
    ]
    responses = post_all(stack, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: USERS - 1}, statuses
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body == {"error": "Property is already booked for these dates"} for body in losers)
    rows = confirmed_bookings(db, fresh_property)
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert [row.id for row in rows] == [winner["bookingId"]]


def test_fifty_non_overlapping_bookings_all_succeed(stack, db, fresh_property):
    first_user = 600_000 + uuid.uuid4().int % 100_000
    bodies = [
        {"userId": first_user + i, "propertyId": fresh_property, "startDate": day(10 + 2 * i),
         "endDate": day(12 + 2 * i)}
        for i in range(USERS)
    ]  # fmt: skip
    responses = post_all(stack, bodies)
    assert Counter(r.status_code for r in responses) == {201: USERS}
    rows = confirmed_bookings(db, fresh_property)
    assert len(rows) == USERS
    nights = sorted((row.start_date, row.end_date) for row in rows)
    assert all(prev[1] <= cur[0] for prev, cur in pairwise(nights))


def test_concurrent_retries_with_one_idempotency_key_create_one_booking(stack, db, fresh_property):
    user_id = 700_000 + uuid.uuid4().int % 100_000
    body = {"userId": user_id, "propertyId": fresh_property, "startDate": day(5), "endDate": day(8)}
    headers = {"Authorization": f"Bearer {stack.token(user_id)}", "Idempotency-Key": uuid.uuid4().hex}
    barrier = threading.Barrier(10)

    def send(index: int) -> requests.Response:
        url = f"{stack.url('booking_service', index % 2)}/api/bookings/book"
        barrier.wait()
        return requests.post(url, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(send, range(10)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["bookingId"] for r in responses}) == 1
    assert len(confirmed_bookings(db, fresh_property)) == 1
