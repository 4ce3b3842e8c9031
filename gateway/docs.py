"""`/api/docs`: the OpenAPI 3 document of every public path, and a browsable page served locally."""

from __future__ import annotations

import json
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


@docs_blueprint.get("/api/docs")
@docs_blueprint.get("/api/docs/")
def docs_page() -> Response:
    return send_from_directory(PACKAGE_DIR / "static", "docs.html", max_age=300)


@docs_blueprint.get("/api/docs/openapi.json")
def openapi_document() -> Response:
    return jsonify(load_spec())
