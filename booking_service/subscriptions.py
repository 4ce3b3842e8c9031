"""Per-user property subscriptions kept in the standalone Redis, so every realtime instance sees them.

One set per user (`realtime:subs:{user_id}`) holding property ids, and a hash beside it
(`realtime:since:{user_id}`) of when each watch began (epoch ms: the inbox starts there); subscribing is
one atomic Lua call that also enforces the per-user cap.
"""

from __future__ import annotations

import enum
import time

import redis

KEY_PREFIX = "realtime:subs:"
SINCE_PREFIX = "realtime:since:"

# KEYS[1] = the user's set, KEYS[2] = when each watch began; ARGV[1] = property id, ARGV[2] = cap,
# ARGV[3] = now (epoch ms). Returns 1 added, 0 already, -1 full.
_SUBSCRIBE_SCRIPT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""


class Subscribe(enum.Enum):
    ADDED = 1
    ALREADY = 0
    LIMIT_REACHED = -1


def connect_redis(url: str) -> redis.Redis:
    """A client with short timeouts; it connects on first use, not here."""
    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30)


class SubscriptionStore:
    def __init__(self, client: redis.Redis, max_per_user: int = 100) -> None:
        self._redis = client
        self._max = max_per_user
        self._subscribe = client.register_script(_SUBSCRIBE_SCRIPT)

    @staticmethod
    def key(user_id: int) -> str:
        return f"{KEY_PREFIX}{user_id}"

    def subscribe(self, user_id: int, property_id: int) -> Subscribe:
        now_ms = int(time.time() * 1000)
        keys = [self.key(user_id), f"{SINCE_PREFIX}{user_id}"]
        result = self._subscribe(keys=keys, args=[property_id, self._max, now_ms])
        return Subscribe(int(result))

    def unsubscribe(self, user_id: int, property_id: int) -> bool:
        """The set and the hash change together (MULTI/EXEC), in one round trip."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.srem(self.key(user_id), property_id)
        pipe.hdel(f"{SINCE_PREFIX}{user_id}", property_id)
        removed, _ = pipe.execute()
        return bool(removed)

    def watches(self, user_id: int) -> dict[int, int]:
        """The properties the user watches, each with when the watch began (epoch ms; 0 for a watch older
        than that record), in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.smembers(self.key(user_id))
        pipe.hgetall(f"{SINCE_PREFIX}{user_id}")
        members, began = pipe.execute()
        since = {int(p): int(ms) for p, ms in began.items()}
        return {member: since.get(member, 0) for member in map(int, members)}

    def is_subscribed(self, user_id: int, property_id: int) -> bool:
        return bool(self._redis.sismember(self.key(user_id), property_id))

    def properties_of(self, user_id: int) -> set[int]:
        return {int(member) for member in self._redis.smembers(self.key(user_id))}

    def ping(self) -> None:
        self._redis.ping()
