"""The catch-all route: forwards `/api/*` to the owning service and relays its answer unchanged."""

from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, request

from common.errors import NotFound
from gateway.failures import UpstreamError, UpstreamFailure
from gateway.routing import service_for
from gateway.transport import TransportError, UpstreamResponse
from gateway.upstream import OutgoingRequest, UpstreamClient

log = logging.getLogger(__name__)

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
     "transfer-encoding", "upgrade", "host", "content-length"}
)  # fmt: skip
# Never relayed from the client: identity headers (services verify the token themselves), and the
# client chain and request id, which the gateway sets.
GATEWAY_OWNED = frozenset(
    {"x-authenticated-user-id", "x-authenticated-user-role", "x-forwarded-for", "x-request-id"}
)
RESPONSE_DROPPED = frozenset({"connection", "keep-alive", "transfer-encoding", "server", "date"})
BUFFER_LIMIT = 256 * 1024
CHUNK_SIZE = 64 * 1024

proxy_blueprint = Blueprint("proxy", __name__)


@proxy_blueprint.route("/api/<path:_rest>", methods=PROXY_METHODS)
def forward(_rest: str) -> Response:
    service = service_for(g.canonical_path)
    if service is None:
        raise NotFound("Not found")
    outgoing = OutgoingRequest(
        method=request.method,
        path=_target_path(),
        headers=_outgoing_headers(),
        body=request.get_data(cache=False),  # bounded by MAX_CONTENT_LENGTH (413 beyond it)
    )
    client: UpstreamClient = current_app.extensions["upstream_client"]
    try:
        upstream = client.send(service, outgoing)
    except UpstreamError as exc:
        log.warning("upstream failure: %s", exc)
        raise exc.to_api_error() from exc
    return _relay(upstream, service)


def _target_path() -> str:
    path = quote(g.canonical_path, safe="/:@!$&'()*+,;=-._~")
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path


def _outgoing_headers() -> dict[str, str]:
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in GATEWAY_OWNED
    }
    headers["X-Request-ID"] = g.request_id
    headers["X-Forwarded-For"] = _forwarded_for()
    headers["X-Forwarded-Proto"] = request.headers.get("X-Forwarded-Proto", request.scheme)
    return headers


def _forwarded_for() -> str:
    """The client as trusted proxies saw it, then our peer; hops the client wrote itself are dropped."""
    peer = request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR", request.remote_addr)
    return ", ".join(dict.fromkeys(ip for ip in (request.remote_addr, peer) if ip))


def _relay(upstream: UpstreamResponse, service: str) -> Response:
    headers = [(k, v) for k, v in upstream.headers if k.lower() not in RESPONSE_DROPPED]
    length = upstream.header("Content-Length") or ""
    if not (length.isdigit() and int(length) <= BUFFER_LIMIT):
        return Response(
            upstream.stream(CHUNK_SIZE), status=upstream.status, headers=headers, direct_passthrough=True
        )
    try:
        body = upstream.read()
    except TransportError as exc:
        raise UpstreamError(UpstreamFailure.BROKEN, service).to_api_error() from exc
    return Response(body, status=upstream.status, headers=headers)
