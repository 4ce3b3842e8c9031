"""ConsulRegistry and `python -m service_discovery run` against a FAKE Consul agent.

No Consul binary exists on these machines, so Consul is mocked (house rule: Consul and Elasticsearch are
the only things we mock): `FakeConsul` is a small real HTTP server implementing exactly the endpoints the
client calls — `PUT /v1/agent/service/register`, `PUT /v1/agent/service/deregister/<id>` and
`GET /v1/health/service/<name>?passing=1`, with Consul's JSON shapes and `X-Consul-Index` header. It runs
the registered HTTP check itself on each lookup. Everything else is real: py-consul, the registry code
path, the instances' `/health` servers and the CLI process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from service_discovery import Instance, StaticRegistry
from service_discovery.consul import ConsulRegistry
from tests.support.net import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class HttpServer:
    def __init__(self, app: Flask) -> None:
        self.port = free_port()
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeConsul(HttpServer):
    def __init__(self) -> None:
        self.services: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.index = 1
        super().__init__(self._app())

    def _app(self) -> Flask:
        app = Flask("fake-consul")

        @app.put("/v1/agent/service/register")
        def register() -> Response:
            body = _lower_keys(json.loads(request.data))  # the agent accepts keys in any case
            self.requests.append("register")
            self.services[body.get("id") or body["name"]] = body
            self.index += 1
            return Response(status=200)

        @app.put("/v1/agent/service/deregister/<service_id>")
        def deregister(service_id: str) -> Response:
            self.requests.append(f"deregister {service_id}")
            self.services.pop(service_id, None)
            self.index += 1
            return Response(status=200)

        @app.get("/v1/health/service/<name>")
        def health(name: str) -> Response:
            self.requests.append(f"health {name} passing={request.args.get('passing')}")
            entries = [self._entry(s) for s in self.services.values() if s["name"] == name]
            if request.args.get("passing") in ("1", "true"):
                entries = [e for e in entries if e["Checks"][0]["Status"] == "passing"]
            response = jsonify(entries)
            response.headers["X-Consul-Index"] = str(self.index)
            return response

        return app

    def _entry(self, service: dict[str, Any]) -> dict[str, Any]:
        check = (service.get("checks") or [service.get("check") or {}])[0]
        try:
            ok = requests.get(check["http"], timeout=0.5).status_code == 200
        except (KeyError, requests.RequestException):
            ok = False
        return {
            "Node": {"Node": "fake", "Address": "127.0.0.1"},
            "Service": {"ID": service.get("id"), "Service": service["name"], "Address": service.get("address", ""),
                        "Port": service["port"]},
            "Checks": [{"CheckID": f"service:{service.get('id')}", "Status": "passing" if ok else "critical"}],
        }  # fmt: skip


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def health_app(status: dict[str, int]) -> Flask:
    app = Flask("instance")

    @app.get("/health")
    def health() -> tuple[Response, int]:
        return jsonify(status="ok"), status["code"]

    return app


@pytest.fixture
def consul() -> Iterator[FakeConsul]:
    server = FakeConsul()
    yield server
    server.stop()


def test_registered_instance_is_found_only_while_its_check_passes(consul: FakeConsul) -> None:
    status = {"code": 200}
    instance_server = HttpServer(health_app(status))
    registry = ConsulRegistry("127.0.0.1", consul.port, cache_seconds=0)
    instance = Instance("127.0.0.1", instance_server.port)
    try:
        registry.register("user_service", instance)
        [registered] = consul.services.values()
        [check] = registered["checks"]
        assert check["http"] == f"http://127.0.0.1:{instance_server.port}/health"
        assert (check["interval"], check["deregistercriticalserviceafter"]) == ("1s", "30s")
        found = registry.healthy_instances("user_service")
        assert [(i.address, i.port) for i in found] == [("127.0.0.1", instance_server.port)]
        assert "health user_service passing=1" in consul.requests
        status["code"] = 503
        assert registry.healthy_instances("user_service") == []
        assert registry.healthy_instances("booking_service") == []
        status["code"] = 200
        registry.deregister("user_service", instance)
        assert consul.services == {}
        assert registry.healthy_instances("user_service") == []
    finally:
        instance_server.stop()


def test_lookups_are_cached_and_survive_an_agent_outage(consul: FakeConsul) -> None:
    instance_server = HttpServer(health_app({"code": 200}))
    registry = ConsulRegistry("127.0.0.1", consul.port, cache_seconds=0.3, agent_timeout=0.5)
    try:
        registry.register("booking_service", Instance("127.0.0.1", instance_server.port))
        assert len(registry.healthy_instances("booking_service")) == 1
        lookups = len([r for r in consul.requests if r.startswith("health")])
        for _ in range(10):
            registry.healthy_instances("booking_service")
        assert len([r for r in consul.requests if r.startswith("health")]) == lookups
        consul.stop()
        time.sleep(0.35)
        assert len(registry.healthy_instances("booking_service")) == 1, "last known list while Consul is down"
    finally:
        instance_server.stop()


def test_cli_run_registers_the_server_and_deregisters_on_sigterm(consul: FakeConsul) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DISCOVERY_BACKEND": "consul",
        "CONSUL_HOST": "127.0.0.1",
        "CONSUL_PORT": str(consul.port),
    }
    cmd = [sys.executable, "-m", "service_discovery", "run", "--service", "user_service", "--address",
           "127.0.0.1", "--port", str(port), "--", sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]  # fmt: skip
    process = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not consul.services:
            time.sleep(0.05)
        assert [s["port"] for s in consul.services.values()] == [port]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        assert consul.services == {}
        assert any(r.startswith("deregister user_service-127.0.0.1-") for r in consul.requests)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_static_registry_routes_only_to_instances_passing_health_checks() -> None:
    statuses = [{"code": 200}, {"code": 200}]
    servers = [HttpServer(health_app(s)) for s in statuses]
    registry = StaticRegistry({"svc": [Instance("127.0.0.1", s.port) for s in servers]}, interval=0.1)
    try:
        assert len(registry.healthy_instances("svc")) == 2
        statuses[0]["code"] = 500
        servers[1].stop()
        time.sleep(0.4)
        assert [i.port for i in registry.healthy_instances("svc")] == []
        statuses[0]["code"] = 200
        time.sleep(0.4)
        assert [i.port for i in registry.healthy_instances("svc")] == [servers[0].port]
        assert registry.healthy_instances("unknown") == []
    finally:
        registry.close()
        servers[0].stop()


def test_static_registry_starts_no_thread_until_first_use() -> None:
    before = {t.name for t in threading.enumerate()}
    registry = StaticRegistry({"svc": [Instance("127.0.0.1", free_port())]}, interval=0.1)
    assert "static-registry-health" not in {t.name for t in threading.enumerate()} - before
    registry.healthy_instances("svc")
    assert any(t.name == "static-registry-health" for t in threading.enumerate())
    registry.close()


def test_gateway_in_consul_mode_routes_to_the_registered_instance(consul: FakeConsul, tmp_path: Path) -> None:
    from gateway import create_app
    from gateway.settings import GatewaySettings
    from infra.keys import ensure_keypair

    app = Flask("booking-instance")
    app.add_url_rule("/health", "health", lambda: {"status": "ok"})
    app.add_url_rule("/api/bookings/properties", "properties", lambda: [{"propertyId": 1}])
    instance_server = HttpServer(app)
    public_key = ensure_keypair(tmp_path)[1]
    settings = GatewaySettings(
        discovery_backend="consul", consul_port=consul.port, jwt_public_key_file=str(public_key),
        rate_limit_enabled=False,
    )  # fmt: skip
    gateway = create_app(settings).test_client()
    try:
        assert gateway.get("/api/bookings/properties").status_code == 503, "nothing registered yet"
        ConsulRegistry("127.0.0.1", consul.port).register(
            "booking_service", Instance("127.0.0.1", instance_server.port)
        )
        time.sleep(1.1)  # the gateway's lookup cache
        response = gateway.get("/api/bookings/properties")
        assert (response.status_code, response.json) == (200, [{"propertyId": 1}])
    finally:
        instance_server.stop()
