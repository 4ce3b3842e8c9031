"""HTTP routes of the user service: parse the request into a typed input (`validation.py`), call one
service function, shape the answer. `ERRORS` is the one table from domain exceptions to HTTP answers."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from common.auth import current_identity, require_auth
from common.errors import register_error_table
from common.web import json_body
from user_service import accounts, errors, metrics, services, validation

users = Blueprint("users", __name__, url_prefix="/api/users")

REGISTERED = "User registered successfully"
LOGGED_IN = "Login successful"
LOGGED_OUT = "Logged out"
PROFILE_UPDATED = "Profile updated"
PASSWORD_CHANGED = "Password changed"
RESET_SENT = "If that email is registered, a reset link is on its way"
RESET_DONE = "Password reset, you can log in now"
ACCOUNT_DELETED = "Account deleted"
NOW_HOST = "You are a host now"

# Domain exception -> (status, JSON key, message); the seed's messages byte-for-byte.
ERRORS: dict[type[errors.DomainError], tuple[int, str, str]] = {
    errors.UserExists: (409, "error", "User already exists"),
    errors.InvalidCredentials: (401, "error", "Invalid credentials"),
    errors.LoginThrottled: (429, "error", "Too many failed login attempts, try again later"),
    errors.PasswordChecksBusy: (429, "error", "Server busy, try again shortly"),
    errors.InvalidSession: (401, "error", "Invalid or expired token"),
    errors.UserNotFound: (404, "error", "User not found"),
    errors.WrongPassword: (403, "error", "Current password is incorrect"),
    errors.ResetLinkInvalid: (400, "error", "Invalid or expired reset link"),
}


def register_domain_errors(app: Flask) -> None:
    register_error_table(app, errors.DomainError, ERRORS, _retry_after)


def _retry_after(error: Exception) -> dict[str, str] | None:
    """Every refusal that says when to try again (a `retry_after`, in seconds) carries it as `Retry-After`."""
    retry_after = getattr(error, "retry_after", None)
    return None if retry_after is None else {"Retry-After": str(retry_after)}


def _deps() -> services.UserDeps:
    return current_app.extensions["user_service"]


def _accounts() -> accounts.AccountDeps:
    return current_app.extensions["user_accounts"]


def client_ip() -> str:
    """The caller's address; X-Forwarded-For's first hop only when a trusted proxy sent the request."""
    remote = request.remote_addr or ""
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and from_trusted_proxy(remote, current_app.config["TRUSTED_PROXIES"]):
        first_hop = forwarded.split(",")[0].strip()
        if first_hop:
            return first_hop[:64]
    return remote


def from_trusted_proxy(remote: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in networks)


@users.post("/register")
def register() -> tuple[Response, int]:
    services.register(_deps(), validation.registration(json_body()))
    return jsonify({"message": REGISTERED}), 201


@users.post("/login")
def login() -> Response:
    token = services.login(_deps(), validation.credentials(json_body()), client_ip())
    return jsonify({"token": token, "message": LOGGED_IN})


@users.post("/logout")
@require_auth()
def logout() -> Response:
    services.logout(_deps(), current_identity())
    return jsonify({"message": LOGGED_OUT})


@users.post("/refresh")
@require_auth()
def refresh() -> Response:
    return jsonify({"token": services.refresh(_deps(), current_identity())})


@users.get("/profile")
@require_auth()
def profile() -> Response:
    return jsonify(services.profile(_deps(), current_identity().user_id))


@users.get("/allusers")
@require_auth(roles={"admin"})
def all_users() -> Response:
    limit, offset = validation.page(request.args.to_dict())
    return jsonify(services.list_users(_deps(), limit, offset))


@users.patch("/<int:user_id>/role")
@require_auth(roles={"admin"})
def change_role(user_id: int) -> Response:
    return jsonify(services.change_role(_deps(), user_id, validation.role(json_body())))


@users.patch("/profile")
@require_auth()
def update_profile() -> Response:
    changes = validation.profile_changes(json_body())
    return jsonify(
        {**accounts.update_profile(_accounts(), current_identity(), changes), "message": PROFILE_UPDATED}
    )


@users.delete("/profile")
@require_auth()
def delete_account() -> Response:
    password = validation.required_string(json_body(), "password")
    accounts.delete_account(_accounts(), current_identity(), password)
    return jsonify({"message": ACCOUNT_DELETED})


@users.post("/password")
@require_auth()
def change_password() -> Response:
    change = validation.password_change(json_body())
    token = accounts.change_password(_accounts(), current_identity(), change)
    return jsonify({"message": PASSWORD_CHANGED, "token": token})


@users.post("/password-reset")
def request_password_reset() -> tuple[Response, int]:
    accounts.request_reset(_accounts(), validation.reset_email(json_body()))
    return jsonify({"message": RESET_SENT}), 202


@users.post("/password-reset/confirm")
def confirm_password_reset() -> Response:
    accounts.confirm_reset(_accounts(), validation.reset_confirmation(json_body()))
    return jsonify({"message": RESET_DONE})


@users.post("/become-host")
@require_auth()
def become_host() -> Response:
    role, token = accounts.become_host(_accounts(), current_identity())
    return jsonify({"message": NOW_HOST, "role": role, "token": token})


@users.get("/users")
@require_auth(roles={"admin"})
def search_users() -> Response:
    return jsonify(accounts.search_users(_accounts(), validation.user_query(request.args.to_dict())))


def init_login_metrics(app: Flask) -> None:
    @app.after_request
    def _count_login(response: Response) -> Response:
        rule = request.url_rule
        if rule is not None and rule.rule == metrics.LOGIN_RULE and request.method == "POST":
            metrics.LOGINS.labels(metrics.LOGIN_OUTCOMES.get(response.status_code, "error")).inc()
        return response
