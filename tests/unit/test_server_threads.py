"""How many blocking threads each HTTP server runs (infra/serve.py `THREADS_BY_PACKAGE`): the servers whose
requests wait on other servers keep more of them, in the local stack and in containers alike. No servers;
why the counts matter is tested on a real stack in tests/integration/test_slow_requests_hold_no_reads.py."""

from __future__ import annotations

from pathlib import Path

from infra.serve import APP_PACKAGE, DEFAULT_THREADS, granian_argv
from infra.services import SERVICES, service_env


def blocking_threads(argv: list[str]) -> int:
    return int(argv[argv.index("--blocking-threads") + 1])


def test_a_container_s_server_takes_its_package_s_count_unless_told_otherwise() -> None:
    assert blocking_threads(granian_argv({APP_PACKAGE: "gateway"})) == 32
    assert blocking_threads(granian_argv({APP_PACKAGE: "user_service"})) == 32
    assert blocking_threads(granian_argv({APP_PACKAGE: "booking_service"})) == DEFAULT_THREADS
    assert blocking_threads(granian_argv({APP_PACKAGE: "gateway", "HTTP_THREADS": "4"})) == 4


def test_the_local_stack_gives_waiting_servers_their_count_and_the_others_the_stack_s(tmp_path: Path) -> None:
    found = {spec.name: service_env(spec, 0, 20000, {}, tmp_path, 1, 6)["HTTP_THREADS"] for spec in SERVICES}
    assert found == {"user_service": "32", "booking_service": "6", "booking_realtime": "6", "gateway": "32",
                     "etl_reports": "6"}  # fmt: skip
