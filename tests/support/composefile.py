"""Reads docker-compose.yml the way `docker compose config` would (interpolation from an env file).

No Docker engine runs on the development machines, so the compose file is checked statically; this is
the part of compose's behaviour those checks need, and nothing more.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
# $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR
_TOKEN = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?$", re.S)


class InterpolationError(ValueError):
    """A `$` expression compose would reject, or a required variable that is not set."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments skipped; one pair of surrounding quotes removed."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InterpolationError(f"{path.name}: not KEY=VALUE: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def variables_in(text: str) -> list[tuple[str, str | None, str | None]]:
    """(name, operator, argument) of every variable reference in `text`."""
    found = []
    for match in _TOKEN.finditer(text):
        if match.group("escaped"):
            continue
        if match.group("bare"):
            found.append((match.group("bare"), None, None))
            continue
        if match.group("braced") is None:
            raise InterpolationError(f"invalid `$` in {text!r} (write $$ for a literal dollar)")
        braced = _BRACED.match(match.group("braced"))
        if braced is None:
            raise InterpolationError(f"invalid interpolation ${{{match.group('braced')}}} in {text!r}")
        found.append((braced.group("name"), braced.group("op"), braced.group("arg")))
    return found


def interpolate(text: str, env: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("bare"):
            return env.get(match.group("bare"), "")
        if match.group("braced") is None:
            raise InterpolationError(f"invalid `$` in {text!r}")
        braced = _BRACED.match(match.group("braced"))
        if braced is None:
            raise InterpolationError(f"invalid interpolation in {text!r}")
        name, op, arg = braced.group("name", "op", "arg")
        value = env.get(name)
        if op in (":-", ":?") and value == "":
            value = None
        if value is not None:
            return value
        if op in (":-", "-"):
            return interpolate(arg or "", env)
        raise InterpolationError(f"variable {name} is not set ({arg or 'required'})")

    return _TOKEN.sub(substitute, text)


def _interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def load_raw(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The YAML with anchors and merge keys resolved, before interpolation."""
    return yaml.safe_load(path.read_text())


def load(path: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE) -> dict[str, Any]:
    """The compose model as `docker compose config` would see it with `env_file` as `.env`."""
    return _interpolate_tree(load_raw(path), read_env_file(env_file))


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, whether written as a mapping or as a list of KEY=VALUE."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def one_shot_jobs(model: dict[str, Any]) -> set[str]:
    """Services others wait on with `service_completed_successfully`."""
    jobs = set()
    for service in model["services"].values():
        for name, condition in (service.get("depends_on") or {}).items():
            if condition.get("condition") == "service_completed_successfully":
                jobs.add(name)
    return jobs
