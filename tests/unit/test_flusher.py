"""`common.flusher.Flusher` with its real background thread: what is poked gets written, and an idle
process's thread stops waking."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque

from common.flusher import Flusher

PERIOD = 0.005


class Buffer:
    """A buffer shaped like the access log's: appended on the request path, drained by the flusher."""

    def __init__(self) -> None:
        self.items: deque[int] = deque()
        self.written: list[int] = []
        self.flushes = 0
        self.flusher = Flusher(self.flush, lambda: bool(self.items), PERIOD, "test-flush")

    def add(self, item: int) -> None:
        self.items.append(item)
        self.flusher.poke()

    def flush(self) -> None:
        self.flushes += 1
        while self.items:
            self.written.append(self.items.popleft())


def wait_for(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.001)
    return check()


def test_what_is_poked_is_written_in_the_background() -> None:
    buffer = Buffer()
    for item in range(100):
        buffer.add(item)
    assert wait_for(lambda: len(buffer.written) == 100)
    assert buffer.written == list(range(100))
    assert buffer.flushes < 100, "written in batches, not one flush per item"


def test_an_idle_thread_does_not_wake_until_the_next_poke() -> None:
    buffer = Buffer()
    buffer.add(1)
    assert wait_for(lambda: buffer.written == [1])
    time.sleep(10 * PERIOD)  # the flush that finds nothing, then the wait
    settled = buffer.flushes
    time.sleep(40 * PERIOD)
    assert buffer.flushes == settled, "a periodic thread would have flushed ~40 times meanwhile"
    buffer.add(2)
    assert wait_for(lambda: buffer.written == [1, 2])


def test_no_item_is_left_behind_when_pokes_race_the_thread_going_idle() -> None:
    buffer = Buffer()
    rng = random.Random(7)
    pauses = [[rng.choice((0, 0, PERIOD / 3, PERIOD, 2 * PERIOD)) for _ in range(150)] for _ in range(4)]

    def poke_with_pauses(first: int, waits: list[float]) -> None:
        for offset, pause in enumerate(waits):
            buffer.add(first + offset)
            time.sleep(pause)

    threads = [
        threading.Thread(target=poke_with_pauses, args=(1000 * index, waits))
        for index, waits in enumerate(pauses)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sorted(1000 * index + offset for index in range(4) for offset in range(150))
    assert wait_for(lambda: len(buffer.written) == len(expected))
    assert sorted(buffer.written) == expected


def test_a_forked_child_starts_its_own_thread() -> None:
    buffer = Buffer()
    buffer.add(1)
    assert wait_for(lambda: buffer.written == [1])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only the forking thread exists here, so the item is written by a new one
        ok = False
        try:
            buffer.add(2)
            ok = wait_for(lambda: buffer.written == [1, 2], timeout=3.0)
        finally:
            os.write(write_end, b"1" if ok else b"0")
            os._exit(0)
    os.close(write_end)
    try:
        assert os.read(read_end, 1) == b"1"
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
