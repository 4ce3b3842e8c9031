"""One JSON error envelope for every service: `{"error": "..."}` (or the seed's `{"message": ...}`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Service unavailable",
}
RETRY_AFTER_SECONDS = "1"


class ApiError(Exception):
    """A failure with an HTTP status and a message meant for the client."""

    status = 400

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        key: str = "error",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.key = key
        self.headers = dict(headers or {})


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429


def error_response(
    status: int, message: str, key: str = "error", headers: Mapping[str, str] | None = None
) -> Response:
    response = jsonify({key: message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """JSON for every error; never an HTML page or a stack trace."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message, error.key, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = error_response(status, HTTP_MESSAGES.get(status, error.name))
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error: %s", type(error).__name__)
        return error_response(500, "Internal server error")


def register_database_outage(app: Flask) -> None:
    """Every service answers "my database is down" the same way: 503 `{"error": "Service unavailable"}`
    with `Retry-After: 1` (the gateway's breaker counts it against the instance, clients may retry):
    a database that cannot be reached or does not answer in time (connect, pool or statement timeout)."""
    from sqlalchemy import exc as sa_exc  # here: the gateway, which has no database, never imports it

    def unavailable(error: Exception) -> Response:
        log.error("database unavailable: %s", type(getattr(error, "orig", None) or error).__name__)
        return error_response(503, HTTP_MESSAGES[503], headers={"Retry-After": RETRY_AFTER_SECONDS})

    for error_class in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError):
        app.register_error_handler(error_class, unavailable)


# Domain exception -> (status, JSON key, message): each service's one table (its `api.ERRORS`).
ErrorTable = Mapping[type[Exception], tuple[int, str, str]]


def register_error_table(
    app: Flask,
    base: type[Exception],
    table: ErrorTable,
    headers: Callable[[Exception], Mapping[str, str] | None] = lambda _error: None,
) -> None:
    """Answers every `base` exception as its table row says; one missing from the table is a bug: a 500."""

    @app.errorhandler(base)
    def _mapped(error: Exception) -> Response:
        status, key, message = table.get(type(error), (500, "error", "Internal server error"))
        return error_response(status, message, key, headers(error))
