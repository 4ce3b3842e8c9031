"""The notification feed and join-room's replay against the real thing: the stack's standalone Redis, two
gunicorn gevent realtime instances and real python-socketio clients. Nothing is mocked.

A client that was away rejoins with `after` = the last id it saw and gets what was published meanwhile,
then live updates, each exactly once and in id order — also while notifications keep arriving during
the rejoin (the race the replay ledger exists for)."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from booking_service.feed import (
    KEEP_DAYS,
    STREAM_MAX_ENTRIES,
    NotificationFeed,
    id_key,
    stream_key,
)
from booking_service.notifications import Notifier
from booking_service.realtime.replay import REPLAY_MAX
from tests.support.data import insert_property
from tests.support.notification_client import NotificationClient

pytestmark = pytest.mark.timeout(120)
_ids = itertools.count(random.randrange(10**9, 2 * 10**9, 10**5))


@pytest.fixture
def redis_client(stack) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture
def feed(redis_client) -> NotificationFeed:
    return NotificationFeed(redis_client)


@pytest.fixture
def property_id(stack_booking_db) -> int:
    return insert_property(stack_booking_db, "Replay, RP", 90, "rt-replay")


@pytest.fixture
def watcher(stack, property_id) -> Iterator[Callable[..., NotificationClient]]:
    """Connects a client of one user, subscribed to the property; joins the room unless told not to."""
    user_id, opened = next(_ids), []

    def connect(instance: int = 0, after: str | None = None) -> NotificationClient:
        client = NotificationClient.connect(
            stack.url("booking_realtime", instance), stack.token(user_id), transports=["websocket"]
        )
        opened.append(client)
        client.request("get-notification", {"property_id": property_id}, "notification_response")
        extra = {"after": after} if after else {}
        joined = client.request("join-room", {"property_id": property_id, **extra}, "join_response")
        assert joined["message"] == f"Connected to room {property_id} for notifications", joined
        return client

    yield connect
    for client in opened:
        client.close()


def updates_of(client: NotificationClient, after: int = 0) -> list[dict]:
    return [item.data for item in client.received[after:] if item.event == "notification_update"]


def wait_for_count(client: NotificationClient, count: int, after: int = 0, timeout: float = 10) -> list[dict]:
    client.wait_for("notification_update", timeout=timeout, after=after)
    deadline = time.monotonic() + timeout
    while len(updates_of(client, after)) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return updates_of(client, after)


def test_publish_numbers_keeps_and_delivers_with_the_id(
    stack, feed, redis_client, watcher, property_id
) -> None:
    client = watcher(1)
    first = feed.publish(property_id, {"event": "probe", "n": 1}, actor=5)
    Notifier(stack.env["REDIS_URL"]).property_event(property_id, {"event": "probe", "n": 2})
    newest = feed.newest_id(property_id)
    assert id_key(newest) > id_key(first)
    delivered = wait_for_count(client, 2)
    assert delivered == [
        {"id": first, "propertyId": property_id, "update": {"event": "probe", "n": 1}},
        {"id": newest, "propertyId": property_id, "update": {"event": "probe", "n": 2}},
    ]
    kept = feed.since(property_id, "0-0", 10)
    assert [(item.id, item.actor) for item in kept] == [(first, 5), (newest, None)]
    assert 0 < redis_client.ttl(stream_key(property_id)) <= KEEP_DAYS * 86_400


def test_a_publish_retried_with_its_token_goes_out_once(feed, watcher, property_id) -> None:
    """redis-py resends a command whose reply was lost; the script's token makes that resend a no-op."""
    client = watcher(0)
    first = feed.publish(property_id, {"n": 1}, token="retry-me")
    assert feed.publish(property_id, {"n": 1}, token="retry-me") == first
    assert [item.id for item in feed.since(property_id, "0-0", 10)] == [first]
    assert [item["id"] for item in wait_for_count(client, 1)] == [first]
    time.sleep(0.3)
    assert len(updates_of(client)) == 1


def test_ids_grow_across_properties(feed, stack_booking_db, property_id) -> None:
    other = insert_property(stack_booking_db, "Replay two, RP", 90, "rt-replay")
    ids = [feed.publish(pid, {"n": n}) for n, pid in enumerate([other, property_id, other, property_id])]
    assert [id_key(i) for i in ids] == sorted(id_key(i) for i in ids) and len(set(ids)) == 4


def test_a_stream_is_capped(feed, redis_client, property_id) -> None:
    for n in range(STREAM_MAX_ENTRIES + 150):
        feed.publish(property_id, {"n": n})
    # approximate trimming: whole macro nodes (100 entries) are dropped, never the newest
    assert STREAM_MAX_ENTRIES <= redis_client.xlen(stream_key(property_id)) < STREAM_MAX_ENTRIES + 100
    assert feed.since(property_id, "0-0", 1)[0].update == {"n": STREAM_MAX_ENTRIES + 149}


def test_join_answers_the_position_and_a_rejoin_replays_what_was_missed_once(
    feed, watcher, property_id
) -> None:
    before = feed.publish(property_id, {"n": 0})
    away = watcher(0)
    joined = away.events("join_response")[-1]
    assert joined["lastId"] == before and joined["propertyId"] == property_id
    assert away.last_ids[property_id] == before
    away.close()
    missed = [feed.publish(property_id, {"n": n}) for n in (1, 2, 3)]
    back = watcher(1, after=before)
    assert [item["id"] for item in wait_for_count(back, 3)] == missed
    live = feed.publish(property_id, {"n": 4})
    assert [item["id"] for item in wait_for_count(back, 4)] == [*missed, live]
    time.sleep(0.3)  # a repeat would arrive within this
    assert [item["update"]["n"] for item in updates_of(back)] == [1, 2, 3, 4]


def test_a_replay_is_bounded_to_the_newest(feed, watcher, property_id) -> None:
    start = feed.publish(property_id, {"n": -1})
    for n in range(REPLAY_MAX + 5):
        feed.publish(property_id, {"n": n})
    client = watcher(0, after=start)
    replayed = wait_for_count(client, REPLAY_MAX)
    assert [item["update"]["n"] for item in replayed] == list(range(5, REPLAY_MAX + 5))


def test_a_made_up_future_position_does_not_silence_the_connection(feed, watcher, property_id) -> None:
    client = watcher(0, after="999999999999999-0")
    assert client.events("join_response")[-1]["lastId"] == feed.newest_id(property_id)
    live = feed.publish(property_id, {"n": 1})
    assert wait_for_count(client, 1)[0]["id"] == live


def test_bad_positions_answer_error(watcher, property_id) -> None:
    client = watcher(0)
    for bad in ("x", 5, "1-2-3", "9" * 30 + "-0"):
        answer = client.request("join-room", {"property_id": property_id, "after": bad}, "join_response")
        assert answer == {"message": "Error"}


def test_rejoining_while_notifications_keep_coming_loses_and_repeats_none(feed, watcher, property_id) -> None:
    """A publisher sends without pause while the client leaves and rejoins from its last id, five times:
    whatever the interleaving of replay and live delivery, the ids received are exactly the ids
    published (after the first join), strictly increasing."""
    first = watcher(0)
    published: list[str] = []
    stop = threading.Event()

    def publish() -> None:
        for n in itertools.count():
            if stop.is_set():
                return
            published.append(feed.publish(property_id, {"n": n}))
            time.sleep(0.002)

    publisher = threading.Thread(target=publish)
    publisher.start()
    received: list[str] = []
    rounds: list[
        tuple[int, str | None]
    ] = []  # (received so far, the rejoin's after): for a failure's message
    client = first
    try:
        for round_ in range(5):
            time.sleep(0.1)
            client.close()
            received += [item["id"] for item in updates_of(client)]
            after = client.last_ids.get(property_id)
            rounds.append((len(received), after))
            client = watcher(round_ % 2, after=after)
    finally:
        time.sleep(0.1)
        stop.set()
        publisher.join()
    final = feed.newest_id(property_id)
    client.wait_for("notification_update", lambda data: data["id"] == final, timeout=10)
    received += [item["id"] for item in updates_of(client)]
    start = first.events("join_response")[-1]["lastId"]
    expected = [i for i in published if id_key(i) > id_key(start)]
    repeated = sorted({i for i in received if received.count(i) > 1})
    lost = sorted(set(expected) - set(received))
    assert received == expected, (
        f"{len(received)} received, {len(expected)} published; repeated {repeated}, "
        f"lost {lost}, extra {sorted(set(received) - set(expected))}, rejoins {rounds}"
    )


def test_admin_broadcasts_go_through_the_feed(stack, feed, watcher, property_id) -> None:
    client = watcher(0)
    admin = NotificationClient.connect(stack.url("booking_realtime", 1), stack.token(next(_ids), "admin"))
    try:
        admin.sio.emit("broadcast_notification", {"property_id": property_id, "notification": "pool closed"})
        delivered = client.wait_for("notification_update")
    finally:
        admin.close()
    assert delivered["update"] == "pool closed"
    assert feed.since(property_id, "0-0", 5)[-1].id == delivered["id"]


def test_a_batch_holds_its_events_and_sends_its_messages_first(stack, redis_client) -> None:
    """After a commit the booking copies' invalidations and the notification go out together
    (`Notifier.batch`): the messages first, then the event, numbered as ever, once the block ends."""
    property_id, channel = next(_ids), f"hrp:test-batch:{next(_ids)}"
    notifier = Notifier(stack.env["REDIS_URL"])
    listener = redis_client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel, "flask-socketio")
    redis_client.script_flush()  # the first batch finds no script: it must load it and still publish
    for round_ in range(2):
        with notifier.batch([(channel, f"guest:{round_}".encode())]):
            notifier.booking_event("booked", property_id, "2031-01-01", "2031-01-02", actor=7)
            assert redis_client.xlen(stream_key(property_id)) == round_, "held until the block ends"
        assert redis_client.xlen(stream_key(property_id)) == round_ + 1
        received = published(listener, 2)
        assert [m["channel"] for m in received] == [channel.encode(), b"flask-socketio"]
        assert received[0]["data"] == f"guest:{round_}".encode()
        assert f'"propertyId": {property_id}'.encode() in received[1]["data"].replace(b'":', b'": ')
    listener.close()


def published(listener: redis.client.PubSub, count: int, seconds: float = 2.0) -> list[dict]:
    found, deadline = [], time.monotonic() + seconds
    while len(found) < count and time.monotonic() < deadline:
        if (message := listener.get_message(timeout=0.1)) is not None:
            found.append(message)
    return found


class CountingConnection(redis.Connection):
    writes = 0

    def send_packed_command(self, command, check_health=True):  # type: ignore[no-untyped-def]
        CountingConnection.writes += 1
        return super().send_packed_command(command, check_health)


def test_publish_with_is_one_round_trip(stack) -> None:
    client = redis.Redis.from_url(stack.env["REDIS_URL"], connection_class=CountingConnection)
    feed, property_id = NotificationFeed(client), next(_ids)
    feed.publish(property_id, {"event": "warm-up"})  # the connection's set-up and the script's load
    before = CountingConnection.writes
    ids = feed.publish_with(
        [("hrp:test-batch", b"1"), ("hrp:test-batch", b"guest:2")],
        [(property_id, {"event": "booked"}, 3), (property_id, {"event": "cancelled"}, None)],
    )
    assert CountingConnection.writes - before == 1
    assert len(ids) == 2 and id_key(ids[0]) < id_key(ids[1])
    assert [n.id for n in feed.since(property_id, "0-0", 10)][-2:] == ids
    client.close()
