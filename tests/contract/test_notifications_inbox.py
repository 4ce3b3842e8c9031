"""Contract of `GET /api/bookings/notifications` (issue #20's server-side inbox) through nginx and the
gateway, on the real stack: booking_service, the standalone Redis that holds the watch lists and the
notification feed, MariaDB for the bookings that publish. Nothing is mocked."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
import requests

from booking_service.feed import KEEP_DAYS, NotificationFeed, stream_key
from booking_service.subscriptions import SINCE_PREFIX, SubscriptionStore, connect_redis
from tests.support.data import day, insert_property

PATH = "/api/bookings/notifications"


def new_id() -> int:
    return 5_000_000 + uuid.uuid4().int % 10_000_000


@pytest.fixture(scope="module")
def redis_client(stack):
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def feed(redis_client) -> NotificationFeed:
    return NotificationFeed(redis_client)


@pytest.fixture(scope="module")
def store(stack) -> SubscriptionStore:
    return SubscriptionStore(connect_redis(stack.env["REDIS_URL"]))


class Reader:
    def __init__(self, stack, store: SubscriptionStore, *watched: int) -> None:
        self.id = new_id()
        self.url = stack.nginx_url + PATH
        self.headers = {"Authorization": f"Bearer {stack.token(self.id)}"}
        for property_id in watched:
            store.subscribe(self.id, property_id)

    def get(self, **params: object) -> requests.Response:
        return requests.get(self.url, params=params, headers=self.headers, timeout=10)

    def page(self, **params: object) -> dict:
        response = self.get(**params)
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        return response.json()


@pytest.fixture
def listing(stack_booking_db):
    return lambda: insert_property(stack_booking_db, "Inbox, IB", 80, "inbox")


def test_the_inbox_needs_a_token(stack) -> None:
    for base in (stack.nginx_url, stack.url("booking_service", 0)):
        response = requests.get(base + PATH, timeout=10)
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("application/json")


def test_a_user_sees_only_the_properties_they_watch(stack, store, feed, listing) -> None:
    mine, theirs = listing(), listing()
    me, other = Reader(stack, store, mine), Reader(stack, store, theirs)
    feed.publish(mine, {"event": "updated", "for": "me"})
    feed.publish(theirs, {"event": "updated", "for": "other"})
    assert [n["update"]["for"] for n in me.page()["notifications"]] == ["me"]
    assert [n["update"]["for"] for n in other.page()["notifications"]] == ["other"]
    assert Reader(stack, store).page() == {"notifications": [], "next": None}


def test_a_booking_reaches_watchers_inboxes_but_not_the_bookers(stack, store, listing) -> None:
    property_id = listing()
    booker, watcher = Reader(stack, store, property_id), Reader(stack, store, property_id)
    body = {"userId": booker.id, "propertyId": property_id, "startDate": day(40), "endDate": day(42)}
    booked = requests.post(
        stack.nginx_url + "/api/bookings/book", json=body, headers=booker.headers, timeout=10
    )
    assert booked.status_code == 201, booked.text
    [item] = watcher.page()["notifications"]
    expected = {"propertyId": property_id, "event": "booked", "startDate": day(40), "endDate": day(42)}
    assert item["update"] == expected and item["propertyId"] == property_id
    assert item["id"] and item["at"].endswith("Z")
    assert booker.page()["notifications"] == []  # my own action is no news to me


def test_pages_run_newest_first_across_properties_without_gaps_or_repeats(
    stack, store, feed, listing
) -> None:
    first, second = listing(), listing()
    reader = Reader(stack, store, first, second)
    published = [feed.publish(first if n % 3 else second, {"n": n}) for n in range(7)]
    seen, before, pages = [], None, 0
    while True:
        page = reader.page(limit=3, **({"before": before} if before else {}))
        assert len(page["notifications"]) <= 3
        seen += [item["id"] for item in page["notifications"]]
        pages, before = pages + 1, page["next"]
        if before is None:
            break
        assert pages < 10
    assert seen == list(reversed(published))
    assert reader.page(limit=50)["next"] is None


def test_notifications_older_than_30_days_are_left_out(stack, store, feed, redis_client, listing) -> None:
    property_id = listing()
    reader = Reader(stack, store, property_id)
    old_ms = int(time.time() * 1000) - (KEEP_DAYS + 1) * 86_400_000
    redis_client.hset(f"{SINCE_PREFIX}{reader.id}", property_id, old_ms - 1)  # watching for 31 days
    redis_client.xadd(stream_key(property_id), {"u": '{"old":true}', "a": ""}, id=f"{old_ms}-0")
    fresh = feed.publish(property_id, {"old": False})
    assert [item["id"] for item in reader.page()["notifications"]] == [fresh]


def test_notifications_from_before_the_watch_began_are_left_out(
    stack, store, feed, redis_client, listing
) -> None:
    property_id = listing()
    earlier_ms = int(time.time() * 1000) - 10_000
    redis_client.xadd(stream_key(property_id), {"u": '{"before":true}', "a": ""}, id=f"{earlier_ms}-0")
    reader = Reader(stack, store, property_id)
    after = feed.publish(property_id, {"before": False})
    assert [item["id"] for item in reader.page()["notifications"]] == [after]


def test_a_watch_list_and_its_start_times_change_and_are_read_together(store, redis_client) -> None:
    user = new_id()
    for property_id in (11, 12):
        store.subscribe(user, property_id)
    redis_client.sadd(store.key(user), 13)  # a watch from before start times were recorded
    watches = store.watches(user)
    assert sorted(watches) == [11, 12, 13] and watches[13] == 0
    assert 0 < watches[11] <= watches[12] <= time.time() * 1000
    assert store.unsubscribe(user, 11) is True
    assert store.unsubscribe(user, 11) is False
    assert sorted(store.watches(user)) == [12, 13]
    assert redis_client.hkeys(f"{SINCE_PREFIX}{user}") == [b"12"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "51"},
        {"limit": "abc"},
        {"limit": "1" * 30},
        {"before": "yesterday"},
        {"before": "1-2-3"},
        {"before": "9" * 40},
    ],
)
def test_bad_paging_is_a_clear_400(stack, store, params) -> None:
    response = Reader(stack, store).get(**params)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
