"""The route table: which service answers a public path, and which paths need a token at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass

ANY_METHOD = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Longest prefix first; a prefix also matches the bare path without its trailing slash.
SERVICE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/users/", "user_service"),
    ("/api/bookings/", "booking_service"),
    ("/api/cancel-booking/", "booking_service"),
)


@dataclass(frozen=True)
class ProtectedRule:
    pattern: re.Pattern[str]
    methods: frozenset[str]

    def matches(self, path: str, method: str) -> bool:
        return method in self.methods and self.pattern.fullmatch(path) is not None


def _rule(pattern: str, methods: frozenset[str] = ANY_METHOD) -> ProtectedRule:
    return ProtectedRule(re.compile(pattern), methods)


PROTECTED: tuple[ProtectedRule, ...] = (
    _rule(r"/api/users/profile/?"),
    _rule(r"/api/users/logout/?"),
    _rule(r"/api/users/refresh/?"),
    _rule(r"/api/users/allusers/?"),
    _rule(r"/api/users/[^/]+/role/?"),
    _rule(r"/api/users/password/?"),
    _rule(r"/api/users/become-host/?"),
    _rule(r"/api/users/users/?"),
    _rule(r"/api/bookings/book/?"),
    _rule(r"/api/bookings/booking(/.*)?"),
    _rule(r"/api/bookings/mine/?"),
    _rule(r"/api/cancel-booking(/.*)?"),
    _rule(r"/api/bookings/properties(/.*)?", WRITE_METHODS),
)


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
    if method == "OPTIONS":
        return False
    return any(rule.matches(path, method) for rule in PROTECTED)
