"""The pure parts of "nothing lost": notification ids, the queue message the feed publishes, the replay
ledger that keeps a rejoin's replay and live delivery from repeating or reordering, and the inbox's
paging. No server; the Redis parts are in tests/integration/test_notification_feed.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from booking_service.feed import BadFeedId, Notification, id_key, queue_message
from booking_service.inbox import InboxQuery, merge_page, parse_inbox_query
from booking_service.realtime.replay import ReplayLedger, joined, replay_cursor_from, update_id
from common.errors import BadRequest


def note(ms: int, seq: int = 0, property_id: int = 7, actor: int | None = None) -> Notification:
    return Notification(f"{ms}-{seq}", property_id, {"n": ms}, actor)


def payload(ms: int, seq: int = 0) -> dict[str, Any]:
    return note(ms, seq).payload()


# ---- ids and the queue message ------------------------------------------------------------------------
def test_ids_order_by_time_then_sequence_not_as_text() -> None:
    assert id_key("9-0") < id_key("10-0") < id_key("10-1") < id_key("10-10")


@pytest.mark.parametrize(
    "bad", ["", "1", "1-", "-1", "a-1", "1-1-1", " 1-1", "1" * 16 + "-0", 5, None, "１-0"]
)
def test_anything_but_an_id_is_refused(bad: Any) -> None:
    with pytest.raises(BadFeedId):
        id_key(bad)


def test_the_queue_message_is_python_socketios_emit_with_the_id_spliced_in() -> None:
    update = {"event": "booked", "note": '"\u0000id\u0000" in a notification stays text'}
    head, tail = queue_message(12, update)
    message = json.loads(head + "1765000000000-3" + tail)
    assert message["method"] == "emit" and message["event"] == "notification_update"
    assert message["room"] == "property:12" and message["namespace"] == "/"
    assert message["data"] == [{"id": "1765000000000-3", "propertyId": 12, "update": update}]


# ---- join-room's additive fields ------------------------------------------------------------------------
def test_join_room_after_is_optional_and_must_be_an_id() -> None:
    assert replay_cursor_from({"property_id": 1}) is None
    assert replay_cursor_from({"property_id": 1, "after": "5-1"}) == "5-1"
    for bad in (5, "x", ["5-1"], {"a": 1}):
        with pytest.raises(BadFeedId):
            replay_cursor_from({"property_id": 1, "after": bad})


def test_join_response_keeps_the_seed_message_and_adds_the_position() -> None:
    message = "Connected to room 3 for notifications"
    assert joined(message, 3, "9-0") == {"message": message, "propertyId": 3, "lastId": "9-0"}


def test_only_feed_payloads_have_an_update_id() -> None:
    assert update_id(payload(5, 2)) == (5, 2)
    assert update_id({"update": "admin text"}) is None
    assert update_id({"id": "nope"}) is None
    assert update_id("Error") is None


# ---- the replay ledger ---------------------------------------------------------------------------------
def released(ledger: ReplayLedger, sid: str, replayed: list[dict[str, Any]]) -> list[str]:
    sent: list[str] = []
    ledger.release(sid, 7, replayed, lambda to, item: sent.append(f"{to}:{item['id']}"))
    return sent


def test_live_notifications_during_a_replay_are_held_then_sent_once_in_order() -> None:
    ledger = ReplayLedger()
    ledger.hold("a", 7, (10, 0))
    assert ledger.skipped(7, payload(12)) == ["a"]  # arrived live while the replay read the feed
    assert ledger.skipped(7, payload(13)) == ["a"]
    # the replay read 11 and 12 from the feed: 12 is not sent twice, 13 comes after it
    assert released(ledger, "a", [payload(11), payload(12)]) == ["a:11-0", "a:12-0", "a:13-0"]


def test_a_lagging_listener_does_not_repeat_what_the_replay_sent() -> None:
    ledger = ReplayLedger()
    ledger.hold("a", 7, (10, 0))
    released(ledger, "a", [payload(11), payload(12)])
    assert ledger.skipped(7, payload(12)) == ["a"]  # the queue delivers 12 only now
    assert ledger.skipped(7, payload(14)) == []  # newer: delivered live, and the cursor is done
    assert len(ledger) == 0
    assert ledger.skipped(7, payload(12)) == []  # steady state: nothing is filtered any more


def test_other_connections_and_properties_are_never_held() -> None:
    ledger = ReplayLedger()
    ledger.hold("a", 7, (10, 0))
    assert ledger.skipped(8, Notification("11-0", 8, {}).payload()) == []
    assert ledger.skipped(7, {"update": "an admin text without id"}) == []


def test_a_second_join_before_any_live_notification_keeps_what_was_sent() -> None:
    ledger = ReplayLedger()
    ledger.hold("a", 7, (10, 0))
    released(ledger, "a", [payload(11)])
    ledger.hold("a", 7, (5, 0))  # a client that asks from further back
    assert released(ledger, "a", [payload(9), payload(11), payload(12)]) == ["a:12-0"]


def test_leaving_or_disconnecting_forgets_the_connection() -> None:
    ledger = ReplayLedger()
    ledger.hold("a", 7, (10, 0))
    ledger.hold("a", 8, (10, 0))
    ledger.drop("a", 7)
    assert ledger.skipped(7, payload(12)) == []
    assert released(ledger, "a", [payload(11)]) == []  # left meanwhile: nothing is sent
    ledger.drop("a")
    assert len(ledger) == 0


# ---- the inbox -----------------------------------------------------------------------------------------
def test_inbox_query_bounds() -> None:
    assert parse_inbox_query({}) == InboxQuery(20, None)
    assert parse_inbox_query({"limit": "50", "before": "17-2"}) == InboxQuery(50, "17-2")
    for bad in ({"limit": "0"}, {"limit": "51"}, {"limit": "²"}, {"limit": "1e3"}, {"before": "x"},
                {"before": "9" * 40 + "-1"}):  # fmt: skip
        with pytest.raises(BadRequest):
            parse_inbox_query(bad)


def test_inbox_merges_properties_newest_first_without_my_own_actions() -> None:
    lists = {
        1: [note(30, property_id=1), note(10, property_id=1)],
        2: [note(20, property_id=2, actor=99), note(5, property_id=2)],
    }
    page = merge_page(lists, reader=99, limit=5)
    assert [item.id for item in page.items] == ["30-0", "10-0", "5-0"]
    assert page.next is None


def test_inbox_pages_never_skip_what_a_full_property_did_not_return() -> None:
    # property 1 returned its limit (2): it may hold items older than 40 that were not fetched
    lists = {
        1: [note(50, property_id=1), note(40, property_id=1)],
        2: [note(45, property_id=2), note(1, property_id=2)],
    }
    page = merge_page(lists, reader=0, limit=2)
    assert [item.id for item in page.items] == ["50-0", "45-0"]
    assert page.next == "45-0"
    # a full page: the rest (1-0) follows after `next`
    roomy = merge_page(lists, reader=0, limit=3)
    assert [item.id for item in roomy.items] == ["50-0", "45-0", "40-0"] and roomy.next == "40-0"


def test_inbox_page_of_only_my_own_actions_still_moves_on() -> None:
    lists = {1: [note(50, actor=3), note(40, actor=3)]}
    page = merge_page(lists, reader=3, limit=2)
    assert page.items == [] and page.next == "40-0"
