"""HTTP/1.1 on a plain socket, as far as the gateway needs it: a request in one `sendall`, an answer's
head split by line (the standard library's `http.client` runs every head through the e-mail parser, about a
third of a proxied request's CPU), bodies by length, chunked or until the server closes."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping

RECV_SIZE = 65536
MAX_HEAD_BYTES = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class MalformedResponse(Exception):
    pass


class Connection:
    """One socket and the bytes read from it beyond the current message."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.since = 0.0  # when it went idle

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self) -> bytes:
        chunk = self.sock.recv(RECV_SIZE)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        return chunk

    def read_exactly(self, count: int) -> bytes:
        data, self.buffer = self.buffer, b""
        parts, have = [data], len(data)
        while have < count:
            chunk = self.recv()
            parts.append(chunk)
            have += len(chunk)
        joined = b"".join(parts)
        self.buffer = joined[count:]
        return joined[:count]

    def read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise MalformedResponse("line too long")
            self.buffer += self.recv()
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line

    def close(self) -> None:
        self.sock.close()


def parse_head(head: bytes) -> tuple[str, int, list[tuple[str, str]]]:
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit() or not code.isascii():
        raise MalformedResponse(status_line[:40])
    headers = []
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise MalformedResponse("header line without a colon")
        headers.append((name.strip(), value.strip()))
    return version, int(code), headers


def chunk_size(line: bytes) -> int:
    digits = line.split(b";", 1)[0].strip()
    if not digits or len(digits) > 16:
        raise MalformedResponse("bad chunk size")
    return int(digits, 16)


class StreamedBody:
    """A request body forwarded while it is read: `length` bytes, or chunked when the length is unknown.
    Its chunks can be read once, so a request carrying one is never resent."""

    __slots__ = ("chunks", "length")

    def __init__(self, chunks: Iterator[bytes], length: int | None) -> None:
        self.chunks = chunks
        self.length = length


def encode_head(method: str, target: str, host: str, headers: Mapping[str, str], framing: str) -> bytes:
    """The request line and headers; `framing` is the body's Content-Length or Transfer-Encoding line."""
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
    lines.append(framing)
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def encode_request(method: str, target: str, host: str, headers: Mapping[str, str], body: bytes) -> bytes:
    framing = f"Content-Length: {len(body)}\r\n" if body or method in BODY_METHODS else ""
    return encode_head(method, target, host, headers, framing) + body


def send_streamed(
    sock: socket.socket, method: str, target: str, host: str, headers: Mapping[str, str], body: StreamedBody
) -> None:
    """Sends the head, then each chunk as the client's body yields it (chunk-coded without a length)."""
    if body.length is not None:
        sock.sendall(encode_head(method, target, host, headers, f"Content-Length: {body.length}\r\n"))
        for chunk in body.chunks:
            sock.sendall(chunk)
        return
    sock.sendall(encode_head(method, target, host, headers, "Transfer-Encoding: chunked\r\n"))
    for chunk in body.chunks:
        sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
    sock.sendall(b"0\r\n\r\n")
