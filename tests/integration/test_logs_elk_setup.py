"""infra/elk/setup.sh (the kibana-setup job) run with real curl against a fake Elasticsearch + Kibana.

Elasticsearch and Kibana are mocked (one local HTTP server that records requests and answers like
their APIs); everything else, the script, curl and the uploaded files, is real.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import ecs_mapping

SETUP = ecs_mapping.ELK_DIR / "setup.sh"


class FakeElastic(BaseHTTPRequestHandler):
    received: list[tuple[str, str, dict[str, str], bytes]] = []
    import_success = True

    def _record(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.command, self.path, dict(self.headers), body))
        return body

    def _answer(self, payload: dict[str, object]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        json.loads(self._record())  # Elasticsearch would reject a body that is not JSON
        self._answer({"acknowledged": True})

    def do_POST(self) -> None:
        self._record()
        self._answer({"success": self.import_success, "successCount": 6})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def fake_elastic() -> Iterator[str]:
    FakeElastic.received = []
    FakeElastic.import_success = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeElastic)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_setup(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ELASTICSEARCH_URL": url, "KIBANA_URL": url}
    return subprocess.run(["sh", str(SETUP)], env=env, capture_output=True, text=True, timeout=60)


def test_setup_loads_pipeline_template_and_saved_objects(fake_elastic: str) -> None:
    result = run_setup(fake_elastic)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = {(method, path): (headers, body) for method, path, headers, body in FakeElastic.received}
    pipeline = calls[("PUT", "/_ingest/pipeline/hrp-logs")][1]
    assert json.loads(pipeline) == json.loads(ecs_mapping.PIPELINE.read_text())
    template = calls[("PUT", "/_index_template/hrp-logs")][1]
    assert json.loads(template) == json.loads(ecs_mapping.TEMPLATE.read_text())
    headers, body = calls[("POST", "/api/saved_objects/_import?overwrite=true")]
    assert headers["kbn-xsrf"] == "true"
    assert (ecs_mapping.ELK_DIR / "kibana-saved-objects.ndjson").read_bytes() in body
    order = [path for _, path, _, _ in FakeElastic.received]
    assert order.index("/_ingest/pipeline/hrp-logs") < order.index("/_index_template/hrp-logs"), (
        "the template names the pipeline as its default, so the pipeline must exist first"
    )


def test_setup_fails_when_kibana_rejects_the_import(fake_elastic: str) -> None:
    FakeElastic.import_success = False
    result = run_setup(fake_elastic)
    assert result.returncode == 1
    assert "import failed" in result.stderr


def test_setup_fails_when_elasticsearch_is_unreachable() -> None:
    unreachable = "http://127.0.0.1:9"
    result = subprocess.run(
        ["sh", str(SETUP)],
        env={**os.environ, "ELASTICSEARCH_URL": unreachable, "KIBANA_URL": unreachable, "SETUP_RETRIES": "0"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Failed to connect" in result.stderr or "Couldn't connect" in result.stderr
