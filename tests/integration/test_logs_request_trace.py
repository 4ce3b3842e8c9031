"""One request through real nginx, gateway and user_service leaves ECS lines that share its request id.

The lines are read from the private stack's log files and run through the same Filebeat parser
options, ingest pipeline and index template that docker-compose ships them with
(infra/elk/ecs_mapping.py reads those files). Elasticsearch itself is not run.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.support import ecs_mapping

# trace.id is the OpenTelemetry trace id (tests/integration/test_tracing_across_hops.py), not the request id.
ACCESS_FIELDS = ("@timestamp", "message", "log.level", "service.name", "http.request.id",
                 "http.request.method", "url.path", "http.response.status_code")  # fmt: skip


def json_lines(paths: list[Path]) -> list[str]:
    lines = []
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(line)
    return lines


def lines_for(request_id: str, paths: list[Path], timeout: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [json.loads(line) for line in json_lines(paths) if request_id in line]
        services = {doc.get("service.name") or doc.get("service", {}).get("name") for doc in found}
        if {"nginx", "gateway", "user_service"} <= services or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def single_request_id(response: requests.Response) -> str:
    """nginx and the gateway may both echo the header (requests joins repeats with ", "): all must agree."""
    ids = {value.strip() for value in response.headers["X-Request-ID"].split(",")}
    assert len(ids) == 1 and "" not in ids, ids
    return ids.pop()


def log_files(stack: Any) -> list[Path]:
    nginx = stack.root / "nginx" / "logs" / "access.log"
    services = [p for name in ("gateway", "user_service") for p in stack.logs.glob(f"{name}*.log")]
    return [nginx, *services]


def test_one_request_shares_its_id_across_nginx_gateway_and_service(stack: Any) -> None:
    email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    response = requests.post(
        f"{stack.nginx_url}/api/users/login", json={"email": email, "password": "wrong-password"}, timeout=10
    )
    assert response.status_code == 401
    request_id = single_request_id(response)

    shipped = [ecs_mapping.ship(json.dumps(doc)) for doc in lines_for(request_id, log_files(stack))]
    by_service: dict[str, list[dict[str, Any]]] = {}
    for event in shipped:
        by_service.setdefault(event["service"]["name"], []).append(event)
    assert {"nginx", "gateway", "user_service"} <= by_service.keys(), sorted(by_service)

    for service in ("nginx", "gateway", "user_service"):
        access = [e for e in by_service[service] if "response" in e.get("http", {})]
        assert access, f"{service} wrote no access line for the request"
        flat = ecs_mapping.leaves(access[0])
        missing = [field for field in ACCESS_FIELDS if flat.get(field) in (None, "")]
        assert missing == [], f"{service} access line lacks {missing}"
        assert flat["http.request.id"] == request_id
        assert flat["http.response.status_code"] == 401
        assert flat["url.path"] == "/api/users/login"


def test_no_secret_reaches_the_logs_of_that_request(stack: Any) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    response = requests.post(
        f"{stack.nginx_url}/api/users/login",
        json={"email": "ghost@example.com", "password": password},
        headers={"X-Request-ID": f"trace-{uuid.uuid4().hex[:12]}"},
        timeout=10,
    )
    request_id = single_request_id(response)
    found = lines_for(request_id, log_files(stack))
    assert found, "the request left no log line"
    assert all(password not in json.dumps(doc) for doc in found)
    assert all(doc.get("http.request.id", doc.get("http", {}).get("request", {}).get("id")) for doc in found)
