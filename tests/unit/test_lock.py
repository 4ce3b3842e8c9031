"""requirements.lock: current with pyproject.toml, every entry pinned and hashed, and each image's slice
carries what its service imports (and the gateway's carries no matplotlib)."""

from __future__ import annotations

import ast
import re
import shutil
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from infra.docker import requirements

ROOT = requirements.ROOT

EXTRA_OF = {"gateway": "gateway", "user_service": "user", "booking_service": "booking", "etl_service": "etl"}
FIRST_PARTY = {p.parent.name for p in ROOT.glob("*/__init__.py")}


def slice_names(*extras: str) -> set[str]:
    project = requirements.load_project(ROOT / "pyproject.toml")
    return {
        e.name for e in requirements.lock_slice((ROOT / "requirements.lock").read_text(), project, extras)
    }


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def third_party_imports(*roots: str) -> set[str]:
    """Top-level third-party imports of every first-party module reachable from `roots` (all modules of a
    package, or one module), following first-party imports into common/, service_discovery/ and infra/."""
    pending = [
        m
        for r in roots
        for m in (
            [r]
            if module_file(r) and module_file(r).name != "__init__.py"
            else [".".join(f.relative_to(ROOT).with_suffix("").parts) for f in (ROOT / r).rglob("*.py")]
        )
    ]
    seen: set[str] = set()
    found: set[str] = set()
    while pending:
        name = pending.pop().removesuffix(".__init__")
        if name in seen or "migrations" in name:
            continue
        seen.add(name)
        path = module_file(name)
        if path is None:
            continue
        parts = name.split(".")
        pending += [".".join(parts[:i]) for i in range(1, len(parts))]
        for imported in imported_names(path):
            top = imported.split(".")[0]
            if top in FIRST_PARTY:
                pending.append(imported)
            else:
                found.add(top)
    installed = packages_distributions()
    return {name for name in found if name in installed}


def test_lock_is_current_with_pyproject() -> None:
    assert requirements.stale_reasons(ROOT / "pyproject.toml", ROOT / "requirements.lock") == []


def test_an_edited_pyproject_makes_the_lock_stale(tmp_path: Path) -> None:
    shutil.copy(ROOT / "requirements.lock", tmp_path / "requirements.lock")
    text = (ROOT / "pyproject.toml").read_text()
    edited = text.replace('  "flask>=3.0,<4",\n', '  "flask>=3.0,<4",\n  "left-pad-unlocked>=1",\n', 1)
    assert edited != text
    (tmp_path / "pyproject.toml").write_text(edited)
    reasons = requirements.stale_reasons(tmp_path / "pyproject.toml", tmp_path / "requirements.lock")
    assert any("changed" in r for r in reasons) and any("left-pad-unlocked" in r for r in reasons)


def test_every_entry_is_pinned_exactly_and_hashed() -> None:
    entries = requirements.parse_lock((ROOT / "requirements.lock").read_text())
    assert len(entries) > 50
    for entry in entries:
        assert re.match(r"^[a-z0-9-]+(\[[^\]]+\])?==[^ ;]+", entry.lines[0]), entry.lines[0]
        assert any("--hash=sha256:" in line for line in entry.lines[1:]), f"{entry.name} has no hash"


@pytest.mark.parametrize("service", EXTRA_OF)
def test_each_image_slice_holds_what_its_service_imports(service: str) -> None:
    dists = packages_distributions()
    needed = third_party_imports(service, "service_discovery", "infra.serve", "infra.gunicorn_conf")
    names = slice_names(EXTRA_OF[service])
    for module in needed:
        assert {requirements.normalize(d) for d in dists[module]} & names, f"{service} lacks {module}"


def test_the_gateway_image_carries_no_database_driver_or_chart_library() -> None:
    names = slice_names("gateway")
    assert {"matplotlib", "numpy", "alembic", "psycopg", "pymysql", "gevent", "pytest"} & names == set()
    assert {"flask", "granian", "limits", "redis"} <= names
    assert "matplotlib" in slice_names("etl")


@pytest.mark.parametrize("service", EXTRA_OF)
def test_each_dockerfile_installs_its_own_slice_with_hashes(service: str) -> None:
    parser = DockerfileParser(path=str(ROOT / "infra/docker" / f"{service}.Dockerfile"))
    runs = [i["value"] for i in parser.structure if i["instruction"] == "RUN" and "pip install" in i["value"]]
    assert all("--require-hashes" in run and "--no-deps" in run for run in runs)
    assert any(f"requirements.py slice {EXTRA_OF[service]} " in run for run in runs)
    assert "requirements.lock" in next(i["value"] for i in parser.structure if i["instruction"] == "COPY")


def test_make_builds_the_venv_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK  := requirements.lock" in makefile
