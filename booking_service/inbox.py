"""A user's notification inbox (issue #20): the notifications of the properties they watch, from the last
30 days, newest first, without their own actions; `GET /api/bookings/notifications?limit=&before=`.

It is read from the same per-property feed the realtime process replays from (`feed.py`): no copy per
user, so a new tab or another browser sees the same inbox, and watching a property shows its recent
past too. Pages hold at most `PAGE_MAX` items; `next` is the `before` of the next page (null at the end).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis

from booking_service.feed import KEEP_DAYS, BadFeedId, Notification, NotificationFeed, id_key
from booking_service.subscriptions import SubscriptionStore
from common import inputs
from common.errors import ApiError, BadRequest

PAGE_MAX = 50
PAGE_DEFAULT = 20
UNAVAILABLE = "Notifications are unavailable, try again shortly"


@dataclass(frozen=True)
class InboxQuery:
    limit: int = PAGE_DEFAULT
    before: str | None = None


@dataclass(frozen=True)
class InboxPage:
    items: list[Notification]
    next: str | None


def parse_inbox_query(args: Mapping[str, str]) -> InboxQuery:
    limit = PAGE_DEFAULT
    if args.get("limit"):
        limit = inputs.int_text(args["limit"], "limit", low=1, high=PAGE_MAX)
    before = args.get("before") or None
    if before is not None:
        try:
            id_key(before)
        except BadFeedId:
            raise BadRequest("before must be a notification id (the next value of a previous page)") from None
    return InboxQuery(limit, before)


def merge_page(per_property: Mapping[int, list[Notification]], reader: int, limit: int) -> InboxPage:
    """One page from each property's newest-first list of at most `limit` items.

    A property that filled its `limit` may hold older items not fetched, so the page stops at the oldest
    item such a property returned: whatever comes after it is on a later page, never skipped.
    """
    truncated = [items[-1].order for items in per_property.values() if len(items) >= limit]
    complete_to = max(truncated, default=(0, 0))
    merged = sorted(
        (item for items in per_property.values() for item in items if item.order >= complete_to),
        key=lambda item: item.order,
        reverse=True,
    )
    page: list[Notification] = []
    walked = 0
    for item in merged:
        if len(page) == limit:
            break
        walked += 1
        if item.actor != reader:
            page.append(item)
    more = walked < len(merged) or bool(truncated)
    return InboxPage(page, merged[walked - 1].id if more and walked else None)


def read_inbox(
    store: SubscriptionStore,
    feed: NotificationFeed,
    user_id: int,
    query: InboxQuery,
    now_ms: int | None = None,
) -> InboxPage:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    oldest_ms = now_ms - KEEP_DAYS * 86_400_000
    try:
        since = store.watches(user_id)
        per_property = feed.latest(sorted(since), query.before, oldest_ms, query.limit) if since else {}
    except redis.RedisError:
        raise ApiError(UNAVAILABLE, 503) from None
    # Only what happened since the user began to watch: the lists are newest first, so one cut off here
    # lost nothing older that would have been shown.
    per_property = {
        p: [item for item in items if item.at_ms >= since.get(p, 0)] for p, items in per_property.items()
    }
    return merge_page(per_property, user_id, query.limit)


def notification_json(item: Notification) -> dict[str, Any]:
    at = dt.datetime.fromtimestamp(item.at_ms / 1000, dt.UTC)
    return {
        "id": item.id,
        "propertyId": item.property_id,
        "update": item.update,
        "at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def page_json(page: InboxPage) -> dict[str, Any]:
    return {"notifications": [notification_json(item) for item in page.items], "next": page.next}
