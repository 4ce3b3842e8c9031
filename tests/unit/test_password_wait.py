"""How long a request waits for the password threads (user_service/passwords.py), and what a login that
gave up leaves behind (no servers: fakes for the stores, real argon2 at test parameters)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.support.user_fakes import FAST_ARGON2, FAST_HASHES, FakeLimiter, FakeUnitOfWork, private_pem
from user_service import errors, services
from user_service.models import Credentials, Registration
from user_service.passwords import Passwords
from user_service.tokens import TokenSigner


def signer() -> TokenSigner:
    return TokenSigner(private_pem(), issuer="i", key_id="k", ttl_seconds=60)


class KeptFutures(ThreadPoolExecutor):
    """One thread; keeps every future it hands out."""

    def __init__(self) -> None:
        super().__init__(1)
        self.futures: list[Future] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        future = super().submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future


def test_a_check_still_queued_when_the_wait_ends_is_busy_and_never_runs() -> None:
    runner, release = KeptFutures(), threading.Event()
    runner.submit(release.wait)  # the only thread is taken
    passwords = Passwords(**FAST_ARGON2, runner=runner, wait_seconds=0.05)
    started = time.monotonic()
    with pytest.raises(errors.PasswordChecksBusy) as busy:
        passwords.verify(None, "pw")
    assert time.monotonic() - started < 1 and busy.value.retry_after == 1
    release.set()
    runner.shutdown(wait=True)  # a check left in the queue would run here: it was dropped instead
    assert runner.futures[1].cancelled()


def test_a_check_done_within_the_wait_answers_as_usual() -> None:
    passwords = Passwords(**FAST_ARGON2, wait_seconds=5)
    assert passwords.verify(passwords.hash("pw"), "pw")


class BusyPasswords(Passwords):
    """Checks answer at once; every new hash finds the threads busy."""

    def __init__(self, *, verify_busy: bool) -> None:
        super().__init__(**FAST_ARGON2)
        self.verify_busy = verify_busy

    def verify(self, password_hash: str | None, password: str) -> bool:
        if self.verify_busy:
            raise errors.PasswordChecksBusy
        return super().verify(password_hash, password)

    def hash(self, password: str) -> str:
        raise errors.PasswordChecksBusy

    def needs_rehash(self, password_hash: str) -> bool:
        return True


def registered(uow: FakeUnitOfWork) -> None:
    services.register(services.UserDeps(uow, FAST_HASHES, signer(), FakeLimiter()),
                      Registration("ann", "ann@example.com", "first password"))  # fmt: skip


def test_a_login_that_gave_up_waiting_is_given_back_to_the_limiter_not_counted() -> None:
    uow, limiter = FakeUnitOfWork(), FakeLimiter()
    registered(uow)
    deps = services.UserDeps(uow, BusyPasswords(verify_busy=True), signer(), limiter)
    with pytest.raises(errors.PasswordChecksBusy):
        services.login(deps, Credentials("ann@example.com", "first password"), "192.0.2.1")
    assert limiter.settled == [("abandoned", "ann@example.com", "192.0.2.1")]


def test_a_verified_login_is_not_refused_when_only_its_rehash_finds_the_threads_busy() -> None:
    uow, limiter = FakeUnitOfWork(), FakeLimiter()
    registered(uow)
    before = uow.users.by_email("ann@example.com")
    deps = services.UserDeps(uow, BusyPasswords(verify_busy=False), signer(), limiter)
    assert services.login(deps, Credentials("ann@example.com", "first password"), "192.0.2.1")
    after = uow.users.by_email("ann@example.com")
    assert after.password_hash == before.password_hash  # rehashed at a later login
    assert limiter.settled == [("succeeded", "ann@example.com", "192.0.2.1")]
