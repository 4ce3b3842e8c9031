"""The ETL's batch prefetcher: order kept, errors surface in the consumer, early exit stops the source."""

from __future__ import annotations

import threading

import pytest

from etl_service.prefetch import prefetched


def test_batches_arrive_in_order_and_complete():
    with prefetched(iter([[1], [2], [3]])) as ready:
        assert list(ready) == [[1], [2], [3]]


def test_a_source_error_is_raised_in_the_consumer_after_the_good_batches():
    def batches():
        yield [1]
        raise ConnectionError("source went away")

    seen = []
    with pytest.raises(ConnectionError, match="source went away"), prefetched(batches()) as ready:
        for batch in ready:
            seen.append(batch)
    assert seen == [[1]]


def test_leaving_early_closes_the_source_on_its_own_thread():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield [n]
        finally:
            closed.set()

    with pytest.raises(RuntimeError), prefetched(endless(), depth=1) as ready:
        for batch in ready:
            if batch == [3]:
                raise RuntimeError("warehouse failed")
    assert closed.wait(5)
