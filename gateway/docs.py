"""`/api/docs`: the OpenAPI 3 document of every public path, and a browsable page served locally."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, send_from_directory

PACKAGE_DIR = Path(__file__).parent
SPEC_PATH = PACKAGE_DIR / "openapi.json"

docs_blueprint = Blueprint("docs", __name__)


@cache
def load_spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@cache
def docs_csp() -> str:
    """Only the page's own inline script and style run (by hash); it cannot be framed."""
    html = (PACKAGE_DIR / "static" / "docs.html").read_text()
    script, style = (
        " ".join(f"'sha256-{_sha256(body)}'" for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S))
        for tag in ("script", "style")
    )
    return (
        f"default-src 'none'; connect-src 'self'; script-src {script}; style-src {style}; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@docs_blueprint.get("/api/docs")
@docs_blueprint.get("/api/docs/")
def docs_page() -> Response:
    response = send_from_directory(PACKAGE_DIR / "static", "docs.html", max_age=300)
    response.headers["Content-Security-Policy"] = docs_csp()
    response.headers["X-Frame-Options"] = "DENY"
    return response


@docs_blueprint.get("/api/docs/openapi.json")
def openapi_document() -> Response:
    return jsonify(load_spec())
