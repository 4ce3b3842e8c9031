"""Wires the shared HTTP conventions into a Flask app: request ids, access log, errors, body limit."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from typing import Any

from flask import Flask, Response, g, request
from flask.sessions import SessionInterface
from werkzeug.routing import IntegerConverter, Map

from common.errors import BadRequest, register_error_handlers
from common.inputs import MAX_ID
from common.logs import ACCESS_LOGGER, access_line, log_access
from common.settings import BaseServiceSettings

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger(ACCESS_LOGGER)


def valid_request_id(candidate: str) -> bool:
    return _VALID_REQUEST_ID.match(candidate) is not None


class _RequestIds:
    """32 hex digits, as a uuid4's hex: a random prefix per process (drawn again in a forked worker) and
    a counter. Unique without the system call for randomness that uuid4 makes on every request; a
    request id names a request in the logs, it is not a secret."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_request_ids = _RequestIds()
new_request_id = _request_ids.new


def incoming_request_id() -> str:
    """Reuse a well-formed upstream request id, otherwise mint one."""
    candidate = request.headers.get(REQUEST_ID_HEADER, "")
    return candidate if valid_request_id(candidate) else new_request_id()


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in a route: ASCII digits only, at most a signed 64-bit value; anything else is a 404.
    (Werkzeug's own takes `\\d+`: any Unicode digit, any length.)"""

    regex = r"[0-9]{1,19}"

    def __init__(
        self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int = MAX_ID, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class NoCookieSessions(SessionInterface):
    """Identity is the bearer token: no route keeps state in Flask's signed cookie session, so none is
    opened (the default builds a signing serializer on every request)."""

    def open_session(self, app: Flask, request: Any) -> None:
        return None

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        return None


def init_web(app: Flask, settings: BaseServiceSettings) -> None:
    """Call before registering blueprints: their `<int:...>` rules take the converter set here."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.session_interface = NoCookieSessions()
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    register_error_handlers(app)

    @app.before_request
    def _start_request() -> None:
        g.request_id = incoming_request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _finish_request(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Tokens, profiles and bookings must never sit in a shared or browser cache; the few public
        # reads that may be cached say so themselves.
        response.headers.setdefault("Cache-Control", "no-store")
        if request.path not in ("/health", "/ready", "/metrics") and access_log.isEnabledFor(logging.INFO):
            identity = g.get("identity")
            line = access_line(
                method=request.method,
                path=request.path,
                status=response.status_code,
                duration_ns=int((time.perf_counter() - g.get("started", time.perf_counter())) * 1e9),
                request_id=g.get("request_id", ""),
                client_ip=request.remote_addr,
                user_id=identity.user_id if identity is not None else None,
            )
            log_access(line)
        return response


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong."""
    raw = request.get_data(cache=True)
    if not raw:
        raise BadRequest("Request body must be a JSON object")
    try:
        body = request.get_json(force=True, silent=False)
    except Exception as exc:
        raise BadRequest("Malformed JSON body") from exc
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body
