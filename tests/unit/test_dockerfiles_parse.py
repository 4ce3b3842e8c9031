"""The service Dockerfiles parse, copy only what exists (and is not .dockerignored), and are lint-clean."""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.support import composefile

ROOT = composefile.REPO_ROOT
DOCKERFILES = sorted((ROOT / "infra" / "docker").glob("*.Dockerfile"))
SERVICES = ("gateway", "user_service", "booking_service", "etl_service")
FIRST_PARTY = {p.parent.name for p in ROOT.glob("*/__init__.py")}


def parse(source: str) -> ast.Module:
    """ast.parse, retried: CPython 3.11's AST conversion shares state across threads (gh-106905) and
    fails with SystemError when a background thread formats a traceback (which parses) at that moment."""
    for _ in range(2):
        try:
            return ast.parse(source)
        except SystemError:
            continue
    return ast.parse(source)


def instructions(path: Path) -> list[tuple[str, str]]:
    parser = DockerfileParser(path=str(path), cache_content=True)
    return [
        (item["instruction"], item["value"]) for item in parser.structure if item["instruction"] != "COMMENT"
    ]


def copy_sources(value: str) -> tuple[list[str], str]:
    parts = json.loads(value) if value.lstrip().startswith("[") else value.split()
    parts = [p for p in parts if not p.startswith("--")]
    return parts[:-1], parts[-1]


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(relative: str, patterns: list[str]) -> bool:
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate, glob = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(p, glob) or fnmatch.fnmatch(p, glob.replace("**/", "")) for p in prefixes):
            ignored = not negate
    return ignored


def copied_paths(path: Path) -> list[str]:
    sources = []
    for instruction, value in instructions(path):
        if instruction in ("COPY", "ADD"):
            assert "--from" not in value, "single-stage images only"
            sources += copy_sources(value)[0]
    return sources


def test_every_service_has_its_own_dockerfile() -> None:
    assert sorted(p.name for p in DOCKERFILES) == sorted(f"{s}.Dockerfile" for s in SERVICES)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_copy_sources_exist_and_reach_the_build_context(path: Path) -> None:
    patterns = ignore_patterns()
    for source in copied_paths(path):
        assert (ROOT / source).exists(), f"{path.name} copies missing {source}"
        assert not is_ignored(source.rstrip("/"), patterns), f"{source} is excluded by .dockerignore"
        if (ROOT / source).is_dir():
            assert any((ROOT / source).rglob("*.py")), f"{source} holds no code"


def imported_first_party(package_dir: Path) -> set[str]:
    found = set()
    for module in package_dir.rglob("*.py"):
        for node in ast.walk(parse(module.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found & FIRST_PARTY


@pytest.mark.parametrize("service", SERVICES)
def test_image_copies_every_first_party_package_its_code_imports(service: str) -> None:
    copied = {
        source.split("/")[0] for source in copied_paths(ROOT / "infra/docker" / f"{service}.Dockerfile")
    }
    needed = imported_first_party(ROOT / service) | imported_first_party(ROOT / "common") | {service}
    if service != "etl_service":
        needed.add("service_discovery")  # the entrypoint runs `python -m service_discovery run`
        needed |= imported_first_party(ROOT / "service_discovery")
    assert needed - copied == set(), f"{service} image lacks {needed - copied}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_image_shape(path: Path) -> None:
    steps = instructions(path)
    names = [name for name, _ in steps]
    values = dict(steps)
    assert names[0] == "FROM" and "slim" in values["FROM"], "slim Python base"
    user = [value for name, value in steps if name == "USER"]
    assert user and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0", (
        "numeric non-root user"
    )
    assert "HEALTHCHECK" in names and "CMD" in values["HEALTHCHECK"]
    assert "infra/docker/entrypoint.sh" in values["ENTRYPOINT"]
    install = next(i for i, (name, value) in enumerate(steps) if name == "RUN" and "pip install" in value)
    code = [i for i, (name, value) in enumerate(steps) if name == "COPY" and "pyproject.toml" not in value]
    assert install < min(code), "dependencies are installed before the code is copied (cached layer)"


def test_dependency_layer_is_identical_in_every_image() -> None:
    def prefix(path: Path) -> list[tuple[str, str]]:
        steps = instructions(path)
        install = next(i for i, (name, value) in enumerate(steps) if name == "RUN" and "pip install" in value)
        return steps[: install + 1]

    first = prefix(DOCKERFILES[0])
    assert all(prefix(path) == first for path in DOCKERFILES[1:]), (
        "images would not share the dependency layer"
    )


def test_dependency_layer_installs_what_pyproject_declares() -> None:
    result = subprocess.run(
        [sys.executable, "infra/docker/requirements.py", "slice", "booking"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert any(line.startswith("gunicorn==") for line in result.stdout.splitlines())
    assert not any(line.startswith("pytest") for line in result.stdout.splitlines()), "no dev tools"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(path: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ignore_matcher_follows_dockerignore_rules() -> None:
    assert is_ignored("tests/unit/x.py", ["tests"])
    assert is_ignored("gateway/__pycache__/a.pyc", ["**/__pycache__"])
    assert not is_ignored("gateway/app.py", ["tests", "**/__pycache__"])
    assert not is_ignored("infra/docker/x.sh", ["infra/elk"])
