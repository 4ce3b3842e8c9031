"""`/health` (the process is alive) and `/ready` (its dependencies answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from flask import Blueprint, Response, jsonify

log = logging.getLogger(__name__)

Check = Callable[[], object]


def health_blueprint(checks: Mapping[str, Check], *, required: frozenset[str] | None = None) -> Blueprint:
    """Each check raises when its dependency is down; `required` ones decide readiness (default: all)."""
    blueprint = Blueprint("health", __name__)
    must_pass = set(checks) if required is None else set(required)

    @blueprint.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @blueprint.get("/ready")
    def ready() -> tuple[Response, int]:
        results = {name: _run(name, check) for name, check in checks.items()}
        ok = all(results[name] == "ok" for name in must_pass)
        body = {"status": "ok" if ok else "unavailable", "checks": results}
        return jsonify(body), 200 if ok else 503

    return blueprint


def _run(name: str, check: Check) -> str:
    try:
        check()
    except Exception as exc:
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
        return "down"
    return "ok"
