"""No default secret is accepted with ENV=production, by any service's settings nor by a real gunicorn
process. Nothing is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booking_service.realtime.settings import RealtimeSettings
from booking_service.settings import BookingSettings
from common.settings import DEFAULT_SECRET_KEY, ConfigurationError
from etl_service.settings import EtlSettings
from gateway.settings import GatewaySettings
from tests.support.net import free_port
from user_service.settings import UserSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS = [GatewaySettings, UserSettings, BookingSettings, RealtimeSettings, EtlSettings]


@pytest.fixture
def production_env(monkeypatch, sec_stack):
    for name in list(os.environ):
        if name.upper() in ("SECRET_KEY", "ENV"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(sec_stack.keys["public"]))
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(sec_stack.keys["private"]))


@pytest.mark.parametrize("settings_class", SETTINGS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("secret", [None, DEFAULT_SECRET_KEY])
def test_production_refuses_the_default_secret(production_env, monkeypatch, settings_class, secret):
    if secret is not None:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings_class()


@pytest.mark.parametrize("settings_class", SETTINGS, ids=lambda c: c.__name__)
def test_production_accepts_a_real_secret(production_env, monkeypatch, settings_class):
    """Control: the refusal above is about the secret, not about production as such."""
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-of-some-length")
    assert settings_class().env == "production"


def test_a_real_gateway_process_will_not_start_in_production_with_the_default_secret(sec_stack):
    port = free_port()
    env = {**os.environ, **sec_stack.env, "ENV": "production", "BIND": f"127.0.0.1:{port}",
           "GUNICORN_WORKERS": "1", "GUNICORN_WORKER_CLASS": "gthread"}  # fmt: skip
    env.pop("SECRET_KEY")
    argv = [sys.executable, "-m", "gunicorn", "-c", str(REPO / "infra" / "gunicorn_conf.py"),
            "--no-control-socket", "gateway:create_app()"]  # fmt: skip
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("gunicorn kept running with the default SECRET_KEY in production")
    assert process.returncode != 0
    assert b"SECRET_KEY" in output
