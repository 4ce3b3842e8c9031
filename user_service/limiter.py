"""Login failure limits in Redis, per email and per client IP, so they hold across instances.

Fixed windows: the first failure starts a `window`-second key; at `limit` failures further attempts get
429 until the key expires. Redis down → allow everything (logged), never a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline

log = logging.getLogger(__name__)
REDIS_ERRORS = (redis.RedisError, OSError)


@dataclass(frozen=True)
class Blocked:
    retry_after: int


class LoginLimiter:
    def __init__(
        self,
        redis_url: str | None,
        *,
        max_per_email: int,
        max_per_ip: int,
        window_seconds: int,
        retry_seconds: float = 5.0,
    ) -> None:
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else None
        )
        self._limits = {"email": max_per_email, "ip": max_per_ip}
        self._window = window_seconds
        self._retry_seconds = retry_seconds
        self._down_until = 0.0
        if self._redis is None:
            log.warning("REDIS_URL is not set: login rate limiting is disabled")

    def check(self, email: str, ip: str) -> Blocked | None:
        """A `Blocked` when either the email or the IP has used up its failures in this window."""
        keys = _keys(email, ip)

        def commands(pipe: Pipeline) -> None:
            for key in keys.values():
                pipe.get(key)
                pipe.ttl(key)

        replies = self._run(commands)
        if replies is None:
            return None
        for index, kind in enumerate(keys):
            count, ttl = replies[2 * index], replies[2 * index + 1]
            if count is not None and int(count) >= self._limits[kind]:
                return Blocked(retry_after=max(1, int(ttl)))
        return None

    def record_failure(self, email: str, ip: str) -> None:
        def commands(pipe: Pipeline) -> None:
            for key in _keys(email, ip).values():
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)

        self._run(commands)

    def reset_email(self, email: str) -> None:
        self._run(lambda pipe: pipe.delete(_keys(email, "")["email"]))

    def ping(self) -> None:
        if self._redis is None:
            raise RuntimeError("REDIS_URL is not set")
        self._redis.ping()

    def _run(self, commands: Callable[[Pipeline], Any]) -> list[Any] | None:
        if self._redis is None or time.monotonic() < self._down_until:
            return None
        try:
            pipe = self._redis.pipeline(transaction=False)
            commands(pipe)
            return pipe.execute()
        except REDIS_ERRORS as exc:
            self._down_until = time.monotonic() + self._retry_seconds
            log.warning("redis unreachable (%s): login rate limiting skipped", type(exc).__name__)
            return None


def _keys(email: str, ip: str) -> dict[str, str]:
    return {"email": f"login-failures:email:{email}", "ip": f"login-failures:ip:{ip}"}
