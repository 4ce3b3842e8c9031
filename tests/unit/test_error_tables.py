"""Each service's one error table (`api.ERRORS`) answers every domain exception its rules can raise, and a
throttled login's refusal reaches the client as the seed's 429 with `Retry-After`. No servers: the
login limiter is a stand-in that refuses, the user database an object that fails the test if touched."""

from __future__ import annotations

import dataclasses

import pytest

from booking_service import api as booking_api
from booking_service import errors as booking_errors
from tests.support.user_fakes import offline_settings, private_pem
from user_service import api as user_api
from user_service import create_app, services
from user_service import errors as user_errors
from user_service.limiter import Blocked
from user_service.models import Credentials

INTERNAL = {booking_errors.IdempotencyKeyTaken}  # caught by the booking rules themselves, never answered


@pytest.mark.parametrize(
    ("module", "table"),
    [(booking_errors, booking_api.ERRORS), (user_errors, user_api.ERRORS)],
    ids=["booking", "user"],
)
def test_every_domain_exception_has_one_answer(module, table) -> None:
    raised = {
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, module.DomainError)
        and value is not module.DomainError
    }
    assert raised - INTERNAL == set(table)
    assert all(400 <= status < 500 and key in ("error", "message") for status, key, _ in table.values())


class RefusingLimiter:
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after

    def begin(self, email: str, ip: str) -> Blocked:
        return Blocked(self.retry_after)

    def ping(self) -> None:
        return None


class UntouchableDatabase:
    def __getattr__(self, name: str):
        raise AssertionError(f"a throttled login must not reach the database ({name})")


def test_a_throttled_login_is_refused_before_the_database_is_asked() -> None:
    deps = services.UserDeps(UntouchableDatabase(), None, None, RefusingLimiter(7))  # type: ignore[arg-type]
    with pytest.raises(user_errors.LoginThrottled) as refused:
        services.login(deps, Credentials("ann@example.com", "whatever1"), "192.0.2.7")
    assert refused.value.retry_after == 7


def test_a_throttled_login_answers_429_with_retry_after() -> None:
    app = create_app(offline_settings(jwt_private_key=private_pem()))
    deps = app.extensions["user_service"]
    app.extensions["user_service"] = dataclasses.replace(
        deps, uow=UntouchableDatabase(), limiter=RefusingLimiter(7)
    )
    response = app.test_client().post(
        "/api/users/login", json={"email": "ann@example.com", "password": "x" * 8}
    )
    assert response.status_code == 429
    assert response.get_json() == {"error": "Too many failed login attempts, try again later"}
    assert response.headers["Retry-After"] == "7"
