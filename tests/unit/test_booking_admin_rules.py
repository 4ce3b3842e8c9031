"""An admin may book for someone else only when that someone is a registered user (booking_service asks
the user directory user_service keeps in Redis). Fake directory, no database: the rule runs first."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine

from booking_service.services import NOT_A_USER, BookingService
from common.auth import Identity
from common.errors import BadRequest, Forbidden

SOON = dt.date.today() + dt.timedelta(days=10)
BODY = {
    "userId": 42,
    "propertyId": 1,
    "startDate": SOON.isoformat(),
    "endDate": (SOON + dt.timedelta(1)).isoformat(),
}


class Directory:
    def __init__(self, known: bool | None) -> None:
        self.known = known
        self.asked: list[int] = []

    def exists(self, user_id: int) -> bool | None:
        self.asked.append(user_id)
        return self.known


def service(directory: Directory) -> BookingService:
    return BookingService(create_engine("sqlite://"), users=directory)


def test_admin_booking_for_an_unknown_user_id_is_refused_before_any_query() -> None:
    directory = Directory(known=False)
    with pytest.raises(BadRequest, match=NOT_A_USER):
        service(directory).book(Identity(1, "admin"), BODY, None)
    assert directory.asked == [42]


def test_a_user_booking_for_someone_else_is_403_and_the_directory_is_not_asked() -> None:
    directory = Directory(known=True)
    with pytest.raises(Forbidden):
        service(directory).book(Identity(7, "user"), BODY, None)
    assert directory.asked == []
