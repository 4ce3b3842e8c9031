"""The gateway's own copies of booking_service's hottest reads: one network hop and a service's work fewer.

A service marks a GET answer that stays right until a change it announces (`common.near_cache.COPY_HEADER`):
- "properties": a property search or a property, the same for every caller; kept by path and query until
  `PROPERTY_CHANNEL` retires every property read;
- "booking <key>": one booking or a guest's list, as answered to one reader (user id and role); kept
  under the service's own key until `BOOKING_CHANNEL` retires that key, and served to that reader only,
  for that same path and query.
These are the messages that retire booking_service's own copies, so both are retired by the same write.
Everything `NearCache` guarantees holds: copies are served only while the subscription is confirmed, a
read that overlapped the retirement of the key it is kept under keeps nothing, and each copy expires
after its `max_age` whatever happens to Redis. `settle`: for a moment after a key's retirement no copy
of it is kept, because the instance that answers the next miss may not have heard the message yet and
would hand over the copy it still holds. A write this gateway relayed also retires, before the writer is
answered, what it changed (every property copy, or the booking copies the service names on its answer),
so the writer's next read here never finds the old answer; another gateway hears of it from the service's
announcement, within milliseconds.

The edge check (token, rate limits) runs before a copy is looked up, exactly as before a request is
forwarded. Services check the token again on what they answer; a copy is only ever served to the reader
whose verified token got it, and a role change gives that user a token with another role, another reader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from common.identity import Identity
from common.near_cache import (
    BOOKING_CHANNEL,
    COPY_HEADER,
    COPY_UNTIL_BOOKING_CHANGES,
    COPY_UNTIL_PROPERTIES_CHANGE,
    MAX_ENTRIES,
    PROPERTY_CHANNEL,
    RETIRED_HEADER,
    NearCache,
)
from gateway.transport import UpstreamResponse

# On every GET the copies cover: HIT (answered from a copy), MISS (forwarded, kept if the service allowed
# it) or BYPASS (forwarded; copies are not trusted while the subscriptions are not confirmed).
COPY_STATUS_HEADER = "X-Gateway-Cache"
PUBLIC_MAX_AGE_SECONDS = 5.0  # booking_service's own property copies live as long
READER_MAX_AGE_SECONDS = 30.0  # and its booking copies (BOOKING_COPY_SECONDS' default)
SETTLE_SECONDS = 0.5
# A copy read in the last quarter of its `max_age` is refreshed from the service while it is still served
# (gateway/refresh.py): a key read steadily never expires under its readers. Each copy still lives at most
# `max_age` from the answer it holds.
REFRESH_AHEAD_SHARE = 0.25
LARGEST_COPY = 256 * 1024
TARGETS_PER_READER = 64
MAX_NAMED_KEYS = 16  # a write's answer naming more is treated as naming none
COPIED_SERVICES = frozenset({"booking_service"})
# Every write that changes a property (its fields, photos, a new or retired property) is under this path.
PROPERTY_WRITES = "/api/bookings/properties"
READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class CopiedAnswer:
    headers: tuple[tuple[str, str], ...]  # as relayed: hop-by-hop and gateway-set headers already left out
    body: bytes
    reader: str | None = None  # a reader's copy: who got it, and for which target
    target: str = ""


@dataclass(frozen=True, slots=True)
class Epochs:
    """Taken before a request is forwarded and handed back to `keep` (see NearCache.put)."""

    public: int | None
    reader: int | None

    @property
    def trusted(self) -> bool:
        """Whether any copies could be used (a subscription is confirmed): MISS, else BYPASS."""
        return self.public is not None or self.reader is not None


def _ignore(_outcome: str) -> None:
    return None


def reader_of(identity: Identity | None) -> str | None:
    return None if identity is None else f"{identity.user_id}:{identity.role}"


class AnswerCopies:
    def __init__(
        self,
        redis_url: str | None,
        *,
        public_max_age: float = PUBLIC_MAX_AGE_SECONDS,
        reader_max_age: float = READER_MAX_AGE_SECONDS,
        settle: float = SETTLE_SECONDS,
        observe: Callable[[str], None] = _ignore,
    ) -> None:
        self._public: NearCache[CopiedAnswer] = NearCache(
            redis_url, channel=PROPERTY_CHANNEL, max_age=public_max_age, settle=settle
        )
        self._readers: NearCache[CopiedAnswer] = NearCache(
            redis_url, channel=BOOKING_CHANNEL, max_age=reader_max_age, settle=settle
        )
        self._reader_keys: dict[str, dict[str, str]] = {}  # reader -> {target: the service's key}
        self._observe = observe
        self._public_ahead = REFRESH_AHEAD_SHARE * public_max_age
        self._reader_ahead = REFRESH_AHEAD_SHARE * reader_max_age

    def covers(self, method: str, service: str) -> bool:
        return method == "GET" and service in COPIED_SERVICES and self._public.enabled

    def lookup(self, target: str, reader: str | None) -> tuple[Epochs, CopiedAnswer | None, bool]:
        """The epochs to keep an answer with, the copy to answer from (if any), and whether that copy is
        in the last REFRESH_AHEAD_SHARE of its life (the caller may refresh it while it serves it)."""
        epochs = self.epochs()
        found, due = None, False
        if reader is not None and (key := self._reader_keys.get(reader, {}).get(target)) is not None:
            copy = self._readers.get(key)
            if copy is not None and copy.reader == reader and copy.target == target:
                found = copy
                due = self._readers.seconds_left(key) < self._reader_ahead
        if found is None and (found := self._public.get(target)) is not None:
            due = self._public.seconds_left(target) < self._public_ahead
        if found is not None:
            self._observe("hit")
        else:
            self._observe("miss" if epochs.trusted else "bypass")
        return epochs, found, due

    def epochs(self) -> Epochs:
        """Taken before an answer is asked for, a miss's or a refresh's (see `keep`)."""
        return Epochs(self._public.epoch(), self._readers.epoch())

    def keep(
        self,
        epochs: Epochs,
        target: str,
        reader: str | None,
        upstream: UpstreamResponse,
        headers: list[tuple[str, str]],
    ) -> list[bytes] | None:
        """The answer's body, read whole and kept, when the service marked it as copyable; else None (the
        caller relays the body as usual)."""
        if not copyable(upstream):
            return None
        mark = upstream.header(COPY_HEADER) or ""
        if mark == COPY_UNTIL_PROPERTIES_CHANGE and epochs.public is not None:
            body = upstream.read()
            self._public.put(epochs.public, target, CopiedAnswer(tuple(headers), body))
            return [body]
        if mark.startswith(COPY_UNTIL_BOOKING_CHANGES) and reader is not None and epochs.reader is not None:
            key = mark[len(COPY_UNTIL_BOOKING_CHANGES) :]
            body = upstream.read()
            self._remember(reader, target, key)
            self._readers.put(epochs.reader, key, CopiedAnswer(tuple(headers), body, reader, target))
            return [body]
        return None

    def after_write(
        self, method: str, service: str, path: str, reader: str | None, upstream: UpstreamResponse
    ) -> None:
        """A write this gateway relayed retires what it changed before the writer is answered, so the
        writer's next read through this gateway never finds the old answer (other gateways hear it from
        the service's announcement): every property copy, or the booking copies the service named on its
        answer (common.near_cache.RETIRED_HEADER). A service that names none (one from before the header)
        costs the writer every booking copy of theirs. Writes to other services change nothing copied
        here."""
        if method in READS or service not in COPIED_SERVICES or not 200 <= upstream.status < 300:
            return
        if path.startswith(PROPERTY_WRITES):
            self._public.retire()
            return
        named = (upstream.header(RETIRED_HEADER) or "").split()
        if 0 < len(named) <= MAX_NAMED_KEYS:
            for key in named:
                self._readers.retire(key)
        elif reader is not None:
            for key in self._reader_keys.pop(reader, {}).values():
                self._readers.retire(key)

    def _remember(self, reader: str, target: str, key: str) -> None:
        """Bounded: the readers and their targets are the clients' choice."""
        if reader not in self._reader_keys and len(self._reader_keys) >= MAX_ENTRIES:
            self._reader_keys.clear()
        targets = self._reader_keys.setdefault(reader, {})
        if len(targets) >= TARGETS_PER_READER:
            targets.clear()
        targets[target] = key


def copyable(upstream: UpstreamResponse) -> bool:
    """Whether the service allowed a copy of this answer, a 200 of known length up to LARGEST_COPY."""
    mark = upstream.header(COPY_HEADER) or ""
    allowed = mark == COPY_UNTIL_PROPERTIES_CHANGE or mark.startswith(COPY_UNTIL_BOOKING_CHANGES)
    length = upstream.header("Content-Length") or ""
    return allowed and upstream.status == 200 and length.isdigit() and int(length) <= LARGEST_COPY
