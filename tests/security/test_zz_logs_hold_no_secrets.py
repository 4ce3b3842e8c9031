"""Runs last in tests/security (file name): nothing any process of this run logged holds a password hash,
a JWT or one of the stack's secrets. Scans real log files; nothing is mocked."""

from __future__ import annotations

from pathlib import Path

from tests.security.conftest import SESSION_STARTED
from tests.support.logscan import live_stack_roots, log_files, scan, scan_stack

REPO = Path(__file__).resolve().parents[2]


def test_no_log_line_holds_a_password_hash_a_token_or_a_secret(sec_stack):
    """Every live private stack on this machine (this run's, against its own secrets), and every log kept
    from the stacks this test session already stopped."""
    findings = []
    for root in {*live_stack_roots(), sec_stack.root}:
        findings += scan_stack(root)
    kept = REPO / "tests" / "output" / "logs"
    findings += scan(p for p in log_files(kept) if p.stat().st_mtime >= SESSION_STARTED)
    assert findings == [], "\n".join(findings[:20])
