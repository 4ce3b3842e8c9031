"""Uploads are streamed through the gateway, not buffered whole (issue #20).

Two halves, nothing mocked:
- the real stack (nginx → gateway on granian → booking_service on MariaDB): a photo of a few MiB uploads
  through nginx, and straight to a gateway instance with a chunked body; oversized bodies get the JSON 413;
- the gateway app in this process in front of a real HTTP upstream that hashes what it receives: the bytes
  arrive intact, and `tracemalloc` shows the gateway's peak memory does not grow with the body's size
  (measured in bytes allocated, not timed)."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask, jsonify, request
from PIL import Image
from werkzeug.serving import make_server

from common.routes import PHOTO_BODY_BYTES
from gateway import create_app
from gateway.settings import GatewaySettings
from infra.keys import ensure_keypair, sign_token
from tests.support.faults import wait_until
from tests.support.net import free_port

pytestmark = pytest.mark.timeout(180)
MiB = 1024 * 1024
TOO_LARGE = {"error": "Request body too large"}


def noise_png(width: int, height: int) -> bytes:
    """A valid PNG that barely compresses: its size is about width x height x 3 bytes."""
    pixels = hashlib.shake_256(b"photo").digest(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, "PNG", compress_level=0)
    return out.getvalue()


def pieces(data: bytes, size: int = 100_000) -> Iterator[bytes]:
    """A body `requests` sends chunk-coded (no Content-Length)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- the real stack ---------------------------------------------------------------------------------


@pytest.fixture
def listing(stack) -> tuple[str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {stack.token(700_000 + uuid.uuid4().int % 10_000_000, 'host')}"}
    body = {"name": "Big Photo House", "location": f"Zoom-{uuid.uuid4().hex[:8]}", "pricePerNight": 90}
    created = requests.post(
        f"{stack.nginx_url}/api/bookings/properties", json=body, headers=headers, timeout=10
    )
    assert created.status_code == 201, created.text
    return f"/api/bookings/properties/{created.json()['propertyId']}/photos", headers


def test_a_photo_of_megabytes_uploads_through_nginx_and_chunked_straight_to_the_gateway(stack, listing):
    path, headers = listing
    photo = noise_png(1000, 800)  # ~2.3 MiB: well above the size the gateway sends in one write
    assert 2 * MiB < len(photo) < PHOTO_BODY_BYTES
    png = {**headers, "Content-Type": "image/png"}
    through_nginx = requests.post(stack.nginx_url + path, data=photo, headers=png, timeout=60)
    assert through_nginx.status_code == 201, through_nginx.text
    chunked = requests.post(stack.url("gateway", 0) + path, data=pieces(photo), headers=png, timeout=60)
    assert chunked.status_code == 201, chunked.text
    for uploaded in (through_nginx.json(), chunked.json()):
        served = requests.get(stack.nginx_url + uploaded["url"], timeout=10)
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.size == (1000, 800)


def test_an_oversized_upload_is_the_json_413_whether_its_length_is_said_or_not(stack, listing):
    path, headers = listing
    big = bytes(PHOTO_BODY_BYTES + 1)
    png = {**headers, "Content-Type": "image/png"}
    gateway = stack.url("gateway", 0)
    for url in (stack.nginx_url + path, gateway + path):
        refused = requests.post(url, data=big, headers=png, timeout=60)
        assert (refused.status_code, refused.json()) == (413, TOO_LARGE), url
    unsaid = requests.post(gateway + path, data=pieces(big), headers=png, timeout=60)
    assert (unsaid.status_code, unsaid.json()) == (413, TOO_LARGE)
    photos = requests.get(f"{stack.nginx_url}{path.removesuffix('/photos')}", timeout=10).json()
    assert "photos" not in photos  # nothing of the refused bodies was stored


# --- the gateway in this process, in front of a hashing upstream -------------------------------------


def hashing_upstream(port: int) -> None:
    """A real HTTP server for the booking service's upload route, run in a child process (so the parent's
    `tracemalloc` sees only the gateway): reads the body in 64 KiB pieces and answers its length, hash
    and framing."""
    app = Flask("hashing")

    @app.post("/api/bookings/properties/<int:_property_id>/photos")
    def receive(_property_id: int):
        digest, size = hashlib.sha256(), 0
        while chunk := request.stream.read(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
        framing = request.headers.get("Transfer-Encoding") or f"length {request.headers['Content-Length']}"
        return jsonify(size=size, sha256=digest.hexdigest(), framing=framing), 201

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


class Zeros:
    """A client body of `size` bytes made up as it is read: the test itself holds none of it."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, count: int = -1) -> bytes:
        count = self.left if count < 0 else min(count, self.left)
        self.left -= count
        return bytes(count)


@pytest.fixture(scope="module")
def gateway_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    keys: tuple[Path, Path] = ensure_keypair(tmp_path_factory.mktemp("keys"))
    port = free_port()
    upstream = multiprocessing.get_context("fork").Process(target=hashing_upstream, args=(port,), daemon=True)
    upstream.start()
    try:
        assert wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health"), timeout=10)
        settings = GatewaySettings(
            env="test", jwt_public_key_file=str(keys[1]), rate_limit_enabled=False,
            booking_service_urls=f"http://127.0.0.1:{port}", user_service_urls="http://127.0.0.1:1",
        )  # fmt: skip
        app = create_app(settings)
        yield app, sign_token(keys[0].read_bytes(), 42, "host")
        app.extensions["upstream_client"].close()
    finally:
        upstream.terminate()
        upstream.join(5)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.ConnectionError:
        return False


def forward(app: Flask, token: str, body: object, length: int | None) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/api/bookings/properties/5/photos", "QUERY_STRING": "",
        "SERVER_NAME": "gw", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": body, "CONTENT_TYPE": "image/png", "HTTP_AUTHORIZATION": f"Bearer {token}",
    }  # fmt: skip
    if length is None:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(length)
    answer: list[str] = []
    chunks = app.wsgi_app(environ, lambda status, _headers: answer.append(status))
    return answer[0], b"".join(chunks)


@pytest.mark.parametrize("said", [True, False], ids=["content-length", "chunked"])
def test_the_bytes_arrive_intact_however_the_body_is_framed(gateway_app, said):
    app, token = gateway_app
    data = hashlib.shake_256(b"upload").digest(3 * MiB + 12345)
    status, body = forward(app, token, io.BytesIO(data), len(data) if said else None)
    assert status.startswith("201"), body
    answer = json.loads(body)
    assert (answer["size"], answer["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert answer["framing"] == (f"length {len(data)}" if said else "chunked")


def peak_bytes(app: Flask, token: str, size: int, said: bool) -> int:
    tracemalloc.start()
    try:
        status, _ = forward(app, token, Zeros(size), size if said else None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status.startswith("201")
    return peak


@pytest.mark.parametrize("said", [True, False], ids=["content-length", "chunked"])
def test_the_gateway_s_peak_memory_does_not_grow_with_the_body(gateway_app, said):
    app, token = gateway_app
    peak_bytes(app, token, MiB, said)  # warm: pools, imports, first-call caches
    small, large = peak_bytes(app, token, MiB, said), peak_bytes(app, token, 5 * MiB, said)
    # The gateway's peak stays within a few 64 KiB pieces, where a buffered body would add its 5 MiB
    # (twice: read, then joined to the request head).
    assert large < MiB, (small, large)
    assert large - small < 256 * 1024, (small, large)


def test_a_chunked_body_past_the_limit_is_refused_while_it_streams(gateway_app):
    app, token = gateway_app
    tracemalloc.start()
    try:
        status, body = forward(app, token, Zeros(PHOTO_BODY_BYTES + 1), None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (status[:3], json.loads(body)) == ("413", TOO_LARGE)
    assert peak < MiB
