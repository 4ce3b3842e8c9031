"""user_service keeps public profiles in process (common.near_cache) and retires a user's copy on every
instance when the row changes: two in-process instances against the session stack's real PostgreSQL
primary + replica and Redis pub/sub."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.support.faults import wait_until
from tests.support.users import in_process_user_app


def instance(stack, copy_seconds: float = 5.0) -> Flask:
    return in_process_user_app(stack, profile_copy_seconds=copy_seconds)


@pytest.fixture(scope="module")
def instances(stack) -> Iterator[tuple[Flask, Flask]]:
    one, two = instance(stack), instance(stack)
    yield one, two
    for app in (one, two):
        app.extensions["user_service"].uow.db.dispose()


def statements(app: Flask) -> int:
    return sum(app.extensions["user_service"].uow.db.query_counts.values())


def replica_reads(app: Flask) -> int:
    """Statements on the replicas, where a profile read that misses the copy goes. Not the primary's:
    the instance's user-directory reconciler counts the users there in the background, first when the
    instance serves its first request (CI saw that count land between the two reads)."""
    counts = app.extensions["user_service"].uow.db.query_counts
    return sum(n for name, n in counts.items() if name.startswith("replica"))


def profile(app: Flask, token: str) -> dict:
    response = app.test_client().get("/api/users/profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def subscribed(app: Flask) -> bool:
    return app.extensions["user_service"].uow.users.profiles.epoch() is not None


def signed_up(app: Flask) -> tuple[str, str]:
    name = f"p{uuid.uuid4().hex[:12]}"
    user = {"username": name, "email": f"{name}@example.com", "password": "copied-profile!"}
    client = app.test_client()
    assert client.post("/api/users/register", json=user).status_code == 201
    login = client.post("/api/users/login", json={"email": user["email"], "password": user["password"]})
    return name, login.get_json()["token"]


def test_a_profile_is_read_once_then_served_from_the_copy_until_it_changes(instances) -> None:
    one, two = instances
    name, token = signed_up(one)
    client, auth = one.test_client(), {"Authorization": f"Bearer {token}"}
    # Right before the reads: a subscription that broke while the instances were idle (CI once saw one
    # lost just after start-up) is trusted again only once it is back.
    assert wait_until(lambda: subscribed(one) and subscribed(two), 5), "copies never trusted"

    first = replica_reads(two)
    assert profile(two, token)["username"] == name  # a copy on instance two
    before = replica_reads(two)
    assert before > first, "a profile read that misses the copy asks the replica"
    assert profile(two, token)["username"] == name
    assert replica_reads(two) == before, "the second read must not reach the database"

    renamed = f"q{uuid.uuid4().hex[:12]}"
    changed = client.patch("/api/users/profile", json={"username": renamed}, headers=auth)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    # Reads go to the replica, which replays the change within milliseconds; no copy is kept meanwhile.
    assert wait_until(lambda: profile(one, token)["username"] == renamed, 1, interval=0.01)
    assert wait_until(lambda: profile(two, token)["username"] == renamed, 1, interval=0.01), (
        "the other instance kept the old profile after the invalidation"
    )


def test_copies_off_means_every_read_reaches_the_database(stack) -> None:
    app = instance(stack, copy_seconds=0)
    try:
        name, token = signed_up(app)
        assert profile(app, token)["username"] == name
        before = statements(app)
        assert profile(app, token)["username"] == name
        assert statements(app) > before
    finally:
        app.extensions["user_service"].uow.db.dispose()
