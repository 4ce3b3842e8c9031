"""HTTP routes of the user service: parse, call one service function, shape the response."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

from flask import Blueprint, Response, current_app, jsonify, request

from common.auth import current_identity, require_auth
from common.web import json_body
from user_service import accounts, services

users = Blueprint("users", __name__, url_prefix="/api/users")


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
    services.register(_deps(), json_body())
    return jsonify({"message": services.REGISTERED}), 201


@users.post("/login")
def login() -> Response:
    token = services.login(_deps(), json_body(), client_ip())
    return jsonify({"token": token, "message": services.LOGGED_IN})


@users.post("/logout")
@require_auth()
def logout() -> Response:
    services.logout(_deps(), current_identity())
    return jsonify({"message": services.LOGGED_OUT})


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
    return jsonify(services.list_users(_deps(), request.args.to_dict()))


@users.patch("/<int:user_id>/role")
@require_auth(roles={"admin"})
def change_role(user_id: int) -> Response:
    return jsonify(services.change_role(_deps(), user_id, json_body()))


@users.patch("/profile")
@require_auth()
def update_profile() -> Response:
    return jsonify(accounts.update_profile(_accounts(), current_identity(), json_body()))


@users.delete("/profile")
@require_auth()
def delete_account() -> Response:
    accounts.delete_account(_accounts(), current_identity(), json_body())
    return jsonify({"message": accounts.ACCOUNT_DELETED})


@users.post("/password")
@require_auth()
def change_password() -> Response:
    return jsonify(accounts.change_password(_accounts(), current_identity(), json_body()))


@users.post("/password-reset")
def request_password_reset() -> tuple[Response, int]:
    accounts.request_reset(_accounts(), json_body())
    return jsonify({"message": accounts.RESET_SENT}), 202


@users.post("/password-reset/confirm")
def confirm_password_reset() -> Response:
    accounts.confirm_reset(_accounts(), json_body())
    return jsonify({"message": accounts.RESET_DONE})


@users.post("/become-host")
@require_auth()
def become_host() -> Response:
    return jsonify(accounts.become_host(_accounts(), current_identity()))


@users.get("/users")
@require_auth(roles={"admin"})
def search_users() -> Response:
    return jsonify(accounts.search_users(_accounts(), request.args.to_dict()))
