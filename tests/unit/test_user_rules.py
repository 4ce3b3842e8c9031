"""Unit tests of the user service's rules: validation, passwords, token signing, settings, app wiring,
and the service layer (sign-up, login, roles, become-host, passwords, account deletion) on the in-memory
unit of work of `tests/support/user_fakes.py`.

No servers: `create_app` must not connect to anything until a request needs it. The limiter's own
arithmetic (backoff, ceilings) runs in Lua inside Redis and is tested on a real one in
`tests/integration/test_user_login_limits.py`; here, how login settles its attempts with it.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Executor, Future

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.auth import TokenVerifier
from common.errors import BadRequest
from common.identity import Identity
from common.settings import ConfigurationError
from tests.support.user_fakes import FakeDirectory, FakeLimiter, FakeMailer, FakeUnitOfWork, FakeVersions
from user_service import accounts, create_app, errors, services, token_signer, validation
from user_service.api import client_ip
from user_service.models import Credentials, PasswordChange, Registration, ResetConfirmation
from user_service.passwords import Passwords, low_priority_pool
from user_service.resets import ResetTokens
from user_service.settings import UserSettings
from user_service.tokens import TokenSigner

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/users"
FAST_HASHES = Passwords(time_cost=1, memory_kib=1024)


def private_pem() -> str:
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def settings(**overrides: object) -> UserSettings:
    values = {"env": "test", "user_db_url": NOWHERE, "user_db_replica_urls": "", "redis_url": None}
    return UserSettings(**{**values, **overrides})


def test_registration_trims_and_lowercases() -> None:
    new = validation.registration(
        {"username": " ann.b-c_1 ", "email": " Ann@Example.COM ", "password": "p" * 8}
    )
    assert (new.username, new.email, new.password) == ("ann.b-c_1", "ann@example.com", "p" * 8)


def test_password_is_not_trimmed() -> None:
    assert validation.registration(
        {"username": "ann", "email": "a@b.co", "password": " spaced  "}
    ).password == (" spaced  ")


@pytest.mark.parametrize("email", ["a@b", "@b.co", "a@@b.co", "a@b\n.co", "a@b..co", "ä@b.co", "a@b.co x"])
def test_malformed_emails_are_rejected(email: str) -> None:
    with pytest.raises(BadRequest, match="email is not a valid email address"):
        validation.valid_email(email)


@pytest.mark.parametrize("username", ["abc", "A" * 32, "a.b", "a-b", "a_b", "123"])
def test_usernames_within_the_rules_pass(username: str) -> None:
    assert validation.valid_username(username) == username


@pytest.mark.parametrize("username", ["ab", "A" * 33, "a b", "abc\ndef", "émile", "a/b"])
def test_usernames_outside_the_rules_fail(username: str) -> None:
    with pytest.raises(BadRequest):
        validation.valid_username(username)


@pytest.mark.parametrize(
    ("args", "expected"),
    [({}, (100, 0)), ({"limit": "1000", "offset": "5"}, (1000, 5)), ({"limit": ""}, (100, 0))],
)
def test_paging_defaults_and_bounds(args: dict[str, str], expected: tuple[int, int]) -> None:
    assert validation.page(args) == expected


def test_passwords_verify_only_the_right_password_and_never_without_a_hash() -> None:
    passwords = Passwords(time_cost=1, memory_kib=1024)
    stored = passwords.hash("right password")
    assert stored.startswith("$argon2id$") and "right password" not in stored
    assert passwords.verify(stored, "right password")
    assert not passwords.verify(stored, "wrong password")
    assert not passwords.verify(None, "dummy-password-for-timing")
    assert not passwords.verify("not-a-hash", "right password")


def test_argon2_runs_on_threads_of_the_lowest_scheduling_class_and_leaves_the_caller_alone() -> None:
    def priority() -> int:
        return os.sched_getscheduler(threading.get_native_id())

    caller = priority()
    pool = low_priority_pool(1)
    try:
        assert pool.submit(priority).result() == os.SCHED_IDLE
        passwords = Passwords(time_cost=1, memory_kib=1024, runner=pool)
        assert passwords.verify(passwords.hash("pw"), "pw")
    finally:
        pool.shutdown()
    assert priority() == caller


def test_passwords_hash_and_verify_on_the_runner_they_are_given() -> None:
    class Inline(Executor):
        def __init__(self) -> None:
            self.calls = 0

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            self.calls += 1
            future: Future = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    inline = Inline()
    passwords = Passwords(time_cost=1, memory_kib=1024, runner=inline)
    assert not passwords.verify(passwords.hash("pw"), "other")
    assert inline.calls == 2


def test_passwords_flag_hashes_made_with_weaker_parameters() -> None:
    weak = Passwords(time_cost=1, memory_kib=1024).hash("pw")
    assert Passwords(time_cost=2, memory_kib=2048).needs_rehash(weak)


def test_issued_token_has_the_agreed_claims_and_verifies_with_common_auth() -> None:
    signer = TokenSigner(
        private_pem(), issuer="home-rental-platform", key_id="user-service-1", ttl_seconds=600
    )
    token = signer.issue(42, "host")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == "user-service-1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "42" and claims["role"] == "host" and claims["iss"] == "home-rental-platform"
    assert claims["exp"] - claims["iat"] == 600
    identity = TokenVerifier(signer.public_key_pem, "home-rental-platform").verify(token)
    assert (identity.user_id, identity.role) == (42, "host")


def test_production_refuses_to_start_without_a_private_key() -> None:
    with pytest.raises(ConfigurationError, match="JWT_PRIVATE_KEY"):
        settings(
            env="production", secret_key="a-real-secret", jwt_private_key=None, jwt_private_key_file=None
        )


def test_a_public_key_that_does_not_match_the_private_key_is_refused() -> None:
    other_public = TokenSigner(private_pem(), issuer="i", key_id="k", ttl_seconds=1).public_key_pem
    with pytest.raises(ConfigurationError, match="does not match"):
        token_signer(settings(jwt_private_key=private_pem(), jwt_public_key=other_public))


def test_create_app_connects_to_nothing_and_is_unready_without_a_primary() -> None:
    app = create_app(settings(jwt_private_key=private_pem()))
    client = app.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["primary"] == "down"


def test_database_outage_is_a_json_503_not_a_500() -> None:
    client = create_app(settings(jwt_private_key=private_pem())).test_client()
    body = {"username": "nodb_user", "email": "nodb@example.com", "password": "long enough"}
    response = client.post("/api/users/register", json=body)
    assert response.status_code == 503
    assert response.get_json() == {"error": "Service unavailable"}
    assert response.headers["Retry-After"] == "1"


def test_forwarded_for_is_honoured_only_from_a_trusted_proxy() -> None:
    app = create_app(settings(jwt_private_key=private_pem(), trusted_proxies="192.0.2.1"))
    untrusted = {"headers": {"X-Forwarded-For": "6.6.6.6"}, "environ_base": {"REMOTE_ADDR": "127.0.0.1"}}
    with app.test_request_context(**untrusted):
        assert client_ip() == "127.0.0.1"
    trusted = {
        "headers": {"X-Forwarded-For": "6.6.6.6, 192.0.2.1"},
        "environ_base": {"REMOTE_ADDR": "192.0.2.1"},
    }
    with app.test_request_context(**trusted):
        assert client_ip() == "6.6.6.6"


# --- the service layer on the in-memory unit of work ---


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
