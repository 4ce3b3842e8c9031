"""Reads the next batches on a thread while the current one loads, so the source parse (Python) and
the warehouse merge (server side) overlap instead of adding up."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextmanager
def prefetched(batches: Iterable[Any], depth: int = 2) -> Iterator[Iterator[Any]]:
    """Iterate `batches` at most `depth` ahead on a worker thread; errors surface in the consumer."""
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(batches, buffer, stop), name="etl-prefetch", daemon=True)
    worker.start()
    try:
        yield _consume(buffer)
    finally:
        stop.set()
        _drain(buffer)
        worker.join(timeout=30)


def _produce(batches: Iterable[Any], buffer: queue.Queue[Any], stop: threading.Event) -> None:
    iterator = iter(batches)
    try:
        for batch in iterator:
            if not _put(buffer, batch, stop):
                return
        _put(buffer, _DONE, stop)
    except BaseException as error:
        _put(buffer, _Failure(error), stop)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # ends the source query on this thread, which owns its connection


def _put(buffer: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            buffer.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _consume(buffer: queue.Queue[Any]) -> Iterator[Any]:
    while True:
        item = buffer.get()
        if item is _DONE:
            return
        if isinstance(item, _Failure):
            raise item.error
        yield item


def _drain(buffer: queue.Queue[Any]) -> None:
    while True:
        try:
            buffer.get_nowait()
        except queue.Empty:
            return
