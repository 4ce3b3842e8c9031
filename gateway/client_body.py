"""The client's request body, bounded before anything is forwarded: at most the route's limit (413 beyond
it), a declared length that is a plain number, the whole body read only when it is small."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from common.errors import HTTP_MESSAGES, ApiError, BadRequest
from gateway.http1 import StreamedBody

CHUNK_SIZE = 64 * 1024
# A request body up to this size is read whole and sent with the head in one write (JSON bodies); a
# larger one (a photo upload) is streamed through in CHUNK_SIZE pieces, never held whole.
STREAM_ABOVE = CHUNK_SIZE


def client_body(environ: dict[str, Any], limit: int) -> bytes | StreamedBody:
    """The request body, at most `limit` bytes (413 beyond it): `max_body_bytes` unless the route
    manifest gives the route its own. Small bodies are read whole; larger ones are streamed."""
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length:
        if not (length.isdigit() and length.isascii()):
            raise BadRequest("Invalid Content-Length")
        size = int(length)
        if size > limit:
            raise ApiError(HTTP_MESSAGES[413], 413)
        if size <= STREAM_ABOVE:
            return stream.read(size) if size else b""
        return StreamedBody(_client_chunks(stream, size, size), size)
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    start = _read_up_to(stream, min(STREAM_ABOVE, limit) + 1)
    if len(start) > limit:
        raise ApiError(HTTP_MESSAGES[413], 413)
    if len(start) <= STREAM_ABOVE:
        return start
    return StreamedBody(_client_chunks(stream, None, limit, start), None)


def _read_up_to(stream: Any, count: int) -> bytes:
    """Up to `count` bytes of a chunked body: fewer only at its end."""
    parts, have = [], 0
    while have < count and (part := _read_client(stream, count - have)):
        parts.append(part)
        have += len(part)
    return b"".join(parts)


def _client_chunks(stream: Any, length: int | None, limit: int, start: bytes = b"") -> Iterator[bytes]:
    """The client's body in pieces of at most CHUNK_SIZE as it arrives: exactly `length` bytes, or up to
    the end of a chunked body, which is refused with 413 (the upstream request broken off) past `limit`."""
    sent = len(start)
    if start:
        yield start
    while length is None or sent < length:
        chunk = _read_client(stream, CHUNK_SIZE if length is None else min(CHUNK_SIZE, length - sent))
        if not chunk:
            if length is None:
                return
            raise BadRequest("Incomplete request body")
        sent += len(chunk)
        if sent > limit:
            raise ApiError(HTTP_MESSAGES[413], 413)
        yield chunk


def _read_client(stream: Any, count: int) -> bytes:
    try:
        return stream.read(count)
    except Exception as exc:  # the client went away mid-body: its fault, not the upstream instance's
        raise BadRequest("Incomplete request body") from exc
