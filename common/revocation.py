"""Token versions: a user's tokens stop working within `REVOCATION_BOUND_SECONDS` of a logout or a role
change, in every process that verifies tokens.

user_service keeps each user's `token_version` in PostgreSQL (the source of truth) and, after a change
commits, writes it to Redis (`hrp:token-version:<id>`, expiring with the longest token lifetime, after
which no older token is alive anyway) and then announces the user's id on a pub/sub channel. A token
carries the version it was issued at (`tv`); verifiers refuse it once Redis holds a higher one.

Each process keeps a copy of the versions it read (`common.near_cache`): the announcement retires the
user's copy on every instance within milliseconds, so a signed-in request costs no Redis read in the
common case (it cost one per user per second per process, most of the Redis traffic of a signed-in
workload). Copies are trusted only while the process holds a confirmed subscription (otherwise every
check reads Redis), a read that straddles an announcement keeps nothing, and a copy lives at most
`COPY_SECONDS`, the bound should an announcement be lost while the subscription looks healthy.
Redis unreachable: tokens are judged by the version last read, else by their signature and expiry alone
(logged), the same trade-off the rate limits make — an outage of the cache must not become an outage
of every signed-in page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from common.cooldown import Cooldown
from common.near_cache import NearCache

log = logging.getLogger(__name__)

REVOCATION_BOUND_SECONDS = 1.0  # what the tests hold every verifier to (pub/sub takes milliseconds)
COPY_SECONDS = 5.0
KEY_PREFIX = "hrp:token-version"
CHANGED_CHANNEL = "hrp:token-versions:changed"
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}
MAX_REMEMBERED = 50_000


def version_key(user_id: int) -> str:
    return f"{KEY_PREFIX}:{user_id}"


class TokenVersions:
    def __init__(self, redis_url: str | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = redis.Redis.from_url(redis_url, **REDIS_TIMEOUTS) if redis_url else None
        self._clock = clock
        self._copies: NearCache[int] = NearCache(
            redis_url, channel=CHANGED_CHANNEL, max_age=COPY_SECONDS, clock=clock
        )
        self._known: dict[int, int] = {}  # the last version read per user: the judge while Redis is down
        self._lock = threading.Lock()
        self._quiet = Cooldown(1.0, clock=clock)  # store down: signatures alone decide meanwhile

    def is_current(self, user_id: int, token_version: int) -> bool:
        return token_version >= self.current(user_id)

    def current(self, user_id: int) -> int:
        """The user's version: this process's copy while it is trusted, else Redis; when Redis cannot
        answer, the version last read, else 0."""
        version = self._copies.read_through(str(user_id), lambda: self._read(user_id))
        if version is None:
            return self._known.get(user_id, 0)
        return version

    def refresh(self, user_ids: set[int]) -> None:
        """Reads the versions of these users this process holds no trusted copy of in one round trip
        (MGET) and keeps them as copies, so a sweep over many connections costs one Redis call, not one
        per user. Not subscribed: nothing is kept, and each check reads Redis itself."""
        epoch = self._copies.epoch()
        missing = [user_id for user_id in user_ids if self._copies.get(str(user_id)) is None]
        if epoch is None or not missing or (versions := self._read_many(missing)) is None:
            return
        for user_id, version in zip(missing, versions, strict=True):
            self._copies.put(epoch, str(user_id), version)

    def publish(self, user_id: int, version: int, ttl_seconds: int) -> bool:
        """Called by user_service after the new version committed; False when Redis did not take it."""
        if self._client is None:
            return False
        try:
            self._client.set(version_key(user_id), version, ex=max(1, ttl_seconds))
        except (redis.RedisError, OSError) as exc:
            log.error("token version of user %s not published: %s", user_id, type(exc).__name__)
            return False
        self._remember({user_id: version})
        self._copies.publish_invalidation(str(user_id))
        return True

    def _read(self, user_id: int) -> int | None:
        versions = self._read_many([user_id])
        return None if versions is None else versions[0]

    def _read_many(self, user_ids: list[int]) -> list[int] | None:
        """The users' versions from Redis (0 where none is stored), remembered for an outage; None while
        Redis cannot answer."""
        if self._client is None or self._quiet.active:
            return None
        try:
            raws = self._client.mget([version_key(user_id) for user_id in user_ids])
        except (redis.RedisError, OSError) as exc:
            log.warning("token versions unreadable, signatures alone decide for 1 s: %s", type(exc).__name__)
            self._quiet.start()
            return None
        versions = [int(raw) if raw is not None else 0 for raw in raws]
        self._remember(dict(zip(user_ids, versions, strict=True)))
        return versions

    def _remember(self, versions: dict[int, int]) -> None:
        with self._lock:
            if len(self._known) + len(versions) >= MAX_REMEMBERED:
                self._known.clear()
            self._known.update(versions)
