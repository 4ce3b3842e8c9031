"""The booking app factory and cache degrade without their servers: nothing connects at creation,
an unreachable MariaDB is a JSON 503, an unreachable Redis Cluster is a cache miss. No mocks: the
"servers" are closed local ports."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from booking_service import create_app
from booking_service.cache import PropertyCache, cluster_client_factory
from booking_service.settings import BookingSettings
from tests.support.net import closed_port


@pytest.fixture
def settings() -> BookingSettings:
    public = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return BookingSettings(
        env="test",
        jwt_public_key=public.decode(),
        booking_db_url=f"mysql+pymysql://app:x@127.0.0.1:{closed_port()}/bookings",
        redis_cluster_nodes=f"127.0.0.1:{closed_port()}",
        redis_url=None,
    )


def test_app_is_created_without_connecting_and_reports_not_ready(settings):
    client = create_app(settings).test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"mariadb": "down", "redis_cluster": "down"}


def test_database_down_is_json_503(settings):
    response = create_app(settings).test_client().get("/api/bookings/properties")
    assert response.status_code == 503
    assert response.get_json() == {"error": "Service unavailable"}
    assert response.headers["Retry-After"] == "1"


def test_cache_with_no_cluster_misses_and_stops_reading_for_a_while(settings):
    attempts = []
    build = cluster_client_factory(settings.cluster_nodes)

    def counting_factory():
        attempts.append(1)
        return build()

    cache = PropertyCache(counting_factory, ttl_seconds=30, cooldown=60)
    assert cache.generation() is None
    assert cache.get_list("0", "all") is None
    cache.set_list("0", "all", [1])
    assert cache.get_item("0", 1) is None
    assert len(attempts) == 1  # the circuit opened after the first failure
    cache.invalidate()
    assert len(attempts) == 2  # invalidation is always attempted, even with the circuit open


def test_cache_without_nodes_is_disabled():
    cache = PropertyCache(None, ttl_seconds=30)
    assert not cache.enabled
    assert cache.generation() is None and cache.get_list("0", "all") is None
    with pytest.raises(RuntimeError):
        cache.ping()
