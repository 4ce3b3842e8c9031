"""The gateway over real HTTP against small real upstream servers whose behaviour each test switches
(answer, hang, fail with 500, vanish), so retries, breakers and the failure table can be driven exactly.
Nothing is mocked: upstreams, gateway and the Redis used for rate limits are real servers."""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from gateway import create_app
from gateway.settings import GatewaySettings
from infra.keys import ensure_keypair, sign_token
from tests.support.faults import wait_until
from tests.support.net import free_port


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


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def upstreams() -> Iterator[dict[str, Upstream]]:
    servers = {name: Upstream(name) for name in ("users-a", "users-b", "bookings-a", "bookings-b")}
    yield servers
    for server in servers.values():
        server.stop()


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


@pytest.fixture
def gateway(keys: tuple[Path, Path], upstreams: dict[str, Upstream]) -> Iterator[Gateway]:
    gw = make_gateway(keys, upstreams)
    yield gw
    gw.close()


def token(keys: tuple[Path, Path], user_id: int = 7, role: str = "user") -> str:
    return sign_token(keys[0].read_bytes(), user_id, role)


def all_hits(upstreams: dict[str, Upstream], prefix: str) -> int:
    return sum(len(u.hits) for name, u in upstreams.items() if name.startswith(prefix))


def test_request_is_forwarded_with_method_path_query_body_and_headers(
    gateway: Gateway, upstreams: dict[str, Upstream], keys: tuple[Path, Path]
) -> None:
    auth = f"Bearer {token(keys)}"
    response = requests.post(
        f"{gateway.url}/api/bookings/book?dry=1&x=%20y",
        data=b'{"propertyId": 2}',
        headers={"Authorization": auth, "Idempotency-Key": "key-1", "X-Request-ID": "req-abc.1",
                 "Content-Type": "application/json", "Cookie": "a=b"},
        timeout=5,
    )  # fmt: skip
    assert response.status_code == 201
    assert response.headers["X-Request-ID"] == "req-abc.1"
    [hit] = upstreams["bookings-a"].hits + upstreams["bookings-b"].hits
    assert hit["method"] == "POST" and hit["path"] == "/api/bookings/book?dry=1&x=%20y"
    assert hit["body"] == b'{"propertyId": 2}'
    headers = hit["headers"]
    assert headers["Authorization"] == auth and headers["Idempotency-Key"] == "key-1"
    assert headers["X-Request-Id"] == "req-abc.1" and headers["Cookie"] == "a=b"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    # Services verify the token themselves; an identity header would only invite someone to trust it.
    assert not any(name.lower().startswith("x-authenticated") for name in headers)


def test_client_cannot_forge_identity_or_forwarding_headers(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    forged = {
        "X-Authenticated-User-Id": "1",
        "X-Authenticated-User-Role": "admin",
        "X-Forwarded-For": "6.6.6.6, 7.7.7.7",
    }
    assert requests.get(f"{gateway.url}/api/users/login", headers=forged, timeout=5).status_code == 200
    [hit] = upstreams["users-a"].hits + upstreams["users-b"].hits
    assert "X-Authenticated-User-Id" not in hit["headers"]
    assert "X-Authenticated-User-Role" not in hit["headers"]
    # One trusted proxy: the last hop is the client as our proxy saw it; what the client wrote before is dropped.
    assert hit["headers"]["X-Forwarded-For"] == "7.7.7.7, 127.0.0.1"


def test_upstream_status_body_and_content_type_pass_through(gateway: Gateway) -> None:
    response = requests.get(f"{gateway.url}/api/users/login?status=409", timeout=5)
    assert response.status_code == 409
    assert response.json() == {"error": "from upstream"}
    assert response.headers["Content-Type"] == "application/json"


def test_large_bodies_stream_through_intact(gateway: Gateway) -> None:
    size = 3 * 1024 * 1024
    response = requests.get(f"{gateway.url}/api/bookings/properties?size={size}", timeout=10)
    assert response.status_code == 200
    assert len(response.content) == size and set(response.content) == {ord("x")}


def test_request_body_over_the_limit_is_413_json_and_not_forwarded(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    response = requests.post(f"{gateway.url}/api/users/register", data=b"x" * (1024 * 1024 + 1), timeout=5)
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large"}
    assert all_hits(upstreams, "users") == 0


def test_unknown_api_path_is_404_json(gateway: Gateway) -> None:
    response = requests.get(f"{gateway.url}/api/nothing/here", timeout=5)
    assert response.status_code == 404 and response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/users/profile"), ("POST", "/api/bookings/book"), ("DELETE", "/api/cancel-booking/3"),
     ("POST", "/api/bookings/properties"), ("GET", "/api/bookings/mine")],
)  # fmt: skip
def test_protected_routes_are_refused_at_the_edge_without_a_valid_token(
    gateway: Gateway, upstreams: dict[str, Upstream], keys: tuple[Path, Path], method: str, path: str
) -> None:
    missing = requests.request(method, gateway.url + path, timeout=5)
    assert missing.status_code == 401 and missing.json() == {"error": "Authorization token is missing"}
    other_key = ensure_keypair(keys[0].parent / "other")[0]
    for bad in (
        "garbage",
        sign_token(other_key.read_bytes(), 7),
        sign_token(keys[0].read_bytes(), 7, ttl=-10),
    ):
        response = requests.request(
            method, gateway.url + path, headers={"Authorization": f"Bearer {bad}"}, timeout=5
        )
        assert response.status_code == 401 and response.json() == {"error": "Invalid or expired token"}
    assert all_hits(upstreams, "") == 0


def test_odd_spellings_of_a_protected_path_do_not_slip_past_the_edge(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    doubled = requests.post(f"{gateway.url}/api/bookings//book", timeout=5)
    assert (doubled.status_code, doubled.json()) == (401, {"error": "Authorization token is missing"})
    dotted = requests.Request("GET", f"{gateway.url}/api/users/profile/../allusers").prepare()
    dotted.url = f"{gateway.url}/api/users/profile/../allusers"  # as a raw client would send it
    response = requests.Session().send(dotted, timeout=5)
    assert (response.status_code, response.json()) == (400, {"error": "Invalid path"})
    assert all_hits(upstreams, "") == 0


def test_public_routes_need_no_token(gateway: Gateway) -> None:
    for method, path in [("GET", "/api/bookings/properties"), ("GET", "/api/bookings/properties/2/calendar"),
                         ("POST", "/api/users/login"), ("POST", "/api/users/register")]:  # fmt: skip
        expected = 201 if method == "POST" else 200  # the stub upstream's answer, passed through
        assert requests.request(method, gateway.url + path, timeout=5).status_code == expected, path


def test_requests_are_balanced_over_instances(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    names = {requests.get(f"{gateway.url}/api/users/login", timeout=5).json()["instance"] for _ in range(6)}
    assert names == {"users-a", "users-b"}


def test_dead_instance_is_skipped_without_failing_a_get(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    upstreams["users-a"].stop()
    statuses = [requests.get(f"{gateway.url}/api/users/login", timeout=5).status_code for _ in range(20)]
    assert statuses == [200] * 20
    assert len(upstreams["users-b"].hits) == 20


def test_instance_is_used_again_after_it_comes_back(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    upstreams["users-a"].stop()
    assert wait_until(lambda: upstreams["users-a"].port not in healthy_ports(gateway), 5)
    upstreams["users-a"].start()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not upstreams["users-a"].hits:
        requests.get(f"{gateway.url}/api/users/login", timeout=5)
        time.sleep(0.05)
    assert upstreams["users-a"].hits, "a recovered instance must get traffic again"


def test_read_timeout_on_post_without_idempotency_key_is_504_and_not_retried(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    for name in ("users-a", "users-b"):
        upstreams[name].mode = "hang"
    response = requests.post(f"{gateway.url}/api/users/login", data=b"{}", timeout=5)
    assert response.status_code == 504
    assert response.json() == {"error": "Upstream service timed out"}
    assert all_hits(upstreams, "users") == 1


def test_idempotent_request_that_times_out_is_retried_on_the_other_instance(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """The retry path itself, so hedging (which would answer first) is off."""
    gateway = make_gateway(keys, upstreams, upstream_hedge_after=0)
    upstreams["users-a"].mode = "hang"
    try:
        for _ in range(2):  # round robin: one of these starts on the hanging instance
            response = requests.post(
                f"{gateway.url}/api/users/login", headers={"Idempotency-Key": "k"}, timeout=5
            )
            assert response.status_code == 201 and response.json()["instance"] == "users-b"
        assert len(upstreams["users-a"].hits) == 1
    finally:
        gateway.close()


def test_client_errors_never_open_the_breaker(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    for _ in range(30):
        assert requests.get(f"{gateway.url}/api/users/login?status=401", timeout=5).status_code == 401
    response = requests.get(f"{gateway.url}/api/users/login", timeout=5)
    assert response.status_code == 200


def test_request_caused_500s_never_open_the_breaker(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    """Issue #15 item 2: forty 500s that bad requests caused must not take the instances out."""
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "error"
    for _ in range(40):
        assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 500
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "ok"
    statuses = [
        requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code for _ in range(4)
    ]
    assert statuses == [200] * 4


def test_all_breakers_open_answers_503_fast_then_recovers(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "unavailable"
    for _ in range(10):  # 5 consecutive 503s per instance open both breakers; their bodies pass through
        assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 503
    hits_before = all_hits(upstreams, "bookings")
    elapsed = []
    for _ in range(20):
        started = time.perf_counter()
        response = requests.get(f"{gateway.url}/api/bookings/properties", timeout=5)
        elapsed.append(time.perf_counter() - started)
        assert response.status_code == 503 and response.json() == {"error": "Service unavailable"}
        assert response.headers["Retry-After"] == "1"
    assert all_hits(upstreams, "bookings") == hits_before, "open breakers must not send traffic"
    # Wall-clock figures on a shared 2-core box have outliers; the median shows the fail-fast path.
    assert statistics.median(elapsed) < 0.05, elapsed
    for name in ("bookings-a", "bookings-b"):
        upstreams[name].mode = "ok"
    time.sleep(2.1)  # the cool-down; the next request is the half-open trial
    assert requests.get(f"{gateway.url}/api/bookings/properties", timeout=5).status_code == 200


def test_no_healthy_instance_is_503_json(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    for name in ("users-a", "users-b"):
        upstreams[name].stop()
    response = requests.get(f"{gateway.url}/api/users/login", timeout=5)
    assert response.status_code == 503 and response.json() == {"error": "Service unavailable"}
    assert wait_until(lambda: healthy_ports(gateway) == set(), 5)
    ready = requests.get(f"{gateway.url}/ready", timeout=5)
    assert ready.status_code == 503 and ready.json()["checks"]["user_service"] == "down"


def test_only_healthy_instances_get_traffic(gateway: Gateway, upstreams: dict[str, Upstream]) -> None:
    requests.get(f"{gateway.url}/ready", timeout=5)  # health checks start on first use
    upstreams["users-a"].mode = "sick"  # fails /health but would still answer the API
    assert wait_until(lambda: healthy_ports(gateway) == {upstreams["users-b"].port}, 5)
    for _ in range(6):
        assert requests.get(f"{gateway.url}/api/users/login", timeout=5).json()["instance"] == "users-b"
    assert upstreams["users-a"].hits == []


def test_when_no_instance_passes_checks_all_are_tried_rather_than_refusing(
    gateway: Gateway, upstreams: dict[str, Upstream]
) -> None:
    requests.get(f"{gateway.url}/ready", timeout=5)
    for name in ("users-a", "users-b"):
        upstreams[name].mode = "sick"
    assert wait_until(lambda: healthy_ports(gateway) == set(), 5)
    assert requests.get(f"{gateway.url}/ready", timeout=5).status_code == 503
    assert requests.get(f"{gateway.url}/api/users/login", timeout=5).status_code == 200


def test_cors_preflight_and_headers_for_allowed_origin_only(gateway: Gateway) -> None:
    preflight = requests.options(
        f"{gateway.url}/api/bookings/book",
        headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
        timeout=5,
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    other = requests.get(
        f"{gateway.url}/api/bookings/properties", headers={"Origin": "http://evil.example"}, timeout=5
    )
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


def test_rate_limit_per_ip_is_429_with_retry_after(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream], stack: Any
) -> None:
    gw = make_gateway(
        keys, upstreams, rate_limit_enabled=True, redis_url=stack.env["REDIS_URL"], rate_limit="5/minute"
    )
    client_ip = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    try:
        statuses = [
            requests.get(f"{gw.url}/api/users/login", headers={"X-Forwarded-For": client_ip}, timeout=5)
            for _ in range(7)
        ]
        assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
        assert statuses[-1].json() == {"error": "Too many requests"}
        assert 1 <= int(statuses[-1].headers["Retry-After"]) <= 60
        other_ip = requests.get(
            f"{gw.url}/api/users/login", headers={"X-Forwarded-For": "10.0.0.1"}, timeout=5
        )
        assert other_ip.status_code == 200
    finally:
        gw.close()


def test_rate_limit_per_user_holds_across_client_ips(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream], stack: Any
) -> None:
    gw = make_gateway(
        keys, upstreams, rate_limit_enabled=True, redis_url=stack.env["REDIS_URL"], user_rate_limit="3/minute"
    )
    auth = {"Authorization": f"Bearer {token(keys, user_id=random.randint(10**6, 10**7))}"}
    try:
        statuses = [
            requests.get(
                f"{gw.url}/api/users/profile", headers={**auth, "X-Forwarded-For": f"10.9.0.{i}"}, timeout=5
            ).status_code
            for i in range(1, 6)
        ]
        assert statuses == [200, 200, 200, 429, 429]
    finally:
        gw.close()


def test_rate_limit_store_down_still_limits_in_process_and_never_fails_a_request(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """A Redis outage is neither an API outage nor a free pass: each process counts on its own."""
    gw = make_gateway(
        keys,
        upstreams,
        rate_limit_enabled=True,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        rate_limit="2/minute",
    )
    try:
        responses = [requests.get(f"{gw.url}/api/users/login", timeout=5) for _ in range(5)]
        assert [r.status_code for r in responses] == [200, 200, 429, 429, 429]
        assert responses[-1].json() == {"error": "Too many requests"}
    finally:
        gw.close()


def test_a_read_the_first_instance_leaves_unanswered_is_hedged_to_the_other(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """Issue #15 item 9: a frozen or stalled instance costs a read the hedge delay, not the timeout."""
    gw = make_gateway(keys, upstreams, upstream_read_timeout=5.0, upstream_hedge_after=0.3)
    upstreams["users-a"].mode = "hang"
    try:
        for _ in range(2):  # round robin: one of these starts on the stalled instance
            started = time.perf_counter()
            response = requests.get(f"{gw.url}/api/users/login", timeout=10)
            assert response.status_code == 200 and response.json()["instance"] == "users-b"
            assert time.perf_counter() - started < 1.2
        writes = [requests.post(f"{gw.url}/api/users/login", timeout=10).json()["instance"] for _ in range(4)]
        assert writes == ["users-b"] * 4, "writes, which are never hedged, avoid the slow instance"
    finally:
        gw.close()


def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    keys: tuple[Path, Path], upstreams: dict[str, Upstream]
) -> None:
    """Issue #15 item 8: only a configured proxy may name the client; anyone else is their own address."""
    gw = make_gateway(keys, upstreams, trusted_proxies="10.255.255.0/24")
    try:
        requests.get(f"{gw.url}/api/users/login", headers={"X-Forwarded-For": "6.6.6.6"}, timeout=5)
        [hit] = upstreams["users-a"].hits + upstreams["users-b"].hits
        assert hit["headers"]["X-Forwarded-For"] == "127.0.0.1"
    finally:
        gw.close()
