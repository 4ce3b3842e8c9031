"""Concurrent registrations against the real user service instances and PostgreSQL primary."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
import requests


def race(urls: list[str], bodies: list[dict[str, str]]) -> list[int]:
    """POST each body to its URL at the same instant; the status codes, in order."""
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = [0] * len(bodies)

    def register(index: int) -> None:
        barrier.wait()
        response = requests.post(urls[index] + "/api/users/register", json=bodies[index], timeout=10)
        statuses[index] = response.status_code

    threads = [threading.Thread(target=register, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@pytest.mark.parametrize("clash", ["email", "username"])
def test_two_concurrent_registrations_of_the_same_identity_one_wins(stack, clash: str) -> None:
    urls = [stack.url("user_service", 0), stack.url("user_service", 1)]
    for _ in range(10):
        shared = uuid.uuid4().hex[:12]
        bodies = [
            {"username": f"c{shared}", "email": f"c{shared}@example.com", "password": "same-time!"},
            {"username": f"d{shared}", "email": f"d{shared}@example.com", "password": "same-time!"},
        ]
        bodies[1][clash] = bodies[0][clash].upper() if clash == "email" else bodies[0][clash]
        assert Counter(race(urls, bodies)) == Counter({201: 1, 409: 1})


def test_many_concurrent_registrations_of_one_email_exactly_one_201(stack) -> None:
    urls = [stack.url("user_service", i % 2) for i in range(8)]
    shared = uuid.uuid4().hex[:12]
    bodies = [
        {"username": f"m{i}{shared}", "email": f"m{shared}@example.com", "password": "crowded!"}
        for i in range(8)
    ]
    assert Counter(race(urls, bodies)) == Counter({201: 1, 409: 7})
