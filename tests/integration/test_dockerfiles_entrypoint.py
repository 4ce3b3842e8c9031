"""The images' entrypoint script, run here exactly as the Dockerfiles run it (from the repo root).

Consul is not run: DISCOVERY_BACKEND=static makes `service_discovery run` start the server without
registering, which is the only difference from a container.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infra.docker import composefile
from infra.ports import port_in_use

ROOT = composefile.REPO_ROOT
ENTRYPOINT = str(ROOT / "infra" / "docker" / "entrypoint.sh")


def entrypoint_env(**extra: str) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT), **extra}


def free_port() -> int:
    return next(port for port in range(26500, 26600) if not port_in_use(port))


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
