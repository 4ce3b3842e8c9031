"""The user directory: every user id in a Redis set, so other services can tell whether a user exists
without calling this service or reading its database (services share no code and no tables).

- `hrp:user-ids` holds the ids; `register` and `create-admin` add theirs right after the insert commits
  (users are never deleted today; a delete would `SREM`).
- `hrp:user-ids:complete` says the set holds every user. Readers (booking_service) trust a missing id
  only while it exists; without it they answer "cannot tell" (Redis was emptied, or never filled).
- A reconciler thread in each process compares the set's size with the table's every `interval`
  seconds and re-adds every id when they differ or the marker is gone: a Redis restart, or an add lost
  while Redis was unreachable, heals within one interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from user_service.repository import SqlUserRepository

log = logging.getLogger(__name__)
REDIS_ERRORS = (redis.RedisError, OSError)
USER_IDS = "hrp:user-ids"  # booking_service/services.py reads the same two keys
COMPLETE = "hrp:user-ids:complete"
BATCH = 10_000
RECONCILE_SECONDS = 60.0


class UserDirectory:
    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = (
            redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
            if redis_url
            else None
        )
        self._start_lock = threading.Lock()
        self._started = False

    def add(self, user_id: int) -> None:
        """Never raises: a lost add is repaired by the next reconciliation."""
        if self._redis is None:
            return
        try:
            self._redis.sadd(USER_IDS, user_id)
        except REDIS_ERRORS as exc:
            log.warning("user %s not added to the directory (%s)", user_id, type(exc).__name__)

    def reconcile(self, users: SqlUserRepository) -> bool:
        """Re-adds every id unless the set is complete and as large as the table; True when it did."""
        if self._redis is None:
            return False
        count = users.count()
        pipe = self._redis.pipeline(transaction=False)
        size, complete = pipe.scard(USER_IDS).exists(COMPLETE).execute()
        if complete and size == count:
            return False
        for ids in users.id_batches(BATCH):
            self._redis.sadd(USER_IDS, *ids)
        self._redis.set(COMPLETE, "1")
        log.info("user directory rebuilt", extra={"user_directory.size": count})
        return True

    def start_reconciler(self, users: SqlUserRepository, interval: float) -> None:
        """Once per process: a daemon thread reconciling now, then every `interval` seconds."""
        if self._started:  # every request asks; only the first takes the lock
            return
        with self._start_lock:
            if self._redis is None or self._started:
                return
            self._started = True
        threading.Thread(target=self._reconcile_forever, args=(users, interval), daemon=True).start()

    def _reconcile_forever(self, users: SqlUserRepository, interval: float) -> None:
        while True:
            try:
                self.reconcile(users)
            except Exception as exc:  # the database or Redis is down: try again next interval
                log.warning("user directory not reconciled (%s)", type(exc).__name__)
            time.sleep(interval)
