"""JWT verification with the user service's public key, shared by every service."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import current_app, g, request

from common.errors import Forbidden, Unauthorized
from common.identity import ROLES, Identity
from common.revocation import TokenVersions

ALGORITHMS = ["EdDSA"]
_SUBJECT = re.compile(r"[0-9]{1,19}")  # a user id; `str.isdigit()` also takes "²", which int() refuses
F = TypeVar("F", bound=Callable[..., Any])


class InvalidToken(Exception):
    """The token is missing, malformed, expired, badly signed or from another issuer."""


class UserDirectory(Protocol):
    def exists(self, user_id: int) -> bool | None:
        """True or False, or None when it cannot tell (the token is then judged without it)."""


class TokenVerifier:
    """Accepts only EdDSA tokens signed by our key, from our issuer, with `exp`, `sub` and `role`.

    A token that verified once is remembered with its expiry (the signature check costs more than a
    whole proxied request otherwise): the same bytes always verify the same way, and `exp` is checked
    on every use. Only good tokens are remembered, in a bounded table, so garbage cannot fill it.
    """

    CACHE_SIZE = 10_000

    def __init__(
        self,
        public_key_pem: str,
        issuer: str,
        clock: Callable[[], float] = time.time,
        versions: TokenVersions | None = None,
        users: UserDirectory | None = None,
    ) -> None:
        self._key = load_pem_public_key(public_key_pem.encode())
        self._issuer = issuer
        self._clock = clock
        self._versions = versions
        self._users = users
        self._known_users: set[int] = set()  # users are never removed (a deleted account is anonymised)
        self._verified: dict[str, tuple[Identity, float]] = {}

    def verify(self, token: str) -> Identity:
        identity = self._verified_identity(token)
        if self._versions is not None and not self._versions.is_current(
            identity.user_id, identity.token_version
        ):
            raise InvalidToken("Token has been revoked")
        if self._users is not None and identity.user_id not in self._known_users:
            self._check_user(identity.user_id)
        return identity

    def _check_user(self, user_id: int) -> None:
        """A correctly signed token for a user id that never existed (a leaked key, a forged test
        token) is refused where the directory can tell; each existing user is looked up once."""
        found = self._users.exists(user_id)  # type: ignore[union-attr]
        if found is False:
            raise InvalidToken("Unknown user")
        if found:
            if len(self._known_users) >= self.CACHE_SIZE * 10:
                self._known_users.clear()
            self._known_users.add(user_id)

    def _verified_identity(self, token: str) -> Identity:
        known = self._verified.get(token)
        if known is not None:
            identity, expires_at = known
            if self._clock() < expires_at:
                return identity
            self._verified.pop(token, None)
            raise InvalidToken("Signature has expired")
        identity, expires_at = self._decode(token)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (identity, expires_at)
        return identity

    def _decode(self, token: str) -> tuple[Identity, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=ALGORITHMS,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return _identity_from_claims(claims), float(claims["exp"])


def _identity_from_claims(claims: dict[str, Any]) -> Identity:
    sub, role, version = claims.get("sub"), claims.get("role", "user"), claims.get("tv", 0)
    if not isinstance(sub, str) or not _SUBJECT.fullmatch(sub) or role not in ROLES:
        raise InvalidToken("token subject or role is invalid")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**31:
        raise InvalidToken("token version is invalid")
    return Identity(user_id=int(sub), role=role, token_version=version)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_request() -> Identity:
    """The caller's identity from `Authorization: Bearer`, or a 401."""
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthorized("Authorization token is missing")
    verifier: TokenVerifier = current_app.extensions["token_verifier"]
    try:
        identity = verifier.verify(token)
    except InvalidToken as exc:
        raise Unauthorized("Invalid or expired token") from exc
    g.identity = identity
    return identity


def require_auth(roles: Iterable[str] | None = None) -> Callable[[F], F]:
    """Route decorator: a valid token, and one of `roles` when given (403 otherwise)."""
    allowed = frozenset(roles) if roles else None

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            identity = authenticate_request()
            if allowed is not None and identity.role not in allowed:
                raise Forbidden("Forbidden")
            return view(*args, **kwargs)

        # What the route manifest (common/routes.py) is checked against: token required, these roles.
        wrapper.required_roles = allowed or frozenset()  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def current_identity() -> Identity:
    return g.identity


def init_auth(
    app: Any,
    public_key_pem: str,
    issuer: str,
    redis_url: str | None = None,
    users: UserDirectory | None = None,
) -> None:
    """`redis_url`: where token versions live (logout and role changes revoke); None: no revocation.
    `users`: where the verifier checks that a token's user exists (None: it does not check)."""
    versions = TokenVersions(redis_url) if redis_url else None
    app.extensions["token_versions"] = versions
    app.extensions["token_verifier"] = TokenVerifier(public_key_pem, issuer, versions=versions, users=users)
