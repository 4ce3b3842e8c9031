"""The seed-contract smoke script (infra/smoke.py) against the session stack's nginx, as the GitHub
workflow runs it against docker compose and the kind cluster: the same checks on every path."""

from __future__ import annotations

import pytest

from infra import smoke


def test_the_smoke_script_passes_through_the_edge(stack) -> None:
    lines: list[str] = []
    smoke.run(stack.nginx_url, stack.socket_url, log=lines.append)
    assert len(lines) == 4 and lines[-1].endswith("made, read back and cancelled")


def test_the_smoke_script_fails_when_the_edge_is_not_the_suite(stack) -> None:
    """Control: pointed at a gateway instance instead of nginx (no /nginx-health), it fails."""
    with pytest.raises(smoke.SmokeFailure):
        smoke.run(stack.url("gateway", 0), stack.socket_url, log=lambda _line: None)
