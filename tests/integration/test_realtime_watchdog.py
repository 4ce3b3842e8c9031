"""The realtime heartbeat and watchdog against the session stack's real Redis and real sockets: an
instance whose gevent loop is busy keeps beating and keeps its connections; a frozen one (SIGSTOP) goes
silent and every connection to it is destroyed within a second, while the other instance beats on.

Each "instance" is a child process like the realtime worker: gevent monkey-patched, a listening socket,
the heartbeat thread of `booking_service.realtime.heartbeat`; told over stdin to hog its loop. The watchdog
runs in this process, cutting with `ss -K` (root here, as in `make run`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from booking_service.realtime.heartbeat import BEATS_KEY
from booking_service.realtime.watchdog import SILENT_SECONDS, Watchdog

pytestmark = pytest.mark.timeout(60)
INSTANCE = """
from gevent import monkey; monkey.patch_all()
import socket, sys, time
from booking_service.realtime.heartbeat import start_heartbeat
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(16)
port = listener.getsockname()[1]
start_heartbeat(sys.argv[1], f"127.0.0.1:{port}")
print(port, flush=True)
for line in sys.stdin:  # "busy S": hold the gevent loop (and the GIL between switches) for S seconds
    until = time.monotonic() + float(line.split()[1])
    while time.monotonic() < until:
        sum(range(1000))
    print("done", flush=True)
"""


class Instance:
    def __init__(self, redis_url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", INSTANCE, redis_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=os.getcwd(),
        )
        self.address = f"127.0.0.1:{int(self.proc.stdout.readline())}"  # type: ignore[union-attr]

    def connect(self) -> socket.socket:
        host, port = self.address.split(":")
        return socket.create_connection((host, int(port)), timeout=5)

    def busy(self, seconds: float) -> None:
        self.proc.stdin.write(f"busy {seconds}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def redis_url(stack) -> str:
    """A database of its own: the stack's realtime instances beat into 0, where its watchdog looks."""
    return stack.env["REDIS_URL"].rsplit("/", 1)[0] + "/5"


@pytest.fixture
def beats(redis_url) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def instances(redis_url, beats) -> Iterator[list[Instance]]:
    started = [Instance(redis_url) for _ in range(2)]
    yield started
    for instance in started:
        instance.stop()
    beats.hdel(BEATS_KEY, *(instance.address for instance in started))


def watch(watchdog: Watchdog, seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        watchdog.poll()
        time.sleep(0.1)


def is_cut(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:  # ECONNABORTED: destroyed by ss -K
        return True
    finally:
        connection.setblocking(True)


def counter(beats: redis.Redis, instance: Instance) -> int:
    return int(beats.hget(BEATS_KEY, instance.address) or 0)


def test_a_busy_instance_keeps_beating_and_keeps_its_connections(beats, instances) -> None:
    busy, _beating = instances
    connection = busy.connect()
    watchdog = Watchdog(beats)
    watch(watchdog, 0.3)
    before = counter(beats, busy)
    busy.busy(2.0)
    watch(watchdog, 2.0)
    assert counter(beats, busy) - before >= 10, "the heartbeat thread stalled while the loop was busy"
    assert not is_cut(connection)
    assert watchdog.cutting == set()
    connection.close()


def test_a_frozen_instance_is_cut_off_within_a_second_and_left_alone_once_it_beats_again(
    beats, instances
) -> None:
    frozen, other = instances
    connection, spared = frozen.connect(), other.connect()
    watchdog = Watchdog(beats)
    watch(watchdog, 0.3)
    frozen.proc.send_signal(signal.SIGSTOP)
    frozen_at, cut_after = time.monotonic(), None
    while time.monotonic() - frozen_at < 3 and cut_after is None:
        watchdog.poll()
        if is_cut(connection):
            cut_after = time.monotonic() - frozen_at
        time.sleep(0.05)
    # beats come every 0.1 s: the last one may precede the freeze by that much
    assert cut_after is not None and SILENT_SECONDS - 0.1 <= cut_after <= 1.0, cut_after
    assert watchdog.cutting == {frozen.address}
    assert not is_cut(spared), "the beating instance's connection was cut"
    frozen.proc.send_signal(signal.SIGCONT)
    watch(watchdog, 0.5)
    assert watchdog.cutting == set()
    late = frozen.connect()
    watch(watchdog, 0.5)
    assert not is_cut(late)
    for sock in (connection, spared, late):
        sock.close()


def test_nothing_is_judged_while_no_instance_beats(beats, instances) -> None:
    """As when Redis stalls, or every instance is paused with the machine: nothing tells which is frozen."""
    for instance in instances:
        instance.proc.send_signal(signal.SIGSTOP)
    connections = [instance.connect() for instance in instances]
    watchdog = Watchdog(beats)
    watch(watchdog, 1.5)
    assert watchdog.cutting == set()
    assert not any(is_cut(connection) for connection in connections)
