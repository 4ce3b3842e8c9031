"""The rendered overlays as data, for the checks in tests/unit/test_k8s_*.py (no cluster involved)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from deploy.k8s.validate import render

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

Obj = dict[str, Any]


@functools.cache
def objects(overlay: str) -> tuple[Obj, ...]:
    return tuple(render(overlay))


def by_kind(overlay: str, kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects(overlay) if o["kind"] == kind}


def pod_spec(workload: Obj) -> Obj:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def pod_labels(workload: Obj) -> dict[str, str]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["metadata"]["labels"]


def workloads(overlay: str) -> Iterator[Obj]:
    return (o for o in objects(overlay) if o["kind"] in WORKLOADS)


def containers(workload: Obj, *, init: bool = True) -> list[Obj]:
    spec = pod_spec(workload)
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def env_names(overlay: str, container: Obj) -> set[str]:
    """Every variable the container gets: `env` entries plus the keys of the ConfigMaps it loads."""
    names = {e["name"] for e in container.get("env", [])}
    maps = by_kind(overlay, "ConfigMap")
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            names |= set(maps[ref["name"]]["data"])
    return names


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and In/NotIn/Exists expressions) against a pod's labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, op, values = expression["key"], expression["operator"], expression.get("values", [])
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
        if (op == "Exists") != (key in labels) and op in ("Exists", "DoesNotExist"):
            return False
    return True


def _peer_admits(rules: list[Obj], direction: str, peer_labels: dict[str, str], port: int) -> bool:
    for rule in rules:
        peers = rule.get("from" if direction == "Ingress" else "to")
        ports = rule.get("ports")
        port_ok = ports is None or any(p.get("port") == port for p in ports)
        # Peers with a namespaceSelector are other namespaces' pods; same-namespace flows need podSelector only.
        peer_ok = peers is None or any(
            "podSelector" in p and "namespaceSelector" not in p and "ipBlock" not in p
            and selects(p["podSelector"], peer_labels)
            for p in peers
        )  # fmt: skip
        if port_ok and peer_ok:
            return True
    return False


def _side_allows(
    policies: list[Obj], direction: str, own: dict[str, str], peer: dict[str, str], port: int
) -> bool:
    relevant = [
        p["spec"] for p in policies
        if direction in p["spec"].get("policyTypes", []) and selects(p["spec"]["podSelector"], own)
    ]  # fmt: skip
    if not relevant:
        return True
    key = "ingress" if direction == "Ingress" else "egress"
    return any(_peer_admits(spec.get(key, []), direction, peer, port) for spec in relevant)


def flow_allowed(overlay: str, source: dict[str, str], target: dict[str, str], port: int) -> bool:
    """Would the NetworkPolicies let a pod labelled `source` open a TCP connection to `target`:`port`?"""
    policies = list(by_kind(overlay, "NetworkPolicy").values())
    return _side_allows(policies, "Egress", source, target, port) and _side_allows(
        policies, "Ingress", target, source, port
    )
