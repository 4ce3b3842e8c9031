"""Issues EdDSA (Ed25519) JWTs with the private key only this service holds; common.auth verifies them."""

from __future__ import annotations

import logging
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


class TokenSigner:
    def __init__(self, private_key_pem: str, *, issuer: str, key_id: str, ttl_seconds: int) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("JWT private key must be an Ed25519 key")
        self._key = key
        self._issuer = issuer
        self._key_id = key_id
        self._ttl = ttl_seconds

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(self, user_id: int, role: str, token_version: int = 0) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id), "role": role, "tv": token_version,
            "iat": now, "exp": now + self._ttl, "iss": self._issuer,
        }  # fmt: skip
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self._key_id})

    @property
    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def ephemeral_private_key_pem() -> str:
    """A throwaway key for development without configured keys (tokens die with the process)."""
    log.warning("no JWT private key configured: using an ephemeral key (development only)")
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def same_public_key(first_pem: str, second_pem: str) -> bool:
    def raw(pem: str) -> bytes:
        key = serialization.load_pem_public_key(pem.encode())
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    return raw(first_pem) == raw(second_pem)
