"""The gateway's proxy suites: real upstream servers, the gateway over real HTTP (tests/support/gateway_rig.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.keys import ensure_keypair
from tests.support.gateway_rig import UPSTREAM_NAMES, Gateway, Upstream, make_gateway


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ensure_keypair(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def upstreams() -> Iterator[dict[str, Upstream]]:
    servers = {name: Upstream(name) for name in UPSTREAM_NAMES}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def gateway(keys: tuple[Path, Path], upstreams: dict[str, Upstream]) -> Iterator[Gateway]:
    gw = make_gateway(keys, upstreams)
    yield gw
    gw.close()
