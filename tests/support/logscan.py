"""Finds what must never be logged: password hashes, JWTs and a stack's own secrets."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path

from infra.services import StackSecrets

PATTERNS = {
    "argon2 password hash": re.compile(r"\$argon2(?:id|i|d)\$"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
}
SECRET_FILES = tuple(field.name for field in fields(StackSecrets))  # one file each under a stack's root


def log_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*.log") if p.is_file()] if directory.exists() else []


def stack_secrets(root: Path) -> dict[str, str]:
    """The secrets a stack launcher generated under `root` (see infra.services.StackSecrets.remembered)."""
    found = {}
    for name in SECRET_FILES:
        path = root / name
        if path.is_file() and (value := path.read_text().strip()):
            found[name] = value
    return found


def scan(files: Iterable[Path], secrets: dict[str, str] | None = None) -> list[str]:
    """`file:line: what` for every forbidden thing found."""
    needles = {f"secret {name}": value for name, value in (secrets or {}).items() if len(value) >= 8}
    findings = []
    for path in files:
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue  # a stack being torn down concurrently
        for number, line in enumerate(lines, 1):
            for what, pattern in PATTERNS.items():
                if pattern.search(line):
                    findings.append(f"{path}:{number}: {what}")
            findings += [f"{path}:{number}: {what}" for what, value in needles.items() if value in line]
    return findings


def scan_stack(root: Path) -> list[str]:
    """A stack's service, server and nginx logs, against its own secrets too."""
    return scan(log_files(root / "logs") + log_files(root / "nginx" / "logs"), stack_secrets(root))


def live_stack_roots() -> list[Path]:
    """Private stacks of test runs on this machine (tests.conftest.start_private_stack: `hrp-*`)."""
    return [p for p in Path(tempfile.gettempdir()).glob("hrp-*") if (p / "logs").is_dir()]
