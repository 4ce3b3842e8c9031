"""Contract of the user service (seed "User Service" + issue #3) against a real instance of the stack.

Real PostgreSQL primary + replica and Redis, the service under gunicorn; nothing mocked.
"""

from __future__ import annotations

import uuid

import jwt
import pytest
import requests

REGISTER, LOGIN = "/api/users/register", "/api/users/login"
PROFILE, ALL_USERS = "/api/users/profile", "/api/users/allusers"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.url("user_service", 0)


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def new_user() -> dict[str, str]:
    name = unique()
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse"}


def post(base: str, path: str, body: object, **headers: str) -> requests.Response:
    return requests.post(base + path, json=body, headers=headers, timeout=10)


def registered(base: str) -> tuple[dict[str, str], str]:
    """A fresh user and its token."""
    user = new_user()
    assert post(base, REGISTER, user).status_code == 201
    response = post(base, LOGIN, {"email": user["email"], "password": user["password"]})
    return user, response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_returns_201_and_the_seed_message(base: str) -> None:
    response = post(base, REGISTER, new_user())
    assert response.status_code == 201
    assert response.json() == {"message": "User registered successfully"}


@pytest.mark.parametrize("clash", ["email", "email_other_case", "username", "username_other_case"])
def test_register_existing_email_or_username_is_409(base: str, clash: str) -> None:
    user = new_user()
    assert post(base, REGISTER, user).status_code == 201
    again = new_user()
    field = clash.removesuffix("_other_case")
    again[field] = user[field].upper() if clash.endswith("other_case") else user[field]
    response = post(base, REGISTER, again)
    assert response.status_code == 409
    assert response.json() == {"error": "User already exists"}


def test_register_trims_and_lowercases_email(base: str) -> None:
    user = new_user()
    padded = {**user, "username": f"  {user['username']} ", "email": f"  {user['email'].upper()} "}
    assert post(base, REGISTER, padded).status_code == 201
    response = post(base, LOGIN, {"email": user["email"], "password": user["password"]})
    assert response.status_code == 200
    profile = requests.get(base + PROFILE, headers=bearer(response.json()["token"]), timeout=10).json()
    assert (profile["username"], profile["email"]) == (user["username"], user["email"])


VALID = {"username": "valid_name", "email": "valid@example.com", "password": "long enough"}
REGISTER_ERRORS = [
    ({k: v for k, v in VALID.items() if k != "username"}, "username is required"),
    ({k: v for k, v in VALID.items() if k != "email"}, "email is required"),
    ({k: v for k, v in VALID.items() if k != "password"}, "password is required"),
    ({**VALID, "username": None}, "username is required"),
    ({**VALID, "username": 42}, "username must be a string"),
    ({**VALID, "email": ["a@b.co"]}, "email must be a string"),
    ({**VALID, "password": 12345678}, "password must be a string"),
    ({**VALID, "email": "not-an-email"}, "email is not a valid email address"),
    ({**VALID, "email": "a@b"}, "email is not a valid email address"),
    ({**VALID, "email": "a b@example.com"}, "email is not a valid email address"),
    ({**VALID, "email": "x" * 250 + "@example.com"}, "email is not a valid email address"),
    ({**VALID, "username": "ab"}, "username must be 3-32 characters: letters, digits, '_', '.' or '-'"),
    ({**VALID, "username": "a" * 33}, "username must be 3-32 characters: letters, digits, '_', '.' or '-'"),
    ({**VALID, "username": "bad name"}, "username must be 3-32 characters: letters, digits, '_', '.' or '-'"),
    ({**VALID, "username": "<script>"}, "username must be 3-32 characters: letters, digits, '_', '.' or '-'"),
    ({**VALID, "password": "short"}, "password must be 8-128 characters"),
    ({**VALID, "password": "p" * 129}, "password must be 8-128 characters"),
    ([VALID], "Request body must be a JSON object"),
    ("just a string", "Request body must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), REGISTER_ERRORS)
def test_register_validation_errors_are_400_with_a_reason(base: str, body: object, message: str) -> None:
    response = post(base, REGISTER, body)
    assert response.status_code == 400
    assert response.json() == {"error": message}


@pytest.mark.parametrize("path", [REGISTER, LOGIN])
@pytest.mark.parametrize(("raw", "message"), [(b"{bad json", "Malformed JSON body"), (b"", None)])
def test_malformed_or_empty_json_is_400(base: str, path: str, raw: bytes, message: str | None) -> None:
    response = requests.post(base + path, data=raw, headers=JSON, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": message or "Request body must be a JSON object"}


def test_rejected_registration_writes_nothing(base: str) -> None:
    user = new_user()
    assert post(base, REGISTER, {**user, "password": "short"}).status_code == 400
    assert post(base, REGISTER, user).status_code == 201


def test_login_returns_token_and_the_seed_message(base: str) -> None:
    user = new_user()
    post(base, REGISTER, user)
    response = post(base, LOGIN, {"email": user["email"], "password": user["password"]})
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Login successful" and set(body) == {"token", "message"}
    assert body["token"].count(".") == 2


@pytest.mark.parametrize("wrong", ["password", "email"])
def test_login_with_unknown_email_or_wrong_password_is_401(base: str, wrong: str) -> None:
    user = new_user()
    post(base, REGISTER, user)
    creds = {"email": user["email"], "password": user["password"]}
    creds[wrong] = "wrong-" + creds[wrong]
    response = post(base, LOGIN, creds, **{"X-Forwarded-For": f"10.9.{uuid.uuid4().int % 250}.1"})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"password": "whatever1"}, "email is required"),
        ({"email": "a@example.com"}, "password is required"),
        ({"email": 1, "password": "whatever1"}, "email must be a string"),
        ({"email": "a@example.com", "password": False}, "password must be a string"),
        (
            {"email": "x" * 300 + "@example.com", "password": "whatever1"},
            "email is not a valid email address",
        ),
    ],
)
def test_login_validation_errors_are_400(base: str, body: dict, message: str) -> None:
    response = post(base, LOGIN, body)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_profile_returns_the_token_users_public_fields(base: str) -> None:
    user, token = registered(base)
    response = requests.get(base + PROFILE, headers=bearer(token), timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["id", "username", "email"]
    assert (body["username"], body["email"]) == (user["username"], user["email"])
    assert isinstance(body["id"], int)


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"])
def test_profile_without_a_valid_token_is_401(base: str, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.get(base + PROFILE, headers=headers, timeout=10)
    assert response.status_code == 401
    assert isinstance(response.json()["error"], str)


def test_allusers_requires_a_token_401(base: str) -> None:
    response = requests.get(base + ALL_USERS, timeout=10)
    assert response.status_code == 401
    assert "error" in response.json()


def test_allusers_is_forbidden_to_a_normal_user_403(base: str) -> None:
    _, token = registered(base)
    response = requests.get(base + ALL_USERS, headers=bearer(token), timeout=10)
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden"}


def test_allusers_lists_public_fields_for_an_admin(stack, base: str) -> None:
    user, _ = registered(base)
    admin = bearer(stack.token(1, "admin"))
    users: list[dict] = []
    while True:  # page through: a long test session can hold more than one page of users
        page = requests.get(
            base + ALL_USERS, params={"limit": 1000, "offset": len(users)}, headers=admin, timeout=10
        )
        assert page.status_code == 200
        assert "password_hash" not in page.text and "argon2" not in page.text
        if not page.json():
            break
        users += page.json()
    assert all(list(entry) == ["id", "username", "email"] for entry in users)
    assert any(entry["email"] == user["email"] for entry in users)


def test_allusers_pages_with_limit_and_offset(stack, base: str) -> None:
    for _ in range(3):
        registered(base)
    admin = bearer(stack.token(1, "admin"))
    first = requests.get(base + ALL_USERS, params={"limit": 2}, headers=admin, timeout=10).json()
    second = requests.get(
        base + ALL_USERS, params={"limit": 2, "offset": 1}, headers=admin, timeout=10
    ).json()
    assert len(first) == 2 and len(second) == 2
    assert second[0] == first[1]
    assert first[0]["id"] < first[1]["id"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit must be an integer between 1 and 1000"),
        ({"limit": 1001}, "limit must be an integer between 1 and 1000"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"offset": -1}, "offset must be a non-negative integer"),
        ({"offset": "1.5"}, "offset must be an integer"),
    ],
)
def test_allusers_bad_paging_is_400(stack, base: str, params: dict, message: str) -> None:
    admin = bearer(stack.token(1, "admin"))
    response = requests.get(base + ALL_USERS, params=params, headers=admin, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_admin_changes_a_role_and_the_next_login_token_carries_it(stack, base: str) -> None:
    user, token = registered(base)
    user_id = requests.get(base + PROFILE, headers=bearer(token), timeout=10).json()["id"]
    path = f"/api/users/{user_id}/role"
    response = requests.patch(
        base + path, json={"role": "host"}, headers=bearer(stack.token(1, "admin")), timeout=10
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": user_id,
        "username": user["username"],
        "email": user["email"],
        "role": "host",
    }
    relogin = post(base, LOGIN, {"email": user["email"], "password": user["password"]}).json()["token"]
    assert jwt.decode(relogin, options={"verify_signature": False})["role"] == "host"


@pytest.mark.parametrize(
    ("role", "body", "status", "message"),
    [
        ("user", {"role": "admin"}, 403, "Forbidden"),
        ("admin", {"role": "superuser"}, 400, "role must be one of: user, host, admin"),
        ("admin", {}, 400, "role is required"),
    ],
)
def test_role_change_rules(stack, base: str, role: str, body: dict, status: int, message: str) -> None:
    response = requests.patch(
        base + "/api/users/1/role", json=body, headers=bearer(stack.token(1, role)), timeout=10
    )
    assert response.status_code == status
    assert response.json() == {"error": message}


def test_role_change_of_unknown_user_is_404(stack, base: str) -> None:
    headers = bearer(stack.token(1, "admin"))
    response = requests.patch(
        base + "/api/users/999999999/role", json={"role": "host"}, headers=headers, timeout=10
    )
    assert response.status_code == 404
    assert response.json() == {"error": "User not found"}


def test_unknown_path_and_wrong_method_are_json(base: str) -> None:
    assert requests.get(base + "/api/users/nothing", timeout=10).json() == {"error": "Not found"}
    response = requests.get(base + REGISTER, timeout=10)
    assert response.status_code == 405
    assert response.json() == {"error": "Method not allowed"}
