"""infra/serve.py's `whole_answers`: small answers of known length reach granian as a list (sent from the
request's thread in one write), everything else passes through untouched. Plain WSGI callables, no server."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from infra.serve import WHOLE_LIMIT, whole_answers


class Chunks:
    """A body iterable with `close`, as Flask's ClosingIterator is."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts, self.closed = parts, False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        self.closed = True


def app_answering(body: Iterable[bytes], headers: list[tuple[str, str]]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
        start_response("200 OK", headers)
        return body

    return app


def call(app: Callable[..., Iterable[bytes]]) -> tuple[Iterable[bytes], list]:
    started: list = []
    return app({}, lambda status, headers, *exc: started.append((status, headers))), started


def test_a_small_sized_answer_is_handed_over_whole_and_its_iterable_closed() -> None:
    body = Chunks([b'{"a":', b"1}"])
    answer, started = call(whole_answers(app_answering(body, [("Content-Length", "7")])))
    assert answer == [b'{"a":', b"1}"]
    assert body.closed
    assert started == [("200 OK", [("Content-Length", "7")])]


def test_an_answer_without_a_length_is_streamed_as_it_came() -> None:
    body = Chunks([b"a", b"b"])
    answer, _ = call(whole_answers(app_answering(body, [("Content-Type", "text/plain")])))
    assert answer is body
    assert not body.closed  # the server closes it after streaming


def test_an_answer_above_the_limit_is_streamed_as_it_came() -> None:
    body = Chunks([b"x"])
    answer, _ = call(whole_answers(app_answering(body, [("content-length", str(WHOLE_LIMIT + 1))])))
    assert answer is body


def test_a_list_is_returned_as_is() -> None:
    body = [b"ok"]
    answer, _ = call(whole_answers(app_answering(body, [("Content-Length", "2")])))
    assert answer is body
