"""A gateway served over real HTTP against small real upstream servers whose behaviour each test switches
(answer, hang, fail with 500, vanish), so retries, breakers and the failure table can be driven exactly.
Nothing is mocked: upstreams, gateway and the Redis used for rate limits are real servers."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from gateway import create_app
from gateway.settings import GatewaySettings
from infra.keys import sign_token
from tests.support.net import free_port

UPSTREAM_NAMES = ("users-a", "users-b", "bookings-a", "bookings-b")


class Upstream:
    """A real HTTP server standing in for one service instance."""

    def __init__(self, name: str) -> None:
        self.name, self.mode, self.port = name, "ok", free_port()
        self.hits: list[dict[str, Any]] = []
        self.app = self._build_app()
        self._server: BaseWSGIServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _build_app(self) -> Flask:
        app = Flask(self.name)

        @app.get("/health")
        def health() -> tuple[Response, int]:
            return jsonify(status="ok"), 200 if self.mode != "sick" else 503

        @app.route("/api/<path:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def api(_rest: str) -> Any:
            self.hits.append(
                {"method": request.method, "path": request.full_path, "headers": dict(request.headers),
                 "body": request.get_data()}
            )  # fmt: skip
            if self.mode == "hang":
                time.sleep(1.5)
            if self.mode == "error":
                return jsonify(error="Internal server error"), 500
            if self.mode == "unavailable":
                return jsonify(error="Database unavailable"), 503
            if request.args.get("status"):
                return jsonify(error="from upstream"), int(request.args["status"])
            if request.args.get("size"):
                return Response(b"x" * int(request.args["size"]), content_type="application/octet-stream")
            return jsonify(instance=self.name, path=request.path), 201 if request.method == "POST" else 200

        return app


class Gateway:
    """The gateway app served over real HTTP on a free port."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.app = create_app(settings)
        self.port = free_port()
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.app.extensions["upstream_client"].close()


def healthy_ports(gateway: Gateway, service: str = "user_service") -> set[int]:
    """The ports of the instances the gateway's health checks pass now."""
    registry = gateway.app.extensions["upstream_client"].registry
    return {instance.port for instance in registry.healthy_instances(service)}


def make_gateway(keys: tuple[Path, Path], upstreams: dict[str, Upstream], **overrides: Any) -> Gateway:
    options: dict[str, Any] = {
        "env": "test",
        "jwt_public_key_file": str(keys[1]),
        "user_service_urls": f"{upstreams['users-a'].url},{upstreams['users-b'].url}",
        "booking_service_urls": f"{upstreams['bookings-a'].url},{upstreams['bookings-b'].url}",
        "upstream_read_timeout": 0.5,
        "health_check_interval": 0.2,
        "rate_limit_enabled": False,
    }
    settings = GatewaySettings(**{**options, **overrides})
    return Gateway(settings)


def token(keys: tuple[Path, Path], user_id: int = 7, role: str = "user") -> str:
    return sign_token(keys[0].read_bytes(), user_id, role)


def all_hits(upstreams: dict[str, Upstream], prefix: str) -> int:
    return sum(len(u.hits) for name, u in upstreams.items() if name.startswith(prefix))
