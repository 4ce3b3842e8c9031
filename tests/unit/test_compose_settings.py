"""Every setting a service needs in a container is given by docker-compose.yml (or .env.example).

The settings classes are the source of truth: each compose service's environment must build its
settings object (validators included, as ENV=production), and must override whatever defaults to
the developer machine (127.0.0.1 / localhost) or to nothing for a URL, since neither exists in a
container.
"""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from common.settings import BaseServiceSettings
from infra.keys import ensure_keypair
from tests.support import composefile

MODEL = composefile.load()
SERVICES = MODEL["services"]
LOCAL_DEFAULT_MARKERS = ("127.0.0.1", "localhost")
# Browser origins for CORS are on the host, where nginx is published at localhost:8080.
HOST_SIDE_SETTINGS = {"cors_origins"}
URL_SUFFIXES = ("_url", "_urls", "_nodes")


def settings_module(mode: str, package: str) -> str:
    return f"{package}.realtime.settings" if mode == "realtime" else f"{package}.settings"


def settings_class(module_name: str) -> type[BaseServiceSettings]:
    module = importlib.import_module(module_name)
    own = [
        cls for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseServiceSettings) and cls.__module__ == module_name
    ]  # fmt: skip
    assert own, f"{module_name} defines no BaseServiceSettings subclass"
    return max(own, key=lambda cls: len(cls.__mro__))


def app_services() -> list[str]:
    return sorted(
        name for name, svc in SERVICES.items() if "build" in svc and svc["command"][0] != "jwt-keys"
    )


def env_name(field: str, info: Any) -> str:
    alias = info.validation_alias or info.alias
    return (alias if isinstance(alias, str) else field).upper()


def fields_compose_must_set(cls: type[BaseSettings]) -> list[str]:
    must = []
    for field, info in cls.model_fields.items():
        default = info.get_default(call_default_factory=True) if not info.is_required() else None
        points_local = isinstance(default, str) and any(m in default for m in LOCAL_DEFAULT_MARKERS)
        url_unset = field.endswith(URL_SUFFIXES) and not default
        if info.is_required() or (points_local and field not in HOST_SIDE_SETTINGS) or url_unset:
            must.append(env_name(field, info))
    return must


def uses_public_key(package: str) -> bool:
    source = "".join(p.read_text() for p in (composefile.REPO_ROOT / package).rglob("*.py"))
    return "require_public_key" in source or "public_key_pem" in source


@pytest.mark.parametrize("name", app_services())
def test_compose_sets_every_setting_that_has_no_usable_default(name: str) -> None:
    mode, package = SERVICES[name]["command"]
    env = composefile.environment(SERVICES[name])
    missing = [
        var
        for var in fields_compose_must_set(settings_class(settings_module(mode, package)))
        if var not in env
    ]
    assert missing == [], f"{name} needs {missing} in docker-compose.yml"
    if uses_public_key(package):
        assert {"JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE"} & env.keys(), f"{name} verifies tokens"


def with_real_key_files(env: dict[str, str], tmp: Path) -> dict[str, str]:
    """`*_KEY_FILE` paths live in the jwt_keys volume; point them at a real pair made here."""
    private, public = ensure_keypair(tmp)
    swapped = dict(env)
    for var, value in env.items():
        if var.endswith("_KEY_FILE"):
            swapped[var] = str(private if Path(value).name == private.name else public)
            assert Path(value).parent == Path("/srv/keys"), f"{var} must point into the jwt_keys volume"
    return swapped


@pytest.mark.parametrize("name", app_services())
def test_compose_environment_builds_the_service_settings(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mode, package = SERVICES[name]["command"]
    cls = settings_class(settings_module(mode, package))
    for field, info in cls.model_fields.items():
        monkeypatch.delenv(env_name(field, info), raising=False)
    env = with_real_key_files(composefile.environment(SERVICES[name]), tmp_path)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    settings = cls()
    assert settings.env == "production"
    assert settings.service_name == env["SERVICE_NAME"]
    if uses_public_key(package):
        assert settings.require_public_key().startswith("-----BEGIN PUBLIC KEY-----")


def test_key_files_come_from_the_keys_job_volume() -> None:
    job = SERVICES["jwt-keys"]
    assert job["command"] == ["jwt-keys", "/srv/keys"]
    for name in app_services():
        env = composefile.environment(SERVICES[name])
        if any(var.endswith("_KEY_FILE") for var in env):
            assert SERVICES[name]["depends_on"]["jwt-keys"]["condition"] == "service_completed_successfully"
            sources = [v["source"] for v in SERVICES[name]["volumes"] if isinstance(v, dict)]
            assert "jwt_keys" in sources, name
    private_holders = [
        n for n in app_services() if "JWT_PRIVATE_KEY_FILE" in composefile.environment(SERVICES[n])
    ]
    assert private_holders == ["user_service"], "only user_service signs tokens"


def test_rule_flags_local_defaults() -> None:
    class Probe(BaseServiceSettings):
        thing_db_url: str = "postgresql://127.0.0.1/x"
        cache_nodes: str = ""
        cors_origins: str = "http://localhost:8080"
        needed: int

    assert fields_compose_must_set(Probe) == ["THING_DB_URL", "CACHE_NODES", "NEEDED"]


BUILD_APP = """
import importlib, sys
module = importlib.import_module(sys.argv[1])
app = module.create_app()
print("built", app.name)
"""


@pytest.mark.parametrize(
    "name", [n for n in app_services() if SERVICES[n]["command"][0] in ("web", "realtime")]
)
def test_app_factory_accepts_the_compose_environment_without_connecting(name: str, tmp_path: Path) -> None:
    """Compose hostnames do not resolve here: an app factory that connected at creation would fail."""
    mode, package = SERVICES[name]["command"]
    module = f"{package}.realtime" if mode == "realtime" else package
    env = with_real_key_files(composefile.environment(SERVICES[name]), tmp_path)
    read = {
        env_name(field, info)
        for field, info in settings_class(settings_module(mode, package)).model_fields.items()
    }
    clean = {k: v for k, v in os.environ.items() if k.upper() not in read}
    result = subprocess.run(
        [sys.executable, "-c", BUILD_APP, module],
        cwd=composefile.REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "built" in result.stdout
