"""The locked dependency set (`requirements.lock`, hashed, made by uv from pyproject.toml) and its slices.

    python infra/docker/requirements.py slice [EXTRA ...]   the lock's entries one image needs (stdout)
    python infra/docker/requirements.py compile             rewrite requirements.lock (`make lock`)
    python infra/docker/requirements.py check               exit 1 when the lock is stale

`slice` runs in a bare python image before anything is installed, so this module uses the standard
library only. A slice is the closure of pyproject's `dependencies` plus the named extras over the lock's
`# via` annotations: an entry belongs when its requirer does. The lock's first line records a digest of
pyproject's dependency tables, so an edit there without `make lock` is caught (`check`, tests/test_lock.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "home-rental-platform"
DIGEST_PREFIX = "# pyproject-dependencies-sha256: "
COMPILE_ARGS = ("--all-extras", "--generate-hashes", "--universal", "--python-version", "3.11", "--no-header")


@dataclass
class Entry:
    """One pinned package of the lock: its text block and the packages it is required by."""

    name: str
    lines: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalize(match.group(1))


def requirement_extras(requirement: str) -> list[str]:
    match = re.match(r"\s*[A-Za-z0-9._-]+\s*\[([^\]]*)\]", requirement)
    return [e.strip() for e in match.group(1).split(",")] if match else []


def load_project(pyproject: Path) -> dict:
    with pyproject.open("rb") as handle:
        return tomllib.load(handle)["project"]


def dependency_digest(project: dict) -> str:
    """Digest of what the lock is made from: requires-python, dependencies, optional-dependencies."""
    tables = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {k: sorted(v) for k, v in project.get("optional-dependencies", {}).items()},
    }
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()


def root_requirements(project: dict, extras: list[str]) -> list[str]:
    """pyproject's requirements for the base plus `extras`, following self-references like `pkg[a,b]`."""
    optional = project.get("optional-dependencies", {})
    found, pending, seen = list(project.get("dependencies", [])), list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r}")
        seen.add(extra)
        for requirement in optional[extra]:
            if requirement_name(requirement) == PROJECT:
                pending += requirement_extras(requirement)
            else:
                found.append(requirement)
    return found


def parse_lock(text: str) -> list[Entry]:
    entries: list[Entry] = []
    in_via = False
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            entries.append(Entry(requirement_name(line), [line]))
            in_via = False
        elif entries and line.startswith("    --hash"):
            entries[-1].lines.append(line)
        elif entries and line.strip().startswith("# via"):
            rest = line.strip()[len("# via") :].strip()
            in_via = not rest
            if rest:
                entries[-1].via.add(_via_name(rest))
        elif entries and in_via and line.strip().startswith("#   "):
            entries[-1].via.add(_via_name(line.strip()[1:].strip()))
    return entries


def _via_name(text: str) -> str:
    return PROJECT if text.startswith(PROJECT) else requirement_name(text)


def lock_slice(lock_text: str, project: dict, extras: list[str]) -> list[Entry]:
    """The lock entries an install of the base plus `extras` needs (marker variants included)."""
    entries = parse_lock(lock_text)
    wanted = {requirement_name(r) for r in root_requirements(project, extras)}
    grew = True
    while grew:
        before = len(wanted)
        wanted |= {e.name for e in entries if e.via & wanted}
        grew = len(wanted) != before
    return [e for e in entries if e.name in wanted]


def compile_lock(pyproject: Path, lock: Path, uv: str = "uv") -> None:
    result = subprocess.run(
        [uv, "pip", "compile", str(pyproject.name), *COMPILE_ARGS, "--quiet"],
        cwd=pyproject.parent, capture_output=True, text=True, check=True,
    )  # fmt: skip
    digest = dependency_digest(load_project(pyproject))
    header = f"{DIGEST_PREFIX}{digest}\n# Made by `make lock` (uv pip compile {' '.join(COMPILE_ARGS)}); do not edit.\n"
    lock.write_text(header + result.stdout)


def stale_reasons(pyproject: Path, lock: Path) -> list[str]:
    """Why the lock does not describe pyproject.toml any more (empty when it does)."""
    project = load_project(pyproject)
    text = lock.read_text()
    first = text.splitlines()[0] if text else ""
    reasons = []
    if first != DIGEST_PREFIX + dependency_digest(project):
        reasons.append("pyproject.toml's dependency tables changed since the lock was made")
    locked = {e.name for e in parse_lock(text)}
    extras = list(project.get("optional-dependencies", {}))
    missing = {requirement_name(r) for r in root_requirements(project, extras)} - locked
    if missing:
        reasons.append(f"not in the lock: {', '.join(sorted(missing))}")
    return reasons


def main(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("slice", [])
    pyproject, lock = ROOT / "pyproject.toml", ROOT / "requirements.lock"
    if not pyproject.exists():  # inside an image build: both files sit next to this script
        pyproject, lock = Path("pyproject.toml"), Path("requirements.lock")
    if command == "slice":
        for entry in lock_slice(lock.read_text(), load_project(pyproject), args):
            print("\n".join(entry.lines).rstrip(" \\"))
        return 0
    if command == "compile":
        compile_lock(pyproject, lock, uv=args[0] if args else "uv")
        return 0
    if command == "check":
        reasons = stale_reasons(pyproject, lock)
        for reason in reasons:
            print(f"requirements.lock is stale: {reason} (run `make lock`)", file=sys.stderr)
        return 1 if reasons else 0
    raise SystemExit(f"unknown command {command!r}; use slice, compile or check")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
