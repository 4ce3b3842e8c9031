"""Edge concerns that run before a request is forwarded: CORS and the JWT check."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from common.auth import Identity, InvalidToken, TokenVerifier, authenticate_request, bearer_token, init_auth
from common.errors import BadRequest
from gateway.routing import canonical_path, requires_token
from gateway.settings import GatewaySettings

ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"


def init_edge_auth(app: Flask, settings: GatewaySettings) -> None:
    """Protected routes need a valid token here; services verify it again (defence in depth)."""
    init_auth(app, settings.require_public_key(), settings.jwt_issuer)

    @app.before_request
    def _verify_token() -> None:
        path = canonical_path(request.path)
        if path is None:
            raise BadRequest("Invalid path")
        g.canonical_path = path
        if requires_token(path, request.method):
            authenticate_request()


def caller_identity() -> Identity | None:
    """The caller's identity if the request carries a valid token (verified once per request)."""
    if "identity" in g:
        return g.identity
    token = bearer_token(request.headers.get("Authorization"))
    identity = None
    if token is not None:
        verifier: TokenVerifier = current_app.extensions["token_verifier"]
        try:
            identity = verifier.verify(token)
        except InvalidToken:
            identity = None
    g.identity = identity
    return identity


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
