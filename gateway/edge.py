"""Edge concerns that run before a request is forwarded: the JWT check, rate limits and CORS.

`Edge.admit` is the one check; the proxy path (`gateway/proxy.py`) calls it without a Flask request,
the few routes Flask serves (docs) call it from a `before_request` hook.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g, request

from common.auth import Identity, InvalidToken, TokenVerifier, bearer_token, init_auth
from common.errors import BadRequest, TooManyRequests, Unauthorized
from gateway.ratelimit import Limit, SharedRateLimiter, redis_factory
from gateway.routing import canonical_path, requires_token
from gateway.settings import GatewaySettings

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
UNLIMITED_PATHS = frozenset({"/health", "/ready"})


class Edge:
    """Protected routes need a valid token here (verified once per request, then remembered until it
    expires; see TokenVerifier); services verify it again (defence in depth). A caller with a valid
    token is limited per user, anyone else per client IP: a whole office behind one NAT address shares
    only the anonymous limit, each signed-in user has their own.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        limiter: SharedRateLimiter | None,
        per_ip: Limit | None = None,
        per_user: Limit | None = None,
    ) -> None:
        self._verifier = verifier
        self._limiter, self._per_ip, self._per_user = limiter, per_ip, per_user

    def admit(self, method: str, path: str, authorization: str | None, client_ip: str) -> Identity | None:
        """The caller's identity (None: anonymous), or an ApiError (401, 429) to answer with."""
        token = bearer_token(authorization)
        identity = self._identity(token)
        if identity is None and requires_token(path, method):
            raise Unauthorized("Invalid or expired token" if token else "Authorization token is missing")
        if self._limiter is not None and path not in UNLIMITED_PATHS:
            if identity is not None:
                retry_after = self._limiter.hit("user", str(identity.user_id), self._per_user)  # type: ignore[arg-type]
            else:
                retry_after = self._limiter.hit("ip", client_ip, self._per_ip)  # type: ignore[arg-type]
            if retry_after is not None:
                raise TooManyRequests("Too many requests", headers={"Retry-After": str(retry_after)})
        return identity

    def _identity(self, token: str | None) -> Identity | None:
        if token is None:
            return None
        try:
            return self._verifier.verify(token)
        except InvalidToken:
            return None


def build_edge(app: Flask, settings: GatewaySettings) -> Edge:
    init_auth(app, settings.require_public_key(), settings.jwt_issuer, settings.redis_url)
    verifier: TokenVerifier = app.extensions["token_verifier"]
    if not settings.rate_limit_enabled:
        return Edge(verifier, None)
    limiter = SharedRateLimiter(redis_factory(settings.redis_url))
    return Edge(verifier, limiter, Limit.parse(settings.rate_limit), Limit.parse(settings.user_rate_limit))


def init_edge(app: Flask, settings: GatewaySettings) -> Edge:
    """The edge for the routes Flask serves itself; returns it for the proxy path."""
    edge = app.extensions["edge"] = build_edge(app, settings)

    @app.before_request
    def _edge() -> None:
        path = canonical_path(request.path)
        if path is None:
            raise BadRequest("Invalid path")
        g.identity = edge.admit(
            request.method, path, request.headers.get("Authorization"), request.remote_addr or "unknown"
        )

    return edge


def cors_headers(origin: str | None, method: str, origins: frozenset[str]) -> list[tuple[str, str]]:
    """What an allowed origin is told (nothing for any other origin); `Vary: Origin` is the caller's."""
    if origin is None or origin not in origins:
        return []
    headers = [("Access-Control-Allow-Origin", origin), ("Access-Control-Expose-Headers", EXPOSED_HEADERS)]
    if method == "OPTIONS":
        headers += [
            ("Access-Control-Allow-Methods", ALLOWED_METHODS),
            ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
            ("Access-Control-Max-Age", "600"),
        ]
    return headers


def is_preflight(method: str, request_method_header: str | None) -> bool:
    return method == "OPTIONS" and request_method_header is not None


def init_cors(app: Flask, origins: frozenset[str]) -> None:
    @app.before_request
    def _preflight() -> Response | None:
        if is_preflight(request.method, request.headers.get("Access-Control-Request-Method")):
            return Response(status=204)
        return None

    @app.after_request
    def _cors_headers(response: Response) -> Response:
        response.vary.add("Origin")
        for name, value in cors_headers(request.headers.get("Origin"), request.method, origins):
            response.headers[name] = value
        return response


def with_vary_origin(vary: str | None) -> str:
    if not vary:
        return "Origin"
    values: Iterable[str] = (v.strip().lower() for v in vary.split(","))
    return vary if "origin" in values or "*" in vary else f"{vary}, Origin"
