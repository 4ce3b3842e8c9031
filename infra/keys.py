"""Ed25519 key pair for JWTs: the user service signs with the private key, everyone verifies with the public."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.identity import TOKEN_ISSUER, TOKEN_KEY_ID

ISSUER = TOKEN_ISSUER


def ensure_keypair(directory: Path) -> tuple[Path, Path]:
    """Create `jwt_private.pem` / `jwt_public.pem` once; later calls reuse them."""
    private_path, public_path = directory / "jwt_private.pem", directory / "jwt_public.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def sign_token(private_pem: bytes, user_id: int, role: str = "user", ttl: int = 3600, **extra: object) -> str:
    """A token as the user service would issue it (used by tests and benchmarks)."""
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + ttl, "iss": ISSUER, **extra}
    return jwt.encode(
        claims,
        serialization.load_pem_private_key(private_pem, None),
        algorithm="EdDSA",
        headers={"kid": TOKEN_KEY_ID},
    )


def list_user_ids(redis_url: str, *user_ids: int) -> None:
    """Adds ids to the user directory as user_service does when it registers a user: booking_service
    refuses tokens of users the directory does not know, so made-up test users are listed first."""
    import redis

    with contextlib.suppress(redis.RedisError, OSError):
        client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=1)
        with client:
            client.sadd("hrp:user-ids", *user_ids)  # user_service/directory.py USER_IDS
