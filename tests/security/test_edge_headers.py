"""Issue #15 item 8, the response-header part, through the real nginx → gateway → service path:
tokens and per-user answers are never cacheable, the API is never MIME-sniffed, the docs page runs
only its own inline code and cannot be framed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import requests

from tests.security.conftest import Account


def test_a_token_response_is_no_store_and_nosniff(sec_stack, new_account) -> None:
    account: Account = new_account()
    response = requests.post(
        sec_stack.nginx_url + "/api/users/login",
        json={"email": account.email, "password": account.password},
        timeout=10,
    )
    assert response.status_code == 200 and "token" in response.json()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_per_user_answers_are_no_store(sec_stack, new_account) -> None:
    account: Account = new_account()
    for path in ("/api/users/profile", "/api/bookings/mine"):
        response = requests.get(sec_stack.nginx_url + path, headers=account.auth, timeout=10)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


def test_errors_are_no_store_too(sec_stack) -> None:
    response = requests.get(sec_stack.nginx_url + "/api/users/profile", timeout=10)
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


def test_public_property_reads_say_how_long_they_may_be_cached(sec_stack) -> None:
    response = requests.get(sec_stack.nginx_url + "/api/bookings/properties", timeout=10)
    assert (
        response.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=1, stale-if-error=1"
    )


def test_the_docs_page_runs_only_its_own_inline_code_and_cannot_be_framed(sec_stack) -> None:
    response = requests.get(sec_stack.nginx_url + "/api/docs", timeout=10)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_site_serves_no_repository_file(sec_stack) -> None:
    frontend = Path(__file__).resolve().parents[2] / "frontend"
    for name in ("README.md", ".prettierrc.json", ".prettierignore", "package.json"):
        response = requests.get(f"{sec_stack.nginx_url}/{name}", timeout=10)
        assert (frontend / name).read_text() not in response.text, name


def test_nginx_workers_do_not_run_as_root(sec_stack) -> None:
    master = int((sec_stack.root / "nginx" / "nginx.pid").read_text())
    workers = [
        pid for pid in Path("/proc").iterdir()
        if pid.name.isdigit() and _ppid(pid) == master
    ]  # fmt: skip
    assert workers, "nginx has no worker processes"
    if os.geteuid() == 0:  # started as root, nginx must hand its workers to an unprivileged user
        assert all(pid.stat().st_uid != 0 for pid in workers)


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
