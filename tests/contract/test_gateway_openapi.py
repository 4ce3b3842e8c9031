"""The route manifest (`common/routes.py`) is the one list of public routes, and nothing drifts from it:
the OpenAPI document the gateway serves has exactly its operations with the same token rule and roles,
each service answers exactly its routes, and the gateway's compiled routing agrees with every entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from common.routes import ROUTES, Route
from gateway.docs import load_spec
from gateway.routing import requires_token, service_for
from infra.keys import ensure_keypair

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def spec_operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method.upper(), operation


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "42", path)


def shape(path: str) -> str:
    """`/api/users/{id}/role` and `/api/users/<int:user_id>/role` both become `/api/users/{}/role`."""
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)


def test_spec_is_openapi_3_and_every_reference_resolves() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.")
    for ref in set(re.findall(r"'\$ref': '#/([^']+)'", str(spec))):
        node: Any = spec
        for key in ref.split("/"):
            node = node[key]
    operation_ids = [op["operationId"] for _, _, op in spec_operations()]
    assert len(operation_ids) == len(set(operation_ids))
    assert all(op["responses"] for _, _, op in spec_operations())


def test_the_manifest_lists_each_route_once() -> None:
    keys = [route.key for route in ROUTES]
    assert len(keys) == len(set(keys))


def test_the_spec_documents_exactly_the_manifests_routes_with_their_token_rule_and_roles() -> None:
    documented = {
        (method, path): (bool(op.get("security")), frozenset(op.get("x-roles", ())))
        for path, method, op in spec_operations()
    }
    manifest = {route.key: (route.token, route.roles) for route in ROUTES}
    assert documented == manifest


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_gateway_routes_each_entry_as_the_manifest_says(route: Route) -> None:
    path = concrete(route.path)
    assert service_for(path) == route.service
    assert requires_token(path, route.method) is route.token
    assert requires_token(path + "/", route.method) is route.token
    assert requires_token(path, "OPTIONS") is False


def _service_apps(tmp: Path) -> dict[str, Flask]:
    from booking_service import create_app as booking_app
    from booking_service.settings import BookingSettings
    from etl_service import create_app as reports_app
    from etl_service.web import ReportsSettings
    from user_service import create_app as user_app
    from user_service.settings import UserSettings

    private, public = ensure_keypair(tmp)
    return {
        "user_service": user_app(
            UserSettings(env="test", jwt_private_key_file=str(private), jwt_public_key_file=str(public))
        ),
        "booking_service": booking_app(BookingSettings(env="test", jwt_public_key_file=str(public))),
        "etl_reports": reports_app(ReportsSettings(env="test", jwt_public_key_file=str(public))),
    }


def test_each_service_answers_exactly_its_manifest_routes(tmp_path: Path) -> None:
    served = {
        (service, method, shape(rule.rule))
        for service, app in _service_apps(tmp_path).items()
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served == {(route.service, route.method, shape(route.path)) for route in ROUTES}


def test_each_service_checks_the_token_and_roles_the_manifest_gives(tmp_path: Path) -> None:
    """Defence in depth: the service's own `@require_auth` asks for what the gateway asks for."""
    manifest = {(route.service, route.method, shape(route.path)): route for route in ROUTES}
    checked = {}
    for service, app in _service_apps(tmp_path).items():
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                if (service, method, shape(rule.rule)) in manifest:
                    checked[(service, method, shape(rule.rule))] = (
                        hasattr(view, "required_roles"),
                        getattr(view, "required_roles", frozenset()),
                    )
    assert checked == {key: (route.token, route.roles) for key, route in manifest.items()}


REPO = Path(__file__).resolve().parents[2]
# Every nginx configuration of the repository (local stack, docker-compose, Kubernetes edge).
NGINX_CONFIGS = [
    str(path.relative_to(REPO))
    for pattern in ("nginx.conf", "infra/nginx/nginx.conf.tmpl", "deploy/**/nginx.conf")
    for path in sorted(REPO.glob(pattern))
]


@pytest.mark.parametrize("config", NGINX_CONFIGS)
def test_nginx_edge_caches_exactly_the_anonymous_reads_of_the_manifest(config: str) -> None:
    """nginx's micro-cache location lists paths by regex (GET and HEAD only, bypassed with a token): it must
    cover every path with a public read of booking_service (`Cache-Control: public`), and no other path."""
    text = (REPO / config).read_text()
    (regex,) = re.findall(r"location ~ (\^/api/bookings/properties\S*) \{", text)
    cached = re.compile(regex)
    public_reads = {
        r.path for r in ROUTES if r.method == "GET" and not r.token and r.service == "booking_service"
    }
    for path in {route.path for route in ROUTES}:
        assert (cached.search(concrete(path)) is not None) is (path in public_reads), (path, config)
