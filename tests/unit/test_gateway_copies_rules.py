"""Which answers the gateway may keep as its own copies (gateway/copies.py): only what the service marked
as retired by an announced change, a 200, of known and bounded length; only GETs to booking_service; a
reader is a user id with a role."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from common.identity import Identity
from gateway.copies import LARGEST_COPY, MAX_NAMED_KEYS, AnswerCopies, copyable, reader_of


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(
        default_factory=lambda: {"x-near-copy": "properties", "content-length": "2"}
    )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@pytest.mark.parametrize("mark", ["properties", "booking 42", "booking guest:7"])
def test_a_marked_ok_answer_of_bounded_length_is_copyable(mark: str) -> None:
    assert copyable(Answer(headers={"x-near-copy": mark, "content-length": "2"}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answer",
    [
        Answer(status=404),
        Answer(status=201),
        Answer(headers={"content-length": "2"}),
        Answer(headers={"x-near-copy": "bookings", "content-length": "2"}),
        Answer(headers={"x-near-copy": "booking", "content-length": "2"}),
        Answer(headers={"x-near-copy": "properties"}),  # chunked: length unknown
        Answer(headers={"x-near-copy": "properties", "content-length": str(LARGEST_COPY + 1)}),
        Answer(headers={"x-near-copy": "properties", "content-length": "-1"}),
    ],
)
def test_anything_else_is_relayed_and_not_kept(answer: Answer) -> None:
    assert not copyable(answer)  # type: ignore[arg-type]


def test_only_gets_to_booking_service_are_covered_and_only_with_redis() -> None:
    copies = AnswerCopies("redis://127.0.0.1:1/0")
    assert copies.covers("GET", "booking_service")
    assert not copies.covers("HEAD", "booking_service")
    assert not copies.covers("POST", "booking_service")
    assert not copies.covers("GET", "user_service")
    assert not AnswerCopies(None).covers("GET", "booking_service")


def test_a_reader_is_the_user_with_their_role() -> None:
    assert reader_of(None) is None
    assert reader_of(Identity(7, "user")) == "7:user"
    assert reader_of(Identity(7, "admin")) != reader_of(Identity(7, "user"))


def recording_retirements() -> tuple[AnswerCopies, list[str]]:
    """Copies whose reader retirements are listed (which keys, not the cache's work)."""
    copies = AnswerCopies("redis://127.0.0.1:1/0")
    retired: list[str] = []
    copies._readers.retire = retired.append  # type: ignore[method-assign]
    return copies, retired


def written(status: int, named: str | None = None) -> Answer:
    """A write's answer; `named`: the X-Near-Retired header, if any."""
    return Answer(status=status, headers={} if named is None else {"x-near-retired": named})


def test_only_a_successful_write_to_booking_service_retires_a_readers_booking_copies() -> None:
    copies, retired = recording_retirements()
    for service, status in (("user_service", 200), ("booking_service", 409), ("booking_service", 201)):
        copies._remember("7:user", "/api/bookings/mine", "guest:7")
        copies.after_write("POST", service, "/api/x", "7:user", written(status))  # type: ignore[arg-type]
    assert retired == ["guest:7"]


def test_a_write_retires_the_copies_its_answer_names_else_every_copy_of_the_writers() -> None:
    copies, retired = recording_retirements()
    copies._remember("7:user", "/api/bookings/booking/5", "5")
    copies._remember("7:user", "/api/bookings/mine", "guest:7")
    book = written(201, "guest:7")
    copies.after_write("POST", "booking_service", "/api/bookings/book", "7:user", book)  # type: ignore[arg-type]
    assert retired == ["guest:7"]
    retired.clear()
    cancel = written(200, "5 guest:7")
    copies.after_write("DELETE", "booking_service", "/api/cancel-booking/5", "9:host", cancel)  # type: ignore[arg-type]
    assert retired == ["5", "guest:7"]  # a host's cancellation: the guest's copies, not the host's
    retired.clear()
    too_many = " ".join(f"guest:{n}" for n in range(MAX_NAMED_KEYS + 1))
    for named in (None, "", too_many):
        copies._remember("7:user", "/api/bookings/booking/5", "5")
        copies._remember("7:user", "/api/bookings/mine", "guest:7")
        answer = written(201, named)
        copies.after_write("POST", "booking_service", "/api/bookings/book", "7:user", answer)  # type: ignore[arg-type]
        assert sorted(retired) == ["5", "guest:7"], named
        retired.clear()
