"""Cache-aside for property reads on Redis Cluster, skipped (never failing a request) when Redis is down."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry

from booking_service import metrics
from common.cooldown import Cooldown

log = logging.getLogger(__name__)

GENERATION_KEY = "hrp:props:generation"
# Short socket timeouts: a dead master must cost a request milliseconds, not seconds.
CLIENT_OPTIONS: dict[str, Any] = {
    "socket_timeout": 0.25,
    "socket_connect_timeout": 0.25,
    "require_full_coverage": False,
    "retry": Retry(NoBackoff(), 1),
}

ClientFactory = Callable[[], RedisCluster]


def cluster_client_factory(nodes: list[tuple[str, int]], password: str | None = None) -> ClientFactory:
    def build() -> RedisCluster:
        startup = [ClusterNode(host, port) for host, port in nodes]
        return RedisCluster(startup_nodes=startup, password=password, decode_responses=True, **CLIENT_OPTIONS)

    return build


class PropertyCache:
    """JSON values in Redis Cluster; after any Redis error the cache is bypassed for `cooldown` seconds."""

    def __init__(self, factory: ClientFactory | None, ttl_seconds: int, cooldown: float = 1.0) -> None:
        self._factory = factory
        self._ttl = ttl_seconds
        self._client: RedisCluster | None = None
        self._bypass = Cooldown(cooldown)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._factory is not None and self._ttl > 0

    def generation(self) -> str | None:
        """The current cache generation, read before the database; None when the cache is unusable.

        Writers bump it after commit, so an entry computed from pre-change data is stored under an
        old generation that no reader asks for any more: no stale read survives an invalidation.
        """
        return self._call(lambda c: c.get(GENERATION_KEY) or "0")

    def get_list(self, generation: str | None, variant: str) -> bytes | None:
        """The encoded JSON of a cached list, exactly as stored (no decode on the hot path)."""
        return self._lookup(generation, lambda c, g: _encoded(c.hget(list_key(g), variant)))

    def set_list(self, generation: str | None, variant: str, value: bytes) -> None:
        def write(client: RedisCluster) -> None:
            client.hset(list_key(generation), variant, value)
            client.expire(list_key(generation), self._ttl, nx=True)

        if generation is not None:
            self._call(write)

    def get_item(self, generation: str | None, property_id: int) -> bytes | None:
        return self._lookup(generation, lambda c, g: _encoded(c.get(item_key(g, property_id))))

    def set_item(self, generation: str | None, property_id: int, value: bytes) -> None:
        if generation is not None:
            self._call(lambda c: c.set(item_key(generation, property_id), value, ex=self._ttl))

    def invalidate(self) -> None:
        """Retires every cached list and property at once; if Redis is unreachable the TTL bounds staleness."""
        # Tried even while the circuit is open: a skipped bump would leave stale entries until their TTL.
        if self._call(lambda c: c.incr(GENERATION_KEY), force=True) is None and self.enabled:
            log.error("cache invalidation failed; cached properties may be stale for %ss", self._ttl)

    def ping(self) -> None:
        """Readiness probe: raises when the cluster does not answer."""
        if not self.enabled:
            raise RuntimeError("cache disabled")
        self._connected().ping()

    def _lookup(
        self, generation: str | None, read: Callable[[RedisCluster, str], bytes | None]
    ) -> bytes | None:
        """A read counted as a hit, a miss or a bypass (no generation: the cache is unusable)."""
        if generation is None or not self.enabled or self._bypass.active:
            metrics.redis_bypass()
            return None
        try:
            value = read(self._connected(), generation)
        except Exception as exc:  # as in `_call`: a cache problem never fails the request
            self._trip(exc)
            metrics.redis_bypass()
            return None
        (metrics.redis_miss if value is None else metrics.redis_hit)()
        return value

    def _call(self, operation: Callable[[RedisCluster], Any], *, force: bool = False) -> Any | None:
        if not self.enabled or (self._bypass.active and not force):
            return None
        try:
            return operation(self._connected())
        # Not only RedisError: redis-py can raise AttributeError/IndexError while another thread
        # re-reads the slot map during a failover. A cache problem must never fail the request.
        except Exception as exc:
            self._trip(exc)
            return None

    def _connected(self) -> RedisCluster:
        with self._lock:
            if self._client is None:
                assert self._factory is not None
                self._client = self._factory()
            return self._client

    def _trip(self, exc: Exception) -> None:
        log.warning("redis cluster cache bypassed for %.1fs: %s", self._bypass.seconds, type(exc).__name__)
        self._bypass.start()
        # Rebuild from the startup nodes next time; the old client is not closed because other
        # threads may still be inside it (its sockets go with it when it is collected).
        with self._lock:
            self._client = None


def list_key(generation: str) -> str:
    return f"hrp:props:lists:g{generation}"


def item_key(generation: str, property_id: int) -> str:
    return f"hrp:props:item:g{generation}:{property_id}"


def _encoded(raw: str | None) -> bytes | None:
    return None if raw is None else raw.encode()
