"""The proxy path: `/api/*` forwarded to the owning service and its answer relayed unchanged.

This is the gateway's hot path, so it is a plain WSGI callable rather than a Flask view: building a
Flask request and response around a relayed answer cost more CPU than the proxying itself. It keeps
the house conventions by hand (request id, JSON errors, `nosniff`, `no-store` unless the service said
otherwise, CORS, the access line); everything else (health, readiness, docs) goes to the Flask app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import orjson

from common.auth import Identity
from common.errors import ApiError, BadRequest, NotFound
from common.logs import ACCESS_LOGGER, access_line, log_access
from common.near_cache import COPY_HEADER, RETIRED_HEADER
from common.web import REQUEST_ID_HEADER, new_request_id, valid_request_id
from gateway.client_body import CHUNK_SIZE, client_body
from gateway.copies import COPY_STATUS_HEADER, AnswerCopies, reader_of
from gateway.edge import Edge, cors_headers, is_preflight, with_vary_origin
from gateway.failures import UpstreamError, UpstreamFailure
from gateway.refresh import AheadRefresher
from gateway.routing import body_limit, canonical_path, service_for
from gateway.transport import TransportError, UpstreamResponse
from gateway.upstream import OutgoingRequest, UpstreamClient

log = logging.getLogger(__name__)
access_log = logging.getLogger(ACCESS_LOGGER)

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]

# Never relayed from the client: hop-by-hop headers, identity headers (services verify the token
# themselves), the client chain and request id, which the gateway sets, and Cache-Control: nginx's edge
# cache honours a client's `no-cache`, but the services' caches are retired by every write (never stale
# the way a TTL cache is), and a header that sent every read to the database would let any anonymous
# client choose the expensive path. Operators and benchmarks reach a service directly to bypass them.
DROPPED_REQUEST_HEADERS = frozenset(
    {"CONNECTION", "KEEP_ALIVE", "PROXY_AUTHENTICATE", "PROXY_AUTHORIZATION", "TE", "TRAILER", "TRAILERS",
     "TRANSFER_ENCODING", "UPGRADE", "HOST", "CONTENT_LENGTH", "X_AUTHENTICATED_USER_ID",
     "X_AUTHENTICATED_USER_ROLE", "X_FORWARDED_FOR", "X_REQUEST_ID", "CACHE_CONTROL", "PRAGMA"}
)  # fmt: skip
RESPONSE_DROPPED = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "server", "date", COPY_HEADER.lower(),
     RETIRED_HEADER.lower()}
)  # fmt: skip
# Set by the gateway on every answer (a relayed one's own are replaced).
GATEWAY_SET_HEADERS = frozenset({"vary", "x-request-id", "x-content-type-options"})
BUFFER_LIMIT = 256 * 1024
PATH_SAFE = "/:@!$&'()*+,;=-._~"
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class ProxyApp:
    """WSGI middleware in front of the gateway's Flask app: takes every `/api/*` path but the docs."""

    def __init__(
        self,
        fallback: Wsgi,
        edge: Edge,
        client: UpstreamClient,
        *,
        max_body_bytes: int,
        origins: frozenset[str],
        copies: AnswerCopies | None = None,
        refresher: AheadRefresher | None = None,
    ) -> None:
        self._fallback = fallback
        self._edge = edge
        self._client = client
        self._copies = copies or AnswerCopies(None)
        self._refresher = refresher or AheadRefresher()
        self._max_body = max_body_bytes
        self._origins = origins
        self._header_names: dict[str, str] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = environ.get("PATH_INFO", "")
        if not raw_path.startswith("/api/") or raw_path.startswith("/api/docs"):
            return self._fallback(environ, start_response)
        started = time.perf_counter()
        candidate = environ.get("HTTP_X_REQUEST_ID", "")
        exchange = _Exchange(environ, candidate if valid_request_id(candidate) else None)
        try:
            status, headers, body = self._forward(exchange)
        except ApiError as error:
            status, headers, body = _error(error.status, error.message, error.key, error.headers)
        except Exception as error:  # never a stack trace to the client
            log.exception("unhandled error: %s", type(error).__name__)
            status, headers, body = _error(500, "Internal server error")
        headers = self._finish_headers(exchange, headers)
        start_response(STATUS_LINES.get(status, f"{status} Unknown"), headers)
        if access_log.isEnabledFor(logging.INFO):
            identity = exchange.identity
            log_access(
                access_line(
                    method=exchange.method,
                    path=raw_path,
                    status=status,
                    duration_ns=int((time.perf_counter() - started) * 1e9),
                    request_id=exchange.request_id,
                    client_ip=exchange.client_ip,
                    user_id=identity.user_id if identity is not None else None,
                )
            )
        return body

    def _forward(self, exchange: _Exchange) -> tuple[int, list[tuple[str, str]], Iterable[bytes]]:
        environ, method = exchange.environ, exchange.method
        if is_preflight(method, environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")):
            return 204, [], []
        path = canonical_path(environ.get("PATH_INFO", ""))
        if path is None:
            raise BadRequest("Invalid path")
        exchange.identity = self._edge.admit(
            method, path, environ.get("HTTP_AUTHORIZATION"), exchange.client_ip
        )
        service = service_for(path)
        if service is None:
            raise NotFound("Not found")
        target, epochs, copy_status = _target(path, environ), None, None
        reader = reader_of(exchange.identity)
        if self._copies.covers(method, service):
            epochs, copy, due = self._copies.lookup(target, reader)
            if copy is not None:
                if due:
                    self._refresh_ahead(exchange, service, target, reader)
                return 200, [*copy.headers, (COPY_STATUS_HEADER, "HIT")], [copy.body]
            copy_status = (COPY_STATUS_HEADER, "MISS" if epochs.trusted else "BYPASS")
        outgoing = OutgoingRequest(
            method,
            target,
            self._outgoing_headers(exchange),
            client_body(environ, body_limit(method, path, self._max_body)),
        )
        try:
            upstream = self._client.send(service, outgoing)
            headers = _relayed_headers(upstream)
            self._copies.after_write(method, service, path, reader, upstream)
            kept = None if epochs is None else self._copies.keep(epochs, target, reader, upstream, headers)
            if copy_status is not None:
                headers.append(copy_status)
            return upstream.status, headers, kept if kept is not None else _relayed_body(upstream)
        except UpstreamError as exc:
            log.warning("upstream failure: %s", exc)
            raise exc.to_api_error() from exc
        except TransportError as exc:  # the answer broke off while it was read
            log.warning("upstream failure: %s: %s", service, exc)
            raise UpstreamError(UpstreamFailure.BROKEN, service).to_api_error() from exc

    def _refresh_ahead(self, exchange: _Exchange, service: str, target: str, reader: str | None) -> None:
        """Asks the service for `target` again in the background, as this reader (gateway/refresh.py); a
        request whose headers could not be relayed is still answered from the copy, and refreshes nothing."""
        try:
            headers = self._outgoing_headers(exchange)
        except BadRequest:
            return
        headers["X-Request-ID"] = new_request_id()

        def refresh() -> bool:
            epochs = self._copies.epochs()
            upstream = self._client.send(service, OutgoingRequest("GET", target, headers, b""))
            if self._copies.keep(epochs, target, reader, upstream, _relayed_headers(upstream)) is not None:
                return True
            for _ in upstream.stream(CHUNK_SIZE):  # read to its end: the connection goes back to the pool
                pass
            return False

        self._refresher.submit(f"{reader}|{target}", refresh)

    def _outgoing_headers(self, exchange: _Exchange) -> dict[str, str]:
        headers: dict[str, str] = {}
        for key, value in exchange.environ.items():
            if key.startswith("HTTP_"):
                name = key[5:]
                if name in DROPPED_REQUEST_HEADERS:
                    continue
                header = self._header_names.get(name) or self._header_name(name)
            elif key == "CONTENT_TYPE" and value:
                header = "Content-Type"
            else:
                continue
            if "\r" in value or "\n" in value:
                raise BadRequest("Invalid header value")
            headers[header] = value
        environ = exchange.environ
        headers["X-Request-ID"] = exchange.request_id
        headers["X-Forwarded-For"] = _forwarded_for(environ, exchange.client_ip)
        headers["X-Forwarded-Proto"] = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get(
            "wsgi.url_scheme", "http"
        )
        return headers

    def _header_name(self, environ_name: str) -> str:
        name = "-".join(part.capitalize() for part in environ_name.split("_"))
        if len(self._header_names) < 1000:  # bounded: header names are the client's choice
            self._header_names[environ_name] = name
        return name

    def _finish_headers(self, exchange: _Exchange, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        names = {name.lower() for name, _ in headers}
        vary = next((value for name, value in headers if name.lower() == "vary"), None)
        headers = [(name, value) for name, value in headers if name.lower() not in GATEWAY_SET_HEADERS]
        headers.append(("Vary", with_vary_origin(vary)))
        headers.append((REQUEST_ID_HEADER, exchange.request_id))
        headers.append(("X-Content-Type-Options", "nosniff"))
        if "cache-control" not in names:
            headers.append(("Cache-Control", "no-store"))
        headers += cors_headers(exchange.environ.get("HTTP_ORIGIN"), exchange.method, self._origins)
        return headers


class _Exchange:
    """One request on the proxy path, as far as it got."""

    __slots__ = ("client_ip", "environ", "identity", "method", "request_id")

    def __init__(self, environ: dict[str, Any], request_id: str | None) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET")
        self.request_id = request_id or new_request_id()
        self.client_ip: str = environ.get("REMOTE_ADDR") or "unknown"
        self.identity: Identity | None = None


def _target(path: str, environ: dict[str, Any]) -> str:
    quoted = quote(path, safe=PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    return f"{quoted}?{query}" if query else quoted


def _forwarded_for(environ: dict[str, Any], client_ip: str) -> str:
    """The client as trusted proxies saw it, then our peer; hops the client wrote itself are dropped."""
    peer = environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", client_ip)
    return ", ".join(dict.fromkeys(ip for ip in (client_ip, peer) if ip))


def _relayed_headers(upstream: UpstreamResponse) -> list[tuple[str, str]]:
    return [(name, value) for name, value in upstream.headers if name.lower() not in RESPONSE_DROPPED]


def _relayed_body(upstream: UpstreamResponse) -> Iterable[bytes]:
    length = upstream.header("Content-Length") or ""
    if length.isdigit() and int(length) <= BUFFER_LIMIT:
        return [upstream.read()]
    return _Streamed(upstream.stream(CHUNK_SIZE))


class _Streamed:
    """A large answer relayed chunk by chunk; `close` (called by the server) frees the connection."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._chunks.close()  # type: ignore[attr-defined]


def _error(
    status: int, message: str, key: str = "error", extra: dict[str, str] | None = None
) -> tuple[int, list[tuple[str, str]], list[bytes]]:
    body = orjson.dumps({key: message}) + b"\n"
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    headers += list((extra or {}).items())
    return status, headers, [body]
