"""The shared kernel: settings safety, JSON errors, request ids, JWT verification, health routes."""

from __future__ import annotations

import json
import logging
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from common.auth import InvalidToken, TokenVerifier, init_auth, require_auth
from common.errors import NotFound
from common.health import health_blueprint
from common.logs import configure_logging
from common.settings import DEFAULT_SECRET_KEY, BaseServiceSettings, ConfigurationError
from common.web import init_web, json_body
from tests.support.forged_tokens import ATTACKS, forged_tokens


def keypair() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def token(key: object, **overrides: object) -> str:
    now = int(time.time())
    claims = {"sub": "7", "role": "user", "iat": now, "exp": now + 60, "iss": "home-rental-platform"}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="EdDSA")


@pytest.fixture
def app() -> Flask:
    key, public = keypair()
    app = Flask("probe")
    settings = BaseServiceSettings(env="test", service_name="probe")
    init_web(app, settings)
    init_auth(app, public, settings.jwt_issuer)
    app.config["probe_key"] = key

    @app.post("/echo")
    def echo() -> dict:
        return json_body()

    @app.get("/missing")
    def missing() -> None:
        raise NotFound("Booking not found")

    @app.get("/seed-style")
    def seed_style() -> None:
        raise NotFound("Property not found or not available", key="message")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/admin")
    @require_auth(roles={"admin"})
    def admin_only() -> dict:
        return {"ok": True}

    app.register_blueprint(
        health_blueprint({"db": lambda: None, "cache": lambda: 1 / 0}, required=frozenset({"db"}))
    )
    return app


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        BaseServiceSettings(env="production", secret_key=DEFAULT_SECRET_KEY)
    assert BaseServiceSettings(env="production", secret_key="a-real-secret").env == "production"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "from-env")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    settings = BaseServiceSettings()
    assert (settings.service_name, settings.max_body_bytes) == ("from-env", 2048)


def test_errors_are_json_with_the_right_key_and_no_stack_trace(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/missing").get_json() == {"error": "Booking not found"}
    assert client.get("/seed-style").get_json() == {"message": "Property not found or not available"}
    boom = client.get("/boom")
    assert boom.status_code == 500 and boom.get_json() == {"error": "Internal server error"}
    assert b"secret internals" not in boom.data
    unknown = client.get("/nope")
    assert unknown.status_code == 404 and unknown.is_json
    wrong_method = client.delete("/echo")
    assert wrong_method.status_code == 405 and wrong_method.is_json


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Request body must be a JSON object"),
        (b"{bad", "Malformed JSON body"),
        (b"[1, 2]", "Request body must be a JSON object"),
    ],
)
def test_json_body_rejects_bad_input_with_400(app: Flask, body: bytes, message: str) -> None:
    response = app.test_client().post("/echo", data=body, content_type="application/json")
    assert response.status_code == 400 and response.get_json() == {"error": message}


def test_body_over_the_limit_is_413_json(app: Flask) -> None:
    response = app.test_client().post("/echo", data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413 and response.get_json() == {"error": "Request body too large"}


def test_request_id_is_reused_when_well_formed_and_minted_otherwise(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    minted = client.get("/health", headers={"X-Request-ID": "bad id;drop"}).headers["X-Request-ID"]
    assert minted != "bad id;drop" and len(minted) == 32


def test_ready_reports_each_check_and_only_required_ones_decide(app: Flask) -> None:
    response = app.test_client().get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"db": "ok", "cache": "down"}}


def test_admin_route_needs_a_valid_admin_token(app: Flask) -> None:
    client, key = app.test_client(), app.config["probe_key"]
    assert client.get("/admin").status_code == 401
    assert client.get("/admin", headers={"Authorization": f"Bearer {token(key)}"}).status_code == 403
    admin = client.get("/admin", headers={"Authorization": f"Bearer {token(key, role='admin')}"})
    assert admin.status_code == 200 and admin.get_json() == {"ok": True}


@pytest.mark.parametrize("attack", ATTACKS)
def test_verifier_rejects_forged_or_stale_tokens(attack: str) -> None:
    key, public = keypair()
    verifier = TokenVerifier(public, "home-rental-platform")
    with pytest.raises(InvalidToken):
        verifier.verify(forged_tokens(key, public.encode(), 7)[attack])
    assert verifier.verify(token(key)).user_id == 7


def test_logs_are_ecs_json_with_service_name(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("probe-service")
    logging.getLogger("probe").info("hello %s", "world")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello world"
    assert record["service"]["name"] == "probe-service"
    assert "@timestamp" in record and record["log.level"] == "info"


def test_a_remembered_token_is_still_refused_once_it_expires() -> None:
    private, public = keypair()
    now = [time.time()]
    verifier = TokenVerifier(public, "home-rental-platform", clock=lambda: now[0])
    good = token(private, exp=int(now[0]) + 60)
    assert verifier.verify(good).user_id == 7
    assert verifier.verify(good).user_id == 7  # the remembered verdict
    now[0] += 61
    with pytest.raises(InvalidToken):
        verifier.verify(good)


def test_a_token_that_fails_verification_is_never_remembered() -> None:
    private, public = keypair()
    other, _ = keypair()
    verifier = TokenVerifier(public, "home-rental-platform")
    forged = token(other)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    assert verifier.verify(token(private)).user_id == 7
