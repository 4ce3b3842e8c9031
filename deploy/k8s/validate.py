"""`make lint`'s Kubernetes and CI checks, all offline.

Every overlay renders with `kubectl kustomize` and every rendered object validates strictly (unknown
fields are errors) against the Kubernetes OpenAPI schemas that PyPI `kubernetes-validate` ships; the
GitHub Actions workflows pass actionlint and the workflow JSON schema.

    python -m deploy.k8s.validate
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml

from deploy.k8s import edge
from deploy.k8s.secrets import ensure_dev_secrets

K8S = Path(__file__).parent
ROOT = K8S.parent.parent
OVERLAYS = ("dev-cluster", "production")
KUBERNETES_VERSION = kubernetes_validate.latest_version()


def render(overlay: str) -> list[dict]:
    """The objects `kubectl apply -k` would send (the edge config and dev-cluster's secrets made first)."""
    edge.write()
    if overlay == "dev-cluster":
        ensure_dev_secrets()
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {overlay} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_errors(objects: list[dict]) -> list[str]:
    errors = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            errors.append(f"{name}: no schema ({exc})")
    return errors


def actionlint_errors() -> list[str]:
    actionlint = Path(sys.executable).parent / "actionlint"
    if not actionlint.exists():
        actionlint = Path(shutil.which("actionlint") or "actionlint")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.y*ml"))
    if not workflows:
        return ["no workflow in .github/workflows"]
    errors = []
    for argv in (
        [str(actionlint), "-no-color", *workflows],
        # SchemaStore's workflow schema as vendored by check-jsonschema: a second, independent reading.
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *workflows,
        ],
    ):
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            errors.append(result.stdout.strip() or result.stderr.strip())
    return errors


def main() -> int:
    failures = []
    for overlay in OVERLAYS:
        objects = render(overlay)
        errors = schema_errors(objects)
        failures += [f"{overlay}: {e}" for e in errors]
        print(f"{overlay}: {len(objects)} objects, schema v{KUBERNETES_VERSION} strict: {len(errors)} errors")
    lint = actionlint_errors()
    failures += lint
    print(f"workflows: actionlint and schema {'clean' if not lint else 'failed'}")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
