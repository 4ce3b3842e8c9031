"""Unit tests of the user service's service layer (sign-up, login, roles, become-host, passwords, account
deletion) on the in-memory unit of work of `tests/support/user_fakes.py`. No servers.

The limiter's own arithmetic (backoff, ceilings) runs in Lua inside Redis and is tested on a real one in
`tests/integration/test_user_login_limits.py`; here, how login settles its attempts with it.
"""

from __future__ import annotations

import jwt
import pytest

from common.identity import Identity
from tests.support.user_fakes import (
    FAST_HASHES,
    FakeDirectory,
    FakeLimiter,
    FakeMailer,
    FakeUnitOfWork,
    FakeVersions,
    private_pem,
)
from user_service import accounts, errors, services
from user_service.models import Credentials, PasswordChange, Registration, ResetConfirmation
from user_service.passwords import Passwords
from user_service.resets import ResetTokens
from user_service.tokens import TokenSigner


@pytest.fixture(scope="module")
def signer() -> TokenSigner:
    return TokenSigner(private_pem(), issuer="i", key_id="k", ttl_seconds=600)


@pytest.fixture
def deps(signer: TokenSigner) -> accounts.AccountDeps:
    users = services.UserDeps(
        FakeUnitOfWork(), FAST_HASHES, signer, FakeLimiter(), FakeVersions(), FakeDirectory()
    )
    return accounts.AccountDeps(users, FakeMailer(), ResetTokens("s" * 32, 900), "http://x/")  # type: ignore[arg-type]


def sign_up(deps: accounts.AccountDeps, name: str = "ann", role: str = "user") -> Identity:
    services.register(deps.users, Registration(name, f"{name}@example.com", "first password"))
    account = deps.users.uow.users.by_email(f"{name}@example.com")
    assert account is not None
    if role != "user":
        services.change_role(deps.users, account.id, role)
    return Identity(account.id, role, deps.users.uow.users.get(account.id).token_version)  # type: ignore[union-attr]


def claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def log_in(deps: accounts.AccountDeps, name: str, password: str) -> str:
    return services.login(deps.users, Credentials(f"{name}@example.com", password), "192.0.2.1")


def test_registration_hashes_the_password_and_lists_the_user_in_the_directory(deps) -> None:
    ann = sign_up(deps)
    stored = deps.users.uow.users.get(ann.user_id)
    assert stored.role == "user" and stored.password_hash.startswith("$argon2id$")
    assert deps.users.directory.ids == {ann.user_id}


@pytest.mark.parametrize(
    "other", [Registration("bob", "ann@example.com", "x" * 8), Registration("ANN", "b@example.com", "x" * 8)]
)
def test_a_taken_email_or_username_in_any_case_is_refused(deps, other: Registration) -> None:
    sign_up(deps)
    with pytest.raises(errors.UserExists):
        services.register(deps.users, other)
    assert len(deps.users.uow.users.rows) == 1 and len(deps.users.directory.ids) == 1


def test_login_signs_the_role_and_token_version_and_settles_the_attempt(deps) -> None:
    ann = sign_up(deps, role="host")
    token = log_in(deps, "ann", "first password")
    assert (claims(token)["sub"], claims(token)["role"], claims(token)["tv"]) == (str(ann.user_id), "host", 1)
    assert deps.users.limiter.settled == [("succeeded", "ann@example.com", "192.0.2.1")]


@pytest.mark.parametrize(("name", "password"), [("ann", "wrong password"), ("nobody", "first password")])
def test_a_wrong_password_and_an_unknown_email_fail_alike_and_count(deps, name: str, password: str) -> None:
    sign_up(deps)
    with pytest.raises(errors.InvalidCredentials):
        log_in(deps, name, password)
    assert deps.users.limiter.settled == [("failed", f"{name}@example.com", "192.0.2.1")]


def test_a_throttled_login_is_refused_with_the_wait_even_with_the_right_password(deps) -> None:
    sign_up(deps)
    deps.users.limiter.blocked_for = 12
    with pytest.raises(errors.LoginThrottled) as refused:
        log_in(deps, "ann", "first password")
    assert refused.value.retry_after == 12 and deps.users.limiter.settled == []


def test_login_rehashes_a_password_hashed_with_weaker_parameters(deps, signer) -> None:
    ann = sign_up(deps)
    stronger = services.UserDeps(
        deps.users.uow, Passwords(time_cost=2, memory_kib=2048), signer, FakeLimiter()
    )
    services.login(stronger, Credentials("ann@example.com", "first password"), "192.0.2.1")
    rehashed = deps.users.uow.users.get(ann.user_id)
    assert "m=2048,t=2" in rehashed.password_hash and rehashed.token_version == ann.token_version


def test_a_role_change_ends_the_sessions_carrying_the_old_role(deps) -> None:
    ann = sign_up(deps)
    changed = services.change_role(deps.users, ann.user_id, "admin")
    assert changed == {"id": ann.user_id, "username": "ann", "email": "ann@example.com", "role": "admin"}
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1
    with pytest.raises(errors.InvalidSession):
        services.refresh(deps.users, ann)
    fresh = Identity(ann.user_id, "admin", ann.token_version + 1)
    assert claims(services.refresh(deps.users, fresh))["role"] == "admin"
    with pytest.raises(errors.UserNotFound):
        services.change_role(deps.users, 999, "host")


def test_logout_ends_every_session(deps) -> None:
    ann = sign_up(deps)
    services.logout(deps.users, ann)
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1
    with pytest.raises(errors.InvalidSession):
        services.refresh(deps.users, ann)


@pytest.mark.parametrize(("before", "after"), [("user", "host"), ("host", "host"), ("admin", "admin")])
def test_becoming_a_host_promotes_only_a_user_and_reissues_the_token(deps, before: str, after: str) -> None:
    ann = sign_up(deps, role=before)
    role, token = accounts.become_host(deps, ann)
    assert role == after and deps.users.uow.users.get(ann.user_id).role == after
    assert (claims(token)["role"], claims(token)["tv"]) == (after, ann.token_version + 1)
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1


def test_a_password_change_needs_the_current_password_and_ends_other_sessions(deps) -> None:
    ann = sign_up(deps)
    with pytest.raises(errors.WrongPassword):
        accounts.change_password(deps, ann, PasswordChange("not it", "second password"))
    assert deps.users.uow.users.get(ann.user_id).token_version == ann.token_version
    token = accounts.change_password(deps, ann, PasswordChange("first password", "second password"))
    assert claims(token)["tv"] == ann.token_version + 1
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1
    log_in(deps, "ann", "second password")
    with pytest.raises(errors.InvalidCredentials):
        log_in(deps, "ann", "first password")


def test_a_reset_link_is_mailed_only_to_an_account_and_works_once(deps) -> None:
    ann = sign_up(deps)
    accounts.request_reset(deps, "nobody@example.com")
    assert deps.mailer.sent == []
    accounts.request_reset(deps, "ann@example.com")
    [(to, _, body)] = deps.mailer.sent
    token = body.split("token=")[1].split()[0]
    assert to == "ann@example.com"
    accounts.confirm_reset(deps, ResetConfirmation(token, "reset password"))
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1
    log_in(deps, "ann", "reset password")
    with pytest.raises(errors.ResetLinkInvalid):
        accounts.confirm_reset(deps, ResetConfirmation(token, "another password"))


def test_deleting_the_account_anonymises_it_and_frees_the_email(deps) -> None:
    ann = sign_up(deps, role="host")
    with pytest.raises(errors.WrongPassword):
        accounts.delete_account(deps, ann, "not it")
    accounts.delete_account(deps, ann, "first password")
    gone = deps.users.uow.users.get(ann.user_id)
    assert (gone.username, gone.email, gone.role) == (
        f"deleted_{ann.user_id}",
        f"deleted-{ann.user_id}@deleted.invalid",
        "user",
    )
    assert gone.password_hash == accounts.UNUSABLE_PASSWORD and not FAST_HASHES.verify(gone.password_hash, "")
    assert deps.users.versions.published[ann.user_id] == ann.token_version + 1
    accounts.request_reset(deps, gone.email)
    assert deps.mailer.sent == [], "a deleted account gets no reset link"
    with pytest.raises(errors.InvalidCredentials):
        log_in(deps, "ann", "first password")
    sign_up(deps)  # the email and the username are free again


def test_a_profile_edit_to_a_taken_name_is_refused(deps) -> None:
    ann = sign_up(deps)
    sign_up(deps, "bob")
    with pytest.raises(errors.UserExists):
        accounts.update_profile(deps, ann, {"username": "Bob"})
    edited = accounts.update_profile(deps, ann, {"email": "ann2@example.com"})
    assert edited["email"] == "ann2@example.com" and edited["role"] == "user"
