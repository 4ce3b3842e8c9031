"""The forged-token catalogue, one copy for the kernel's unit test and the security tests: each variant
of a valid token that a verifier must refuse, named by the attack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.identity import TOKEN_ISSUER

ATTACKS = (
    "alg none",
    "tampered payload",
    "tampered signature",
    "wrong key",
    "HS256 keyed with the public key",
    "expired",
    "missing exp",
    "wrong issuer",
    "garbage",
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(user_id: int, role: str = "user", **changes: object) -> dict[str, Any]:
    """Valid claims for ten minutes; a change to None drops the claim."""
    now = int(time.time())
    values = {"sub": str(user_id), "role": role, "iat": now, "exp": now + 600, "iss": TOKEN_ISSUER, **changes}
    return {k: v for k, v in values.items() if v is not None}


def forged_tokens(private_key: Ed25519PrivateKey, public_pem: bytes, user_id: int) -> dict[str, str]:
    """Every attack of `ATTACKS` on a token of `user_id` (the key pair is the one the verifier trusts);
    the forgeries claim the admin role where the attack lets them choose."""
    genuine = jwt.encode(claims(user_id), private_key, algorithm="EdDSA")
    header, _, signature = genuine.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    hs_signed = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims(user_id, 'admin'))}"
    hs_signature = b64(hmac.new(public_pem, hs_signed.encode(), hashlib.sha256).digest())
    past = int(time.time()) - 3600
    return {
        "alg none": f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims(user_id, 'admin'))}.",
        "tampered payload": f"{header}.{segment(claims(user_id, 'admin'))}.{signature}",
        "tampered signature": f"{header}.{genuine.split('.')[1]}.{flipped}",
        "wrong key": jwt.encode(claims(user_id, "admin"), Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        "HS256 keyed with the public key": f"{hs_signed}.{hs_signature}",
        "expired": jwt.encode(claims(user_id, iat=past - 60, exp=past), private_key, algorithm="EdDSA"),
        "missing exp": jwt.encode(claims(user_id, exp=None), private_key, algorithm="EdDSA"),
        "wrong issuer": jwt.encode(claims(user_id, iss="someone-else"), private_key, algorithm="EdDSA"),
        "garbage": "not.a.jwt",
    }
