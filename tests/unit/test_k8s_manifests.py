"""deploy/k8s: every overlay renders with `kubectl kustomize` and validates strictly offline; the objects
follow the issue's rules (pinned images, probes, resources, hardened pods, HPAs and PDBs, secrets never
literal, default-deny network policies that let exactly the suite's flows through). No cluster is involved:
these check the rendered objects, not a running deployment."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.k8s import edge, model, validate
from deploy.k8s.secrets import GENERATED
from infra.nginx_conf import render_compose
from tests.support import composefile

ROOT = composefile.REPO_ROOT
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = validate.OVERLAYS
OURS = "home-rental-platform/"
APPS = ("edge", "gateway", "user-service", "booking-service", "booking-realtime", "etl-reports")


def labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_validates_strictly(overlay: str) -> None:
    objects = list(model.objects(overlay))
    assert len(objects) > 30
    assert validate.schema_errors(objects) == []


def test_strict_validation_rejects_an_unknown_field() -> None:
    deployment = dict(model.by_kind("production", "Deployment")["gateway"])
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    assert validate.schema_errors([broken]) != []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_ours_by_the_overlay_version_tag(overlay: str) -> None:
    for workload in model.workloads(overlay):
        for container in model.containers(workload):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and tag and tag != "latest", f"{image} is not pinned"
            if OURS in image:
                assert re.fullmatch(r"\d+\.\d+\.\d+", tag), image
            else:
                exact = r"\d+\.\d+-bookworm" if name == "postgres" else r"\d+\.\d+\.\d+(-alpine)?"
                assert re.fullmatch(exact, tag), f"{image}: not an exact version tag"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened_and_sized(overlay: str) -> None:
    for workload in model.workloads(overlay):
        spec = model.pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec.get("automountServiceAccountToken") is False
        for container in model.containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where


def test_services_have_startup_liveness_and_readiness_probes() -> None:
    deployments = model.by_kind("production", "Deployment")
    assert set(deployments) == set(APPS)
    for name, deployment in deployments.items():
        (container,) = model.containers(deployment, init=False)
        health, ready = ("/nginx-health", "/nginx-health") if name == "edge" else ("/health", "/ready")
        assert container["startupProbe"]["httpGet"]["path"] == health
        assert container["livenessProbe"]["httpGet"]["path"] == health
        assert container["readinessProbe"]["httpGet"]["path"] == ready


def test_stateless_deployments_have_autoscalers_and_disruption_budgets() -> None:
    deployments = model.by_kind("production", "Deployment")
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]
        for h in model.by_kind("production", "HorizontalPodAutoscaler").values()
    }
    assert hpas == set(deployments)
    for pdb in model.by_kind("production", "PodDisruptionBudget").values():
        target = pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        assert target in deployments and pdb["spec"]["minAvailable"] >= 1
    assert len(model.by_kind("production", "PodDisruptionBudget")) == len(deployments)


def test_discovery_goes_through_headless_services() -> None:
    services = model.by_kind("production", "Service")
    gateway = model.containers(model.by_kind("production", "Deployment")["gateway"], init=False)[0]
    env = {e["name"]: e.get("value") for e in gateway["env"]}
    assert env["DISCOVERY_BACKEND"] == "dns"
    for variable in ("USER_SERVICE_URLS", "BOOKING_SERVICE_URLS", "REPORTS_SERVICE_URLS"):
        host = re.match(r"http://([^:/]+):8000$", env[variable]).group(1)
        assert services[host]["spec"]["clusterIP"] == "None", f"{host} must be headless"
    assert services["edge"]["spec"]["type"] == "LoadBalancer"
    assert {p["port"] for p in services["edge"]["spec"]["ports"]} == {8080, 5001}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_written_in_the_manifests(overlay: str) -> None:
    for workload in model.workloads(overlay):
        for container in model.containers(workload):
            for entry in container.get("env", []):
                value = entry.get("value", "")
                assert not re.search(r"://[^/@\s]*:[^/@\s]+@", value), f"credentials in {entry['name']}"
                if re.search(r"PASSWORD|SECRET", entry["name"]):
                    assert "valueFrom" in entry, f"{entry['name']} must come from a Secret"
    secrets = model.by_kind(overlay, "Secret")
    if overlay == "production":
        assert secrets == {}, "production's Secrets are created outside the repo"
    else:
        assert all(re.search(r"-[a-z0-9]{10}$", name) for name in secrets), "generated (hash-suffixed)"


def test_the_generated_dev_secrets_hold_every_key_the_pods_read() -> None:
    wanted: dict[str, set[str]] = {}
    for workload in model.workloads("dev-cluster"):
        for container in model.containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    wanted.setdefault(ref["name"].rsplit("-", 1)[0], set()).add(ref["key"])
    secrets = {
        name.rsplit("-", 1)[0]: set(s["data"]) for name, s in model.by_kind("dev-cluster", "Secret").items()
    }
    for name, keys in wanted.items():
        assert keys <= secrets[name], f"{name} lacks {keys - secrets[name]}"
    production_notes = (K8S / "overlays/production/kustomization.yaml").read_text()
    assert all(key in production_notes for key in wanted["hrp-stores"])
    assert "generated/" in (K8S / "overlays/dev-cluster/.gitignore").read_text()
    assert GENERATED.is_relative_to(K8S / "overlays/dev-cluster")


FLOWS = [
    ("edge", "gateway", 8000, True),
    ("edge", "booking-realtime", 8000, True),
    ("gateway", "user-service", 8000, True),
    ("gateway", "booking-service", 8000, True),
    ("gateway", "redis", 6379, True),
    ("user-service", "postgres-primary", 5432, True),
    ("user-service", "postgres-replica", 5432, True),
    ("booking-service", "mariadb", 3306, True),
    ("booking-service", "redis-cluster", 6379, True),
    ("booking-realtime", "redis", 6379, True),
    ("etl", "postgres-replica", 5432, True),
    ("etl", "mariadb", 3306, True),
    ("etl", "warehouse", 5432, True),
    ("backup", "postgres-primary", 5432, True),
    ("backup", "mariadb", 3306, True),
    ("postgres-replica", "postgres-primary", 5432, True),
    ("redis-cluster", "redis-cluster", 16379, True),
    ("gateway", "etl-reports", 8000, True),
    ("etl-reports", "warehouse", 5432, True),
    ("etl-reports", "redis", 6379, True),
    ("etl-reports", "mariadb", 3306, False),
    ("etl-reports", "postgres-replica", 5432, False),
    ("edge", "etl-reports", 8000, False),
    ("edge", "user-service", 8000, False),
    ("edge", "booking-service", 8000, False),
    ("gateway", "mariadb", 3306, False),
    ("gateway", "postgres-primary", 5432, False),
    ("user-service", "mariadb", 3306, False),
    ("booking-service", "postgres-primary", 5432, False),
    ("booking-service", "user-service", 8000, False),
    ("etl", "postgres-primary", 5432, False),
    ("etl", "redis", 6379, False),
    ("backup", "warehouse", 5432, False),
    ("user-service", "gateway", 8000, False),
]


@pytest.mark.parametrize(("source", "target", "port", "allowed"), FLOWS, ids=lambda v: str(v))
def test_network_policies_let_through_only_the_suites_flows(source, target, port, allowed) -> None:
    assert model.flow_allowed("dev-cluster", labels(source), labels(target), port) is allowed


def test_network_policies_deny_by_default() -> None:
    deny = model.by_kind("production", "NetworkPolicy")["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    assert not model.flow_allowed("production", labels("stranger"), labels("gateway"), 8000)


def test_the_etl_runs_on_compose_s_schedule_and_migrations_run_before_the_services() -> None:
    compose = composefile.load()
    schedule = composefile.environment(compose["services"]["etl_service"])["ETL_SCHEDULE"]
    cronjob = model.by_kind("production", "CronJob")["etl"]
    assert cronjob["spec"]["schedule"] == schedule and cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (etl,) = model.containers(cronjob, init=False)
    assert {"name": "ETL_SCHEDULE", "value": schedule} in etl["env"]
    for name in ("user-service", "booking-service"):
        (migrate,) = model.pod_spec(model.by_kind("production", "Deployment")[name])["initContainers"]
        assert migrate["command"][-1] == "migrate"


def test_the_edge_runs_compose_s_nginx_config_with_upstreams_that_follow_the_pods() -> None:
    (config,) = [
        c for name, c in model.by_kind("production", "ConfigMap").items() if name.startswith("edge-nginx")
    ]
    text = config["data"]["nginx.conf"]
    assert text == edge.render_kubernetes()
    assert "server gateway.hrp.svc.cluster.local:8000 resolve" in text
    assert "server booking-realtime.hrp.svc.cluster.local:8000 resolve" in text
    compose = re.sub(r"^\s*server (gateway|booking_realtime):8000 .*\n", "", render_compose(), flags=re.M)
    assert re.sub(r"^\s*(zone \w+_peers|resolver|server \S+ resolve) .*\n", "", text, flags=re.M) == compose


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is installed by infra.system")
def test_edge_config_passes_nginx_t_apart_from_the_upstream_dns_directives(tmp_path: Path) -> None:
    """Debian's nginx (1.22) predates `resolve` in upstreams (1.27.3), so those lines are swapped for a
    static peer; everything else of the Kubernetes config is checked by the real nginx."""
    text = re.sub(r"^\s*resolver .*\n", "", edge.render_kubernetes(), flags=re.M)
    text = re.sub(r"server \S+ resolve ", "server 127.0.0.1:9 ", text)
    text = text.replace("/tmp", str(tmp_path)).replace("/dev/stderr", str(tmp_path / "error.log"))
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "e.log")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("copy", "original"),
    [
        ("overlays/dev-cluster/files/cluster-create.sh", "infra/docker/redis/cluster-create.sh"),
        ("overlays/dev-cluster/files/primary-init.sh", "infra/docker/postgres/primary-init.sh"),
    ],
)
def test_store_scripts_are_compose_s_own(copy: str, original: str) -> None:
    assert (K8S / copy).read_bytes() == (ROOT / original).read_bytes(), f"cp {original} deploy/k8s/{copy}"


def test_edge_dockerfile_is_lint_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), str(K8S / "edge.Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout


def test_the_workflow_builds_every_image_and_smoke_tests_compose_and_kind() -> None:
    text = (ROOT / ".github/workflows/compose-and-kind.yml").read_text()
    workflow = yaml.safe_load(text)
    assert set(workflow["jobs"]) == {"compose", "kind"}
    steps = {job: " ".join(s.get("run", "") for s in spec["steps"]) for job, spec in workflow["jobs"].items()}
    smoke = "python -m infra.smoke --http http://127.0.0.1:8080 --socket http://127.0.0.1:5001"
    assert all(smoke in run for run in steps.values()), "both paths run the one smoke script"
    assert "docker compose up --detach --wait" in steps["compose"]
    services = re.search(r"for service in ([\w ]+); do", steps["kind"]).group(1).split()
    assert sorted(f"{s}.Dockerfile" for s in services) == sorted(
        p.name for p in (ROOT / "infra/docker").glob("*.Dockerfile")
    )
    assert "deploy/k8s/edge.Dockerfile" in steps["kind"] and "resources: [../dev-cluster]" in steps["kind"]
    assert validate.actionlint_errors() == []
