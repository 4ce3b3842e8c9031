"""Which service answers a public path, and which paths need a token at the edge: both compiled once, at
import, from the route manifest (`common/routes.py`), so the hot path is a dict lookup and one regex."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from common.routes import ROUTES, Route

ANY_METHOD = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
_PARAMETER = re.compile(r"\{[^}/]+\}")


def _path_pattern(template: str) -> str:
    """`/api/users/{id}/role` -> `/api/users/[^/]+/role/?` (a trailing slash is the same path)."""
    literals = _PARAMETER.split(template)
    return "[^/]+".join(re.escape(literal) for literal in literals) + "/?"


def compile_service_prefixes(routes: Iterable[Route]) -> tuple[tuple[str, str], ...]:
    """`/api/<first segment>/` -> owning service; one service per prefix."""
    prefixes: dict[str, str] = {}
    for route in routes:
        prefix = "/".join(route.path.split("/")[:3]) + "/"
        if prefixes.setdefault(prefix, route.service) != route.service:
            raise ValueError(f"{prefix} is claimed by two services")
    return tuple(sorted(prefixes.items(), key=lambda item: -len(item[0])))


def compile_token_rules(routes: Iterable[Route]) -> dict[str, re.Pattern[str]]:
    """Per method, one regex of the paths that need a token.

    A path with any token route needs a token for every method not listed as public on it (so an
    unlisted method on a protected path is a 401, not a hint); HEAD follows GET; OPTIONS never needs one.
    """
    by_path: dict[str, list[Route]] = defaultdict(list)
    for route in routes:
        by_path[route.path].append(route)
    protected: dict[str, list[str]] = defaultdict(list)
    for path, on_path in by_path.items():
        if not any(route.token for route in on_path):
            continue
        public = {route.method for route in on_path if not route.token}
        if "GET" in public:
            public.add("HEAD")
        for method in ANY_METHOD - public:
            protected[method].append(_path_pattern(path))
    return {method: re.compile("|".join(patterns)) for method, patterns in protected.items()}


def compile_body_limits(routes: Iterable[Route]) -> dict[str, tuple[tuple[re.Pattern[str], int], ...]]:
    """Per method, the routes that take a larger body than the default, with their limit."""
    limits: dict[str, list[tuple[re.Pattern[str], int]]] = defaultdict(list)
    for route in routes:
        if route.max_body is not None:
            limits[route.method].append((re.compile(_path_pattern(route.path)), route.max_body))
    return {method: tuple(found) for method, found in limits.items()}


SERVICE_PREFIXES = compile_service_prefixes(ROUTES)
TOKEN_RULES = compile_token_rules(ROUTES)
BODY_LIMITS = compile_body_limits(ROUTES)


def body_limit(method: str, path: str, default: int) -> int:
    """The most bytes a request body on this route may have (the manifest's `max_body`, else `default`)."""
    for pattern, limit in BODY_LIMITS.get(method, ()):
        if pattern.fullmatch(path):
            return limit
    return default


_REPEATED_SLASHES = re.compile(r"/{2,}")
_DOT_SEGMENT = re.compile(r"/\.{1,2}(/|$)")


def canonical_path(path: str) -> str | None:
    """The path the edge checks and forwards: repeated slashes collapsed, so `//book` cannot slip past a
    rule for `/book`; None for dot segments, which we refuse rather than guess how a service resolves."""
    if _DOT_SEGMENT.search(path):
        return None
    return _REPEATED_SLASHES.sub("/", path)


def service_for(path: str) -> str | None:
    """The service that owns `path`, or None when no route matches."""
    for prefix, service in SERVICE_PREFIXES:
        if path.startswith(prefix) or path == prefix.rstrip("/"):
            return service
    return None


def requires_token(path: str, method: str) -> bool:
    # CORS preflights never carry credentials; the actual request is checked.
    rule = TOKEN_RULES.get(method)
    return rule is not None and rule.fullmatch(path) is not None
