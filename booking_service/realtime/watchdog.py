"""Cuts the connections of a frozen realtime instance, so its clients reconnect to another one at once.

    python -m booking_service.realtime.watchdog          # beside nginx: in its network namespace, as
                                                         # root or with CAP_NET_ADMIN (`ss -K`)
    python -m booking_service.realtime.watchdog --check  # health check: polled within the last 5 s

Every realtime instance bumps a counter in Redis from an OS thread every 0.1 s (`heartbeat.py`). The
watchdog reads them every `POLL_SECONDS`; an instance whose counter has not moved for `SILENT_SECONDS`
while another one's did is frozen (SIGSTOP, a paused VM, a hung host): every TCP connection to its
address in this network namespace — nginx's WebSocket tunnels and long-polls to it — is destroyed
(`ss -K`, SOCK_DESTROY), on every poll while it stays silent. nginx sees the upstream connection fail:
an open tunnel ends (the client reconnects after 0.1 s), a handshake or a poll still in flight is passed
to the next instance (`proxy_next_upstream error`) and the frozen one is skipped for `fail_timeout`.
When its counter moves again it is left alone.

Why not nginx's tunnel read timeout: it cannot tell a frozen instance from a busy one whose Engine.IO
pings run late, and cutting busy ones under load made clients reconnect into an even busier server.
The heartbeat thread ticks while the gevent loop is busy, so only a stopped process goes silent.
Never judged: no instance beating (Redis stalled or unreachable: nothing is known), or an instance
seen for the first time. An address silent for `FORGET_SECONDS` is dropped from the hash.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis

from booking_service.realtime.heartbeat import BEATS_KEY
from common.logs import configure_logging

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1
SILENT_SECONDS = 0.5
FORGET_SECONDS = 600.0
ALIVE_FILE = Path(tempfile.gettempdir()) / "realtime-watchdog.alive"  # touched every second of polling
ALIVE_WITHIN_SECONDS = 5.0


@dataclass
class Beats:
    """What the watchdog knows of each address: its last counter and when (watchdog clock) it moved.

    Silence is only counted over time the watchdog could see: after a read failed (Redis down), every
    address's silence starts again at the first read that works, and an address whose counter vanished
    (Redis restarted empty) is silent from the read that first missed it. Otherwise the instance whose
    heartbeat reconnects a poll later than another's would be judged on its beats from before the
    outage and cut off, alive.
    """

    silent_after: float = SILENT_SECONDS
    last: dict[str, tuple[bytes | None, float]] = field(default_factory=dict)
    blind: bool = False  # the last read failed

    def update(self, counters: Mapping[bytes, bytes], now: float) -> None:
        seen = set()
        for raw, counter in counters.items():
            address = raw.decode()
            seen.add(address)
            known = self.last.get(address)
            if known is None or known[0] != counter or self.blind:
                self.last[address] = (counter, now)
        for address, (counter, _) in list(self.last.items()):
            if address not in seen and (counter is not None or self.blind):
                self.last[address] = (None, now)
        self.blind = False

    def lost_sight(self) -> None:
        self.blind = True

    def frozen(self, now: float) -> list[str]:
        """Addresses silent for `silent_after`, judged only while some instance beats (moved within half
        that)."""
        if not any(now - moved < self.silent_after / 2 for _, moved in self.last.values()):
            return []
        return sorted(a for a, (_, moved) in self.last.items() if now - moved >= self.silent_after)

    def forgotten(self, now: float, after: float = FORGET_SECONDS) -> list[str]:
        gone = [a for a, (_, moved) in self.last.items() if now - moved >= after]
        for address in gone:
            del self.last[address]
        return gone


def cut_connections(address: str) -> int:
    """Destroys every TCP connection to `address` (host:port) in this network namespace; returns how many."""
    host, _, port = address.rpartition(":")
    argv = ["ss", "-K", "-H", "-t", "dst", host.strip("[]"), "dport", "=", f":{port}"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=5, check=False)
    return len([line for line in result.stdout.splitlines() if line.strip()])


class Watchdog:
    def __init__(
        self,
        client: redis.Redis,
        cut: Callable[[str], int] = cut_connections,
        silent_after: float = SILENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = client
        self._cut = cut
        self._clock = clock
        self.beats = Beats(silent_after)
        self.cutting: set[str] = set()

    def poll(self) -> None:
        try:
            counters = self._redis.hgetall(BEATS_KEY)
        except redis.RedisError as exc:
            log.warning("realtime watchdog cannot read heartbeats (%s): judging nothing", type(exc).__name__)
            self.beats.lost_sight()
            return
        now = self._clock()
        self.beats.update(counters, now)
        frozen = set(self.beats.frozen(now))
        for address in frozen:
            cut = self._cut(address)
            if address not in self.cutting or cut:
                log.warning("realtime instance %s silent: %d connections to it cut", address, cut)
        for address in self.cutting - frozen:
            log.info("realtime instance %s beats again", address)
        self.cutting = frozen
        gone = self.beats.forgotten(now)
        if gone:
            self._redis.hdel(BEATS_KEY, *gone)

    def run_forever(self, interval: float = POLL_SECONDS) -> None:
        touched = 0.0
        while True:
            started = self._clock()
            self.poll()
            if started - touched >= 1.0:
                ALIVE_FILE.touch()
                touched = started
            time.sleep(max(0.0, interval - (self._clock() - started)))


def healthy() -> bool:
    """The container health check: the loop has polled within the last few seconds."""
    try:
        return time.time() - ALIVE_FILE.stat().st_mtime < ALIVE_WITHIN_SECONDS
    except OSError:
        return False


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if healthy() else 1)
    from booking_service.realtime.settings import RealtimeSettings

    settings = RealtimeSettings()
    configure_logging("realtime_watchdog", settings.log_level)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    log.info("realtime watchdog: cutting connections to instances silent for %ss", SILENT_SECONDS)
    Watchdog(client).run_forever()


if __name__ == "__main__":
    main()
