"""Does a user id exist? Answered from the ids user_service keeps in Redis (user_service/directory.py)."""

from __future__ import annotations

import logging
from typing import Any

import redis

log = logging.getLogger(__name__)
USER_IDS, COMPLETE = "hrp:user-ids", "hrp:user-ids:complete"  # written by user_service/directory.py


class RedisUserDirectory:
    """A missing id means "no such user" only while the completeness marker exists; without it (Redis
    was emptied and user_service has not refilled it yet) or with Redis down, the answer is None.
    """

    def __init__(self, redis_url: str | None) -> None:
        self._redis: Any = (
            redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else None
        )

    def exists(self, user_id: int) -> bool | None:
        if self._redis is None:
            return None
        try:
            member, complete = (
                self._redis.pipeline(transaction=False)
                .sismember(USER_IDS, user_id)
                .exists(COMPLETE)
                .execute()
            )
        except (redis.RedisError, OSError) as exc:
            log.warning("user directory unreadable (%s)", type(exc).__name__)
            return None
        return True if member else (False if complete else None)
