"""The user directory (user_service keeps every user id in Redis; booking_service asks it before an admin
books for someone else) on the real stack: PostgreSQL, Redis, both services. Nothing is mocked."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests

from tests.support.data import booking_engine, insert_property
from tests.support.faults import wait_until
from tests.support.users import registered_user_id
from user_service.database import UserDatabase
from user_service.directory import COMPLETE, USER_IDS, UserDirectory
from user_service.repository import SqlUserRepository

NOT_A_USER = {"error": "userId is not a registered user"}


@pytest.fixture(scope="module")
def store(stack) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def property_id(stack) -> int:
    engine = booking_engine(stack)
    try:
        return insert_property(engine, "Directory, DI", 80, "dir")
    finally:
        engine.dispose()


def admin_books_for(stack, user_id: int, property_id: int, offset: int) -> requests.Response:
    start = dt.date.today() + dt.timedelta(days=offset)
    body = {"userId": user_id, "propertyId": property_id, "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=1)).isoformat()}  # fmt: skip
    admin = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    return requests.post(
        stack.url("booking_service", 1) + "/api/bookings/book", json=body, headers=admin, timeout=10
    )


def nobody() -> int:
    return 2_000_000_000 + uuid.uuid4().int % 100_000_000


def wait_for_complete(store: redis.Redis) -> None:
    assert wait_until(lambda: store.exists(COMPLETE), 10, 0.1), "no user_service process filled the directory"


def test_a_new_user_is_in_the_directory_as_soon_as_registration_answers(stack, store, property_id) -> None:
    wait_for_complete(store)
    user_id = registered_user_id(stack, 1)
    assert store.sismember(USER_IDS, user_id)
    assert admin_books_for(stack, user_id, property_id, 10).status_code == 201
    refused = admin_books_for(stack, nobody(), property_id, 12)
    assert refused.status_code == 400 and refused.json() == NOT_A_USER


def test_directory_emptied_then_rebuilt_without_refusing_real_users_meanwhile(
    stack, store, property_id
) -> None:
    user_id = registered_user_id(stack, 1)
    store.delete(USER_IDS, COMPLETE)  # Redis restarted (it keeps nothing on disk)
    # Cannot tell: allowed (and logged) rather than refusing someone who exists.
    assert admin_books_for(stack, user_id, property_id, 20).status_code == 201

    db = UserDatabase(stack.env["USER_DB_URL"], [])
    try:
        UserDirectory(stack.env["REDIS_URL"]).reconcile(
            SqlUserRepository(db)
        )  # a service's own reconciler may come first
        with db.primary.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM users").scalar_one()
        assert store.exists(COMPLETE) and store.scard(USER_IDS) == count
        assert not UserDirectory(stack.env["REDIS_URL"]).reconcile(SqlUserRepository(db)), (
            "a complete directory is left alone"
        )
    finally:
        db.dispose()
    assert store.sismember(USER_IDS, user_id)
    refused = admin_books_for(stack, nobody(), property_id, 22)
    assert refused.status_code == 400 and refused.json() == NOT_A_USER
