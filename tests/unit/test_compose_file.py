"""docker-compose.yml checked statically (no Docker engine here): schema, and agreement with the repo.

Expectations come from the repo itself (settings classes, CLIs, nginx.conf, Dockerfiles), so the
checks stay honest as services change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.nginx_conf import COMPOSE_STATUS_PORT, render_compose
from tests.support import composefile

ROOT = composefile.REPO_ROOT
MODEL = composefile.load()
RAW = composefile.load_raw()
SERVICES: dict[str, dict[str, Any]] = MODEL["services"]
ONE_SHOT = composefile.one_shot_jobs(MODEL)
PUBLISHED_ALLOWED = {"nginx", "consul", "kibana", "prometheus", "grafana", "jaeger"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY$|^JWT_PUBLIC_KEY$")


def built_services() -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in SERVICES.items() if "build" in svc}


def python_entrypoint_args(name: str) -> tuple[str, str]:
    mode, package = SERVICES[name]["command"]
    return mode, package


def test_compose_file_validates_against_the_compose_spec_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(composefile.COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "version" not in RAW, "the compose spec dropped the top-level `version:`"


def test_every_variable_reference_is_valid_and_required_ones_are_in_env_example() -> None:
    example = composefile.read_env_file(composefile.ENV_EXAMPLE)
    text = composefile.COMPOSE_FILE.read_text()
    references = composefile.variables_in(text)
    assert references, "compose takes its secrets from .env: expected ${...} references"
    for name, op, _ in references:
        if op not in (":-", "-"):
            assert name in example, f"${{{name}}} has no default and is missing from .env.example"


def test_env_file_is_ignored_by_git_and_example_holds_only_placeholders() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 0, ".env must be git-ignored"
    for key, value in composefile.read_env_file(composefile.ENV_EXAMPLE).items():
        if SECRET_NAME.search(key):
            assert value.startswith("change-me"), f".env.example {key} must be a placeholder"


@pytest.mark.parametrize("name", sorted(built_services()))
def test_build_context_and_dockerfile_exist(name: str) -> None:
    build = SERVICES[name]["build"]
    context = ROOT / build["context"]
    assert context.resolve() == ROOT, "images are built from the repo root"
    assert (context / build["dockerfile"]).is_file()


def mounts() -> list[tuple[str, str]]:
    """(service, source) of every volume a service mounts."""
    return [
        (name, volume["source"] if isinstance(volume, dict) else volume.split(":")[0])
        for name, service in sorted(SERVICES.items())
        for volume in service.get("volumes", [])
    ]


@pytest.mark.parametrize(("name", "source"), mounts())
def test_bind_mounted_files_exist(name: str, source: str) -> None:
    if source.startswith("."):
        assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    elif source.startswith("/"):
        assert name == "filebeat", f"only filebeat reads host paths, {name} mounts {source}"
    else:
        assert source in MODEL["volumes"], f"{name} uses undeclared volume {source}"


def _runs(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", sorted(built_services()))
def test_python_service_command_exists_in_the_repo(name: str) -> None:
    mode, package = python_entrypoint_args(name)
    entrypoint = (ROOT / "infra/docker/entrypoint.sh").read_text()
    assert re.search(rf"^\s+{re.escape(mode)}\)", entrypoint, re.M), f"entrypoint has no mode {mode}"
    probes = {
        "web": ["-c", f"import {package}; assert callable({package}.create_app)"],
        "realtime": ["-c", f"import {package}.realtime as r; assert callable(r.create_app)"],
        "schedule": ["-m", package, "schedule", "--help"],
        "jwt-keys": ["-c", "from infra.keys import ensure_keypair"],
    }
    result = _runs(probes[mode])
    assert result.returncode == 0, result.stderr
    if mode == "web" and SERVICES[name]["environment"].get("RUN_MIGRATIONS") == "1":
        migrate = _runs(["-m", package, "migrate", "--help"])
        assert migrate.returncode == 0, migrate.stderr
    if mode == "schedule":
        assert _runs(["-m", package, "migrate", "--help"]).returncode == 0


def test_entrypoint_tools_exist() -> None:
    entrypoint = (ROOT / "infra/docker/entrypoint.sh").read_text()
    for config in re.findall(r"gunicorn -c (\S+)", entrypoint):
        assert (ROOT / config).is_file(), config
    assert _runs(["-m", "service_discovery", "run", "--help"]).returncode == 0
    assert "--no-control-socket" in entrypoint, "gunicorn 27's control socket needs a writable home"


def test_the_committed_nginx_conf_is_the_template_rendered_for_compose() -> None:
    """Compose mounts the committed file; it had drifted from the template once (an older WebSocket read
    timeout). `python -m infra.nginx_conf` writes it afresh."""
    assert (ROOT / "nginx.conf").read_text() == render_compose()


def nginx_upstream_servers() -> list[tuple[str, int]]:
    conf = (ROOT / "nginx.conf").read_text()
    servers = []
    for block in re.findall(r"upstream\s+\S+\s*\{(.*?)\}", conf, re.S):
        servers += [
            (host, int(port)) for host, port in re.findall(r"^\s*server\s+([\w.-]+):(\d+)", block, re.M)
        ]
    return servers


def test_nginx_proxies_only_to_ports_compose_services_expose() -> None:
    servers = nginx_upstream_servers()
    assert {host for host, _ in servers} >= {"gateway", "booking_realtime"}
    for host, port in servers:
        assert host in SERVICES, f"nginx.conf proxies to {host}, not a compose service"
        assert str(port) in [str(p) for p in SERVICES[host].get("expose", [])], (
            f"{host} does not expose {port}"
        )


def test_nginx_publishes_the_ports_its_config_listens_on() -> None:
    listens = set(re.findall(r"^\s*listen\s+(?:[\d.]+:)?(\d+)", (ROOT / "nginx.conf").read_text(), re.M))
    targets = {str(port).rsplit(":", 1)[-1] for port in SERVICES["nginx"]["ports"]}
    assert listens - {str(COMPOSE_STATUS_PORT)} == targets, "only stub_status stays unpublished"
    assert str(COMPOSE_STATUS_PORT) not in targets
    volumes = SERVICES["nginx"]["volumes"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in volumes


def test_only_nginx_consul_and_kibana_are_published_and_only_on_loopback() -> None:
    published = {name for name, svc in SERVICES.items() if svc.get("ports")}
    assert published == PUBLISHED_ALLOWED
    for name in published:
        for port in SERVICES[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def dockerfile_has_healthcheck(service: dict[str, Any]) -> bool:
    build = service.get("build")
    return bool(build) and "\nHEALTHCHECK " in (ROOT / build["dockerfile"]).read_text()


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_long_running_service_has_a_health_check(name: str) -> None:
    service = SERVICES[name]
    if name in ONE_SHOT:
        assert service.get("restart") == "no", f"one-shot job {name} must not restart"
        return
    check = service.get("healthcheck") or {}
    assert not check.get("disable"), f"{name} disables its health check"
    assert check.get("test") or dockerfile_has_healthcheck(service), f"{name} has no health check"


DEPENDENCIES = [
    (name, dependency, spec)
    for name, service in sorted(SERVICES.items())
    for dependency, spec in (service.get("depends_on") or {}).items()
]


@pytest.mark.parametrize(
    ("name", "dependency", "spec"), DEPENDENCIES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_dependencies_wait_for_health_or_completion(name: str, dependency: str, spec: dict[str, Any]) -> None:
    assert dependency in SERVICES
    expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
    assert spec.get("condition") == expected, f"{name} -> {dependency}"


def test_scalable_services_have_no_fixed_names_or_host_ports() -> None:
    for name in ("gateway", "user_service", "booking_service", "booking_realtime"):
        assert "container_name" not in SERVICES[name]
        assert not SERVICES[name].get("ports")


def test_data_lives_in_named_volumes() -> None:
    for name in (
        "postgres_primary",
        "postgres_replica",
        "warehouse",
        "mariadb",
        "elasticsearch",
        "redis-node-1",
    ):
        targets = [v.split(":")[0] for v in SERVICES[name]["volumes"] if isinstance(v, str)]
        assert any(t in MODEL["volumes"] for t in targets), f"{name} keeps data outside a named volume"


def _literal_secrets(service: dict[str, Any]) -> list[str]:
    found = []
    for key, value in (service.get("environment") or {}).items():
        text = str(value)
        if SECRET_NAME.search(key) and not key.endswith("_FILE") and "${" not in text:
            found.append(key)
        if re.search(r"://[^/\s:@]+:(?!\$\{)[^@\s]+@", text):
            found.append(f"{key} (password in URL)")
    return found


@pytest.mark.parametrize("name", sorted(RAW["services"]))
def test_no_secret_literal_in_the_compose_file(name: str) -> None:
    assert _literal_secrets(RAW["services"][name]) == []


def test_secret_checker_catches_literals() -> None:
    leaky = {"environment": {"DB_PASSWORD": "hunter2", "DB_URL": "postgresql://u:hunter2@db/x"}}
    assert _literal_secrets(leaky) == ["DB_PASSWORD", "DB_URL (password in URL)"]


def shell_scripts() -> list[Path]:
    return sorted([*(ROOT / "infra/docker").rglob("*.sh"), *(ROOT / "infra/elk").rglob("*.sh")])


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: p.name)
def test_scripts_parse_in_the_shell_their_shebang_names(script: Path) -> None:
    shell = (
        "bash" if script.read_text().startswith("#!/bin/bash") else "dash"
    )  # dash: strict POSIX, like busybox
    result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


SHELL_CHECKS = {
    name: test[1]
    for name, service in sorted(SERVICES.items())
    if (test := (service.get("healthcheck") or {}).get("test") or [])[:1] == ["CMD-SHELL"]
}


@pytest.mark.parametrize("name", SHELL_CHECKS)
def test_shell_health_checks_parse(name: str) -> None:
    result = subprocess.run(
        ["dash", "-n", "-c", SHELL_CHECKS[name]], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_every_redis_cluster_node_is_named_where_the_cluster_is_created_and_used() -> None:
    nodes = sorted(name for name in SERVICES if name.startswith("redis-node-"))
    assert len(nodes) == 6, "3 masters + 3 replicas (--cluster-replicas 1)"
    expected = ",".join(f"{name}:6379" for name in nodes)
    for user in ("redis-cluster-init", "booking_service", "booking_realtime"):
        assert SERVICES[user]["environment"]["REDIS_CLUSTER_NODES"] == expected, user
    for name in nodes:
        assert SERVICES[name]["hostname"] == name, "a node announces its hostname: it must resolve"
        command = SERVICES[name]["command"]
        assert command[:2] == ["sh", "-c"] and "--cluster-announce-hostname" in command[2]
        assert subprocess.run(["dash", "-n", "-c", command[2]], timeout=30).returncode == 0
        assert set(SERVICES["redis-cluster-init"]["depends_on"]) >= {name}


def string_leaves(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in string_leaves(value)]
    if isinstance(node, list):
        return [s for item in node for s in string_leaves(item)]
    return []


def test_no_credential_literal_anywhere_in_the_compose_file() -> None:
    credential = re.compile(r"://[^/\s:@]+:(?!\$\{)[^@\s]+@|--(?:requirepass|password)[= ](?!\$\{)\S+")
    leaks = [text for text in string_leaves(RAW) if credential.search(text)]
    assert leaks == []
    assert credential.search("redis-server --requirepass hunter2")
