"""The Kubernetes manifests and docker-compose.yml describe the same suite: same images, commands,
environment variable names, ports and probes, so neither can drift from the other unnoticed. Each allowed
difference is listed with its reason."""

from __future__ import annotations

import re

import pytest
from dockerfile_parse import DockerfileParser

from deploy.k8s import model
from tests.support import composefile

ROOT = composefile.REPO_ROOT
COMPOSE = composefile.load()["services"]
OVERLAY = "dev-cluster"  # the one with every store in the cluster, as in compose

# Kubernetes Deployment -> compose service.
SERVICES = {
    "gateway": "gateway",
    "user-service": "user_service",
    "booking-service": "booking_service",
    "booking-realtime": "booking_realtime",
    "etl-reports": "etl_reports",
}
STORES = {
    "postgres-primary": "postgres_primary",
    "postgres-replica": "postgres_replica",
    "warehouse": "warehouse",
    "mariadb": "mariadb",
    "redis-cluster": "redis-node-1",
    "redis": "redis",
    "redis-cluster-create": "redis-cluster-init",
}
# Compose finds instances through Consul; Kubernetes through the headless Services' DNS.
ONLY_IN_COMPOSE = {"CONSUL_HOST", "CONSUL_PORT"}
# Every pod believes X-Forwarded-For only from the pod network; migrations run in init containers, so
# the web containers say RUN_MIGRATIONS=0 explicitly.
ONLY_IN_KUBERNETES = {"TRUSTED_PROXIES", "RUN_MIGRATIONS"}
# Issue #18's observability settings, landing in compose and here from two branches of work at once.
OBSERVABILITY = {
    "PROMETHEUS_MULTIPROC_DIR",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "PUSHGATEWAY_URL",
}
# Store containers: PGDATA points below the volume's root (lost+found); the redis pods know their name.
STORE_ONLY_IN_KUBERNETES = {"PGDATA", "POD_NAME", "POD_NAMESPACE", "PRIMARY_HOST", "REPLICATION_PASSWORD"}


def repository(image: str) -> str:
    """The image name without its tag and without a registry host (production's overlay adds one)."""
    name = image.rsplit(":", 1)[0]
    first, _, rest = name.partition("/")
    return rest if "." in first and rest else name


def main_container(workload_name: str) -> dict:
    workloads = {w["metadata"]["name"]: w for w in model.workloads(OVERLAY)}
    return model.containers(workloads[workload_name], init=False)[0]


@pytest.mark.parametrize(("k8s", "compose"), SERVICES.items())
def test_services_run_compose_s_image_and_command(k8s: str, compose: str) -> None:
    container = main_container(k8s)
    assert repository(container["image"]) == repository(COMPOSE[compose]["image"])
    assert container["args"] == COMPOSE[compose]["command"]


@pytest.mark.parametrize(("k8s", "compose"), SERVICES.items())
def test_services_get_the_same_environment_names(k8s: str, compose: str) -> None:
    ours = model.env_names(OVERLAY, main_container(k8s)) - OBSERVABILITY
    theirs = set(composefile.environment(COMPOSE[compose])) - OBSERVABILITY
    assert theirs - ours - ONLY_IN_COMPOSE == set(), (
        f"{k8s} lacks compose's {theirs - ours - ONLY_IN_COMPOSE}"
    )
    assert ours - theirs - ONLY_IN_KUBERNETES == set(), f"{k8s} has {ours - theirs - ONLY_IN_KUBERNETES}"


def test_the_etl_job_gets_compose_s_environment_and_image() -> None:
    container = main_container("etl")
    theirs = set(composefile.environment(COMPOSE["etl_service"])) - OBSERVABILITY
    assert model.env_names(OVERLAY, container) - OBSERVABILITY == theirs
    assert repository(container["image"]) == repository(COMPOSE["etl_service"]["image"])
    # Compose's long-lived `schedule` becomes the CronJob's schedule plus one `run` per tick.
    assert COMPOSE["etl_service"]["command"] == ["schedule", "etl_service"]
    assert container["command"] == ["python", "-m", "etl_service", "run"]


@pytest.mark.parametrize(("k8s", "compose"), SERVICES.items())
def test_ports_and_probes_match_the_image_and_compose(k8s: str, compose: str) -> None:
    container = main_container(k8s)
    assert [p["containerPort"] for p in container["ports"]] == [int(p) for p in COMPOSE[compose]["expose"]]
    image = COMPOSE[compose]["image"].split("/")[-1].split(":")[0]
    healthcheck = DockerfileParser(path=str(ROOT / "infra/docker" / f"{image}.Dockerfile")).structure
    (check,) = [i["value"] for i in healthcheck if i["instruction"] == "HEALTHCHECK"]
    path = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    if k8s == "etl-reports":  # the etl image's check is the scheduler's (a warehouse query), not HTTP
        assert "WAREHOUSE_DB_URL" in check and container["livenessProbe"]["httpGet"]["path"] == "/health"
        return
    assert path is not None
    assert container["livenessProbe"]["httpGet"]["path"] == path.group(2)
    assert int(path.group(1)) == container["ports"][0]["containerPort"]


def test_the_edge_is_compose_s_nginx() -> None:
    container = main_container("edge")
    nginx = COMPOSE["nginx"]
    base = DockerfileParser(path=str(ROOT / "deploy/k8s/edge.Dockerfile")).baseimage
    assert base == nginx["image"]
    published = sorted(int(str(p).rsplit(":", 1)[-1]) for p in nginx["ports"])
    assert sorted(p["containerPort"] for p in container["ports"]) == published
    assert nginx["healthcheck"]["test"][-1].endswith(container["livenessProbe"]["httpGet"]["path"])


@pytest.mark.parametrize(("k8s", "compose"), STORES.items())
def test_stores_run_compose_s_images_settings_and_environment(k8s: str, compose: str) -> None:
    container = main_container(k8s)
    service = COMPOSE[compose]
    assert container["image"] == service["image"], "the same exact version tag"
    if isinstance(service.get("command"), list) and service["command"][0] != "sh":
        assert container.get("args") == service["command"]
    ours = model.env_names(OVERLAY, container) - STORE_ONLY_IN_KUBERNETES
    theirs = set(composefile.environment(service)) - STORE_ONLY_IN_KUBERNETES
    if k8s == "redis-cluster-create":
        assert ours == theirs
    elif k8s != "postgres-replica":
        assert ours == theirs, f"{k8s}: {ours ^ theirs}"


def test_every_compose_store_and_job_has_a_kubernetes_counterpart() -> None:
    stores = {
        name
        for name, service in COMPOSE.items()
        if service.get("image", "").split(":")[0] in ("postgres", "mariadb", "redis")
    }
    expected = set(STORES.values()) | {f"redis-node-{i}" for i in range(2, 7)}
    assert stores == expected
    cluster = {w["metadata"]["name"]: w for w in model.workloads(OVERLAY)}["redis-cluster"]
    assert cluster["spec"]["replicas"] == 6


def test_compose_pins_every_third_party_image_by_exact_version() -> None:
    for name, service in COMPOSE.items():
        image = service.get("image", "")
        repo, _, tag = image.rpartition(":")
        if repo.startswith("home-rental-platform/"):
            continue  # ours, built from this checkout
        exact = r"\d+\.\d+-bookworm" if repo == "postgres" else r"v?\d+\.\d+\.\d+(-[a-z]+)?"
        assert re.fullmatch(exact, tag), f"{name}: {image} is not pinned to an exact version"
