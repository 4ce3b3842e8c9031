"""Login limits in Redis, shared by every instance: slow one client down, never lock the owner out.

Three rules, checked in one atomic script before the password is verified; a refusal is an immediate
429 with `Retry-After` (no sleep holds a worker):

- **Per (email, client IP): exponential backoff.** `free_failures` (5) attempts, then each further
  attempt must wait 1, 2, 4 … seconds (capped at `backoff_max_seconds`, 300) after the previous one.
  An attacker hammering someone's email from one address gets ~24 guesses in the first hour and 12 an
  hour after that; the owner, on another address, is not slowed down at all. Forgotten after
  `window_seconds` (1 h) without an attempt; a successful login clears it.
- **Per email, all clients: a ceiling** of `max_per_email` (100) failures per `window_seconds` (1 h),
  far above any human's typos. Trade-off: an attacker with five or more addresses (one alone never
  gets past ~24 an hour) can still lock an account out until the window ends; without the ceiling,
  the same attacker could guess without limit. The owner's successful logins are never counted.
- **Per client IP, all emails: a ceiling** of `max_per_ip` (1000) failures per window against password
  spraying. High because a NAT puts thousands of people behind one address: a few thousand people signing
  in at their busiest hour, one in five mistyping once, stay below it.

Attempts are charged *before* the password is checked and refunded when it was right, so parallel
guesses cannot slip past the counters. Exception: a client that logged in to that email successfully
(a "trusted" pair, for `window_seconds`) is charged only when it fails, so an app logging in many
sessions at once from one address is never throttled; its first failure ends the trust.
Redis down → no limits (logged), logins still work, never a 500.

Kept by hand rather than on the `limits` package (issue #17 item 8, weighed): its strategies count hits in
a window (`hit`, `test`, `clear`, `get_window_stats`), which covers the two ceilings only. The per-pair
backoff (a block that doubles with each failure), the refund when the password was right (`limits` has no
decrement) and the trusted pair would stay in Lua beside it, and the check-and-charge of the three rules
would no longer be one atomic step, so parallel guesses could slip past. One script stays shorter.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import redis

from common.cooldown import Cooldown

log = logging.getLogger(__name__)
REDIS_ERRORS = (redis.RedisError, OSError)
PREFIX = "login-limits"

# KEYS: pair hash, pair block, email ceiling, ip ceiling.  Charges one pair attempt: the block key
# (PX = backoff) then holds the next attempt back; ceiling counters start their window on first use.
_CHARGE = """
local function backoff_ms(n)
  local exponent = math.min(n - tonumber(ARGV[1]), 30)
  return math.min(tonumber(ARGV[2]), 1000 * math.floor(2 ^ exponent))
end
local n = redis.call('HINCRBY', KEYS[1], 'unproven', 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
if n >= tonumber(ARGV[1]) then redis.call('SET', KEYS[2], '1', 'PX', backoff_ms(n)) end
for _, key in ipairs({KEYS[3], KEYS[4]}) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[3]) end
end
"""
# ARGV: free, backoff cap ms, window s, max per email, max per ip.  {0, wait_ms} or {1, charged}.
ATTEMPT = (
    """
local function ceiling_wait(key, limit)
  if tonumber(redis.call('GET', key) or '0') < tonumber(limit) then return 0 end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then return tonumber(ARGV[3]) * 1000 end
  return ttl
end
local wait = math.max(redis.call('PTTL', KEYS[2]), ceiling_wait(KEYS[3], ARGV[4]),
                      ceiling_wait(KEYS[4], ARGV[5]))
if wait > 0 then return {0, wait} end
if redis.call('HGET', KEYS[1], 'trusted') == '1' then return {1, 0} end
"""
    + _CHARGE
    + "return {1, 1}"
)
# A trusted attempt failed: trust ends and the failure is charged now.  ARGV as ATTEMPT.
TRUSTED_FAILURE = "redis.call('HDEL', KEYS[1], 'trusted')\n" + _CHARGE
# The password was never checked: the charge is taken back; the pair's trust and any block stay.
REFUND = """
if tonumber(redis.call('HGET', KEYS[1], 'unproven') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'unproven', -1)
end
for _, key in ipairs({KEYS[3], KEYS[4]}) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
"""
# The password was right: refund a charge, clear the pair, trust it.  ARGV[1]: charged, ARGV[2]: window s.
SUCCESS = """
if ARGV[1] == '1' then
  for _, key in ipairs({KEYS[3], KEYS[4]}) do
    if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'trusted', '1')
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


@dataclass(frozen=True)
class Blocked:
    retry_after: int


@dataclass(frozen=True)
class Attempt:
    """An attempt allowed to check a password; `charged` when it already counts as a failure."""

    email: str
    ip: str
    charged: bool
    tracked: bool = True  # False when Redis could not be asked: nothing to settle


@dataclass(frozen=True)
class LoginLimits:
    free_failures: int = 5
    backoff_max_seconds: int = 300
    max_per_email: int = 100
    max_per_ip: int = 1000
    window_seconds: int = 3600


class LoginLimiter:
    def __init__(self, redis_url: str | None, limits: LoginLimits, *, retry_seconds: float = 5.0) -> None:
        self._redis = (
            redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else None
        )
        self._limits = limits
        self._redis_down = Cooldown(retry_seconds)
        self._scripts = {}
        if self._redis is None:
            log.warning("REDIS_URL is not set: login rate limiting is disabled")
        else:
            self._scripts = {
                name: self._redis.register_script(source)
                for name, source in (
                    ("attempt", ATTEMPT),
                    ("failure", TRUSTED_FAILURE),
                    ("success", SUCCESS),
                    ("refund", REFUND),
                )
            }

    def begin(self, email: str, ip: str) -> Attempt | Blocked:
        """A `Blocked` (with the seconds to wait) or the `Attempt` to settle after the password check."""
        reply = self._call("attempt", email, ip, self._charge_args())
        if reply is None:
            return Attempt(email, ip, charged=False, tracked=False)
        allowed, value = int(reply[0]), int(reply[1])
        if not allowed:
            return Blocked(retry_after=max(1, math.ceil(value / 1000)))
        return Attempt(email, ip, charged=bool(value))

    def failed(self, attempt: Attempt) -> None:
        if attempt.tracked and not attempt.charged:
            self._call("failure", attempt.email, attempt.ip, self._charge_args())

    def succeeded(self, attempt: Attempt) -> None:
        if attempt.tracked:
            charged = "1" if attempt.charged else "0"
            self._call("success", attempt.email, attempt.ip, [charged, self._limits.window_seconds])

    def abandoned(self, attempt: Attempt) -> None:
        """The password was never checked (user_service/passwords.py gave up waiting): no guess to count."""
        if attempt.tracked and attempt.charged:
            self._call("refund", attempt.email, attempt.ip, [])

    def ping(self) -> None:
        if self._redis is None:
            raise RuntimeError("REDIS_URL is not set")
        self._redis.ping()

    def _charge_args(self) -> list[int]:
        limits = self._limits
        return [
            limits.free_failures,
            limits.backoff_max_seconds * 1000,
            limits.window_seconds,
            limits.max_per_email,
            limits.max_per_ip,
        ]

    def _call(self, script: str, email: str, ip: str, args: list[Any]) -> Any:
        if self._redis is None or self._redis_down.active:
            return None
        try:
            return self._scripts[script](keys=limit_keys(email, ip), args=args)
        except REDIS_ERRORS as exc:
            self._redis_down.start()
            log.warning("redis unreachable (%s): login rate limiting skipped", type(exc).__name__)
            return None


def limit_keys(email: str, ip: str) -> list[str]:
    """Pair hash, pair block, email ceiling, ip ceiling (the IP's length keeps the pair key unambiguous)."""
    pair = f"{PREFIX}:pair:{len(ip)}:{ip}:{email}"
    return [pair, f"{pair}:block", f"{PREFIX}:email:{email}", f"{PREFIX}:ip:{ip}"]
