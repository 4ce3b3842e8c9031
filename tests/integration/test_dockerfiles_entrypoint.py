"""The images' entrypoint script, run here exactly as the Dockerfiles run it (from the repo root).

Consul is mocked: a fake agent records the registration calls (there is no Consul binary here).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from infra.ports import port_in_use
from tests.support import composefile
from tests.support.net import free_port

ROOT = composefile.REPO_ROOT
ENTRYPOINT = str(ROOT / "infra" / "docker" / "entrypoint.sh")


def entrypoint_env(**extra: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), **extra}


def make_keys(directory: Path) -> None:
    subprocess.run(["sh", ENTRYPOINT, "jwt-keys", str(directory)], cwd=ROOT, env=entrypoint_env(), check=True,
                   timeout=60)  # fmt: skip


def test_jwt_keys_mode_creates_the_pair_once(tmp_path: Path) -> None:
    make_keys(tmp_path)
    first = (tmp_path / "jwt_public.pem").read_bytes()
    make_keys(tmp_path)
    assert (tmp_path / "jwt_public.pem").read_bytes() == first, "a second run must keep the existing pair"
    assert (tmp_path / "jwt_private.pem").stat().st_mode & 0o077 == 0


def test_unknown_mode_is_refused() -> None:
    result = subprocess.run(["sh", ENTRYPOINT, "serve", "gateway"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 64 and "unknown mode" in result.stderr


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} never answered")


def test_web_mode_serves_the_gateway_through_the_registrar_and_stops_on_sigterm(tmp_path: Path) -> None:
    make_keys(tmp_path)
    port = free_port()
    env = entrypoint_env(
        ENV="test", SERVICE_NAME="gateway", DISCOVERY_BACKEND="static", BIND=f"127.0.0.1:{port}",
        SERVICE_ADDRESS="127.0.0.1", SERVICE_PORT=str(port), GUNICORN_WORKERS="1",
        JWT_PUBLIC_KEY_FILE=str(tmp_path / "jwt_public.pem"),
    )  # fmt: skip
    server = subprocess.Popen(["sh", ENTRYPOINT, "web", "gateway"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", server)
        # PID of `sh` became the registrar's (exec): SIGTERM reaches it as `docker stop` would.
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert not port_in_use(port), "gunicorn outlived the entrypoint"


class FakeConsulAgent(BaseHTTPRequestHandler):
    """The two agent endpoints registration uses; Consul itself is mocked (no binary here)."""

    calls: list[tuple[str, str, bytes]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.calls.append(("PUT", self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


def test_web_mode_registers_in_consul_while_serving_and_deregisters_on_stop(tmp_path: Path) -> None:
    FakeConsulAgent.calls = []
    consul = ThreadingHTTPServer(("127.0.0.1", 0), FakeConsulAgent)
    threading.Thread(target=consul.serve_forever, daemon=True).start()
    make_keys(tmp_path)
    port = free_port()
    env = entrypoint_env(
        ENV="test", SERVICE_NAME="gateway", DISCOVERY_BACKEND="consul", CONSUL_HOST="127.0.0.1",
        CONSUL_PORT=str(consul.server_address[1]), BIND=f"127.0.0.1:{port}", SERVICE_PORT=str(port),
        GUNICORN_WORKERS="1", JWT_PUBLIC_KEY_FILE=str(tmp_path / "jwt_public.pem"),
    )  # fmt: skip
    env.pop("SERVICE_ADDRESS", None)  # as in compose: the entrypoint finds the container's address
    server = subprocess.Popen(["sh", ENTRYPOINT, "web", "gateway"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", server)
        method, path, body = FakeConsulAgent.calls[0]
        registration = {key.lower(): value for key, value in json.loads(body).items()}  # Consul ignores case
        assert (method, path.split("?")[0]) == ("PUT", "/v1/agent/service/register")
        assert registration["name"] == "gateway" and registration["port"] == port
        assert registration["address"] not in ("", "0.0.0.0", "localhost")
        checks = [{key.lower(): value for key, value in check.items()} for check in registration["checks"]]
        assert checks[0]["http"] == f"http://{registration['address']}:{port}/health"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        consul.shutdown()
        consul.server_close()
    assert FakeConsulAgent.calls[-1][1].split("?")[0] == f"/v1/agent/service/deregister/{registration['id']}"
