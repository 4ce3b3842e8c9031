"""Edge concerns that run before a request is forwarded: CORS, the JWT check and rate limits."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from common.auth import Identity, InvalidToken, TokenVerifier, bearer_token, init_auth
from common.errors import BadRequest, TooManyRequests, Unauthorized
from gateway.ratelimit import Limit, SharedRateLimiter, redis_factory
from gateway.routing import canonical_path, requires_token
from gateway.settings import GatewaySettings

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


UNLIMITED_PATHS = frozenset({"/health", "/ready"})


def init_edge(app: Flask, settings: GatewaySettings) -> None:
    """Protected routes need a valid token here (verified once per request); services verify it again
    (defence in depth). A caller with a valid token is limited per user, anyone else per client IP: a
    whole office behind one NAT address shares only the anonymous limit, each signed-in user has their own.
    """
    init_auth(app, settings.require_public_key(), settings.jwt_issuer, settings.redis_url)
    limits = None
    if settings.rate_limit_enabled:
        limiter = SharedRateLimiter(redis_factory(settings.redis_url))
        limits = (limiter, Limit.parse(settings.rate_limit), Limit.parse(settings.user_rate_limit))

    @app.before_request
    def _edge() -> None:
        path = canonical_path(request.path)
        if path is None:
            raise BadRequest("Invalid path")
        g.canonical_path = path
        token = bearer_token(request.headers.get("Authorization"))
        g.identity = identity = _verified(token)
        if identity is None and requires_token(path, request.method):
            raise Unauthorized("Invalid or expired token" if token else "Authorization token is missing")
        if limits is not None and path not in UNLIMITED_PATHS:
            limiter, per_ip, per_user = limits
            if identity is not None:
                retry_after = limiter.hit("user", str(identity.user_id), per_user)
            else:
                retry_after = limiter.hit("ip", request.remote_addr or "unknown", per_ip)
            if retry_after is not None:
                raise TooManyRequests("Too many requests", headers={"Retry-After": str(retry_after)})


def _verified(token: str | None) -> Identity | None:
    if token is None:
        return None
    verifier: TokenVerifier = current_app.extensions["token_verifier"]
    try:
        return verifier.verify(token)
    except InvalidToken:
        return None


def init_cors(app: Flask, origins: frozenset[str]) -> None:
    @app.before_request
    def _preflight() -> Response | None:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return Response(status=204)
        return None

    @app.after_request
    def _cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        response.vary.add("Origin")
        if origin is None or origin not in origins:
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
