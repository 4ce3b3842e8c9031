"""Gray failures (issue #15 item 9): one instance of a scaled service frozen with SIGSTOP — alive to the
kernel, silent to everyone — under a loop of signed-in reads through nginx. Goal: no read costs more than
2 s and none fails (the gateway hedges a read left unanswered for 0.5 s to the other instance and its
health checks drop the frozen one within about a second). Real private stack; nothing is mocked.
The figures land in tests/output/chaos_report.txt, under the fault table."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import time
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from infra.procs import process_tree
from tests.support.client_load import ClientLoop
from tests.support.faults import FREEZE_LINES, wait_until
from tests.support.load import LoadUser

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
BOUND_S = 2.0
CLIENTS = 4
FROZEN_FOR_S = 4.0


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def assert_reads_survive_a_freeze(url: str, token: str, pids: list[int], what: str, clients: int) -> None:
    """`clients` loops read `url` while `pids` are frozen for FROZEN_FOR_S; none may fail or exceed the
    bound. The figures go to the freeze report."""
    headers = {"Authorization": f"Bearer {token}"}  # a token: never served by the edge cache
    assert requests.get(url.format(n=0), headers=headers, timeout=10).status_code == 200
    reads = itertools.count()

    def read(session: requests.Session, _client: int) -> int:
        # a `{n}` in the url makes each read a different one (a different cache key)
        return session.get(url.format(n=next(reads) % 500), headers=headers, timeout=10).status_code

    def every_client_read_since(moment: float) -> bool:
        return {a.client for a in loop.answers if a.at >= moment} == set(range(clients))

    with ClientLoop(read, clients) as loop:
        assert wait_until(lambda: every_client_read_since(0.0), 10), "reads should flow before the freeze"
        signal_all(pids, signal.SIGSTOP)
        try:
            time.sleep(FROZEN_FOR_S)  # holds the fault: the reads must ride out a freeze this long
        finally:
            signal_all(pids, signal.SIGCONT)
        thawed = time.time()
        # every read caught in the freeze has ended once each client has started one after the thaw
        assert wait_until(lambda: every_client_read_since(thawed), 15), "reads should flow after the thaw"
    slowest = max(answer.elapsed for answer in loop.answers)
    failed = len(loop.failures())
    target = urlsplit(url).path + ("?" + urlsplit(url).query if "{" in url else "")
    FREEZE_LINES.append(f"{what} frozen {FROZEN_FOR_S:.0f} s, GET {target}: {len(loop.answers)} reads, "
                     f"{failed} failed, slowest {slowest:.2f} s")  # fmt: skip
    assert failed == 0, f"{failed} of {len(loop.answers)} reads failed"
    assert slowest <= BOUND_S, f"slowest read {slowest:.2f} s"


@pytest.mark.parametrize(
    ("service", "path"),
    [("booking_service", "/api/bookings/properties"), ("user_service", "/api/users/profile")],
)
def test_a_frozen_instance_costs_no_read_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser], service: str, path: str
) -> None:
    pid = chaos_stack.pid(service, 0)
    assert pid, f"{service}-0 has no pid"
    workers = process_tree(pid)  # granian's main process and its workers
    url = chaos_stack.nginx_url + path
    assert_reads_survive_a_freeze(url, load_users[0].token, workers, f"{service}-0", CLIENTS)


def test_a_frozen_replica_costs_profile_reads_no_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """The replica's postmaster and backends frozen: user_service's watchdog shuts a read that outlives
    1 s, the replica is marked down and reads run on the primary."""
    replica = chaos_stack.pid("postgres_replica")
    assert replica, "no replica pid"
    url = chaos_stack.nginx_url + "/api/users/profile"
    assert_reads_survive_a_freeze(url, load_users[1].token, process_tree(replica), "postgres replica", 2)


def test_a_frozen_gateway_costs_no_read_more_than_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """nginx takes a gateway silent on a read for 1.5 s as frozen: the read goes to the other gateway and
    the frozen one is skipped for 2 s (max_fails=1, fail_timeout=2s in a zone shared by nginx's workers)."""
    pid = chaos_stack.pid("gateway", 0)
    assert pid, "gateway-0 has no pid"
    url = chaos_stack.nginx_url + "/api/users/profile"
    assert_reads_survive_a_freeze(url, load_users[2].token, process_tree(pid), "gateway-0", CLIENTS)


STORE_BOUND_S = 6.0  # a frozen store with no second instance: a clean JSON error within this, never a hang


def timed_get(url: str, headers: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    try:
        response = requests.get(url, headers=headers, timeout=30)
        return time.perf_counter() - started, response.status_code, response.text
    except requests.RequestException as exc:
        return time.perf_counter() - started, 0, type(exc).__name__


def answers_while_frozen(url: str, headers: dict[str, str], pids: list[int]) -> list[tuple[float, int, str]]:
    """Sequential reads of `url` during FROZEN_FOR_S of `pids` frozen, then one after the thaw."""
    answers = []
    signal_all(pids, signal.SIGSTOP)
    try:
        until = time.monotonic() + FROZEN_FOR_S
        while time.monotonic() < until:
            answers.append(timed_get(url, headers))
    finally:
        signal_all(pids, signal.SIGCONT)
    return answers


def a_booking(stack, user: LoadUser) -> int:
    properties = requests.get(stack.nginx_url + "/api/bookings/properties?limit=1", timeout=10).json()
    start = dt.date.today() + dt.timedelta(days=300 + user.user_id % 50)
    body = {"userId": user.user_id, "propertyId": properties[0]["propertyId"], "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=1)).isoformat()}  # fmt: skip
    headers = {"Authorization": f"Bearer {user.token}"}
    made = requests.post(stack.nginx_url + "/api/bookings/book", json=body, headers=headers, timeout=10)
    assert made.status_code == 201, made.text
    return made.json()["bookingId"]


def test_a_frozen_mariadb_answers_clean_errors_within_the_bound_and_recovers(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """MariaDB frozen (one server, no failover): reads of a booking end as JSON 503/504 within
    STORE_BOUND_S each (the driver's read timeout, then the gateway's own), never a hang, and work again
    within seconds of the thaw."""
    user = load_users[3]
    url = f"{chaos_stack.nginx_url}/api/bookings/booking/{a_booking(chaos_stack, user)}"
    headers = {"Authorization": f"Bearer {user.token}"}
    answers = answers_while_frozen(url, headers, process_tree(chaos_stack.pid("mariadb")))
    recovered = wait_for_status(url, headers, 200, within_s=10)
    slowest = max(latency for latency, _, _ in answers)
    statuses = sorted({status for _, status, _ in answers})
    FREEZE_LINES.append(f"MariaDB frozen {FROZEN_FOR_S:.0f} s, GET a booking: {len(answers)} reads, statuses "
                     f"{statuses}, slowest {slowest:.2f} s, 200 again {recovered:.2f} s after the thaw")  # fmt: skip
    assert all(status in (503, 504) and text.startswith("{") for _, status, text in answers), answers
    assert slowest <= STORE_BOUND_S, f"slowest answer {slowest:.2f} s"


def wait_for_status(url: str, headers: dict[str, str], status: int, within_s: float) -> float:
    """Seconds until `url` answers `status`."""
    started = time.monotonic()
    answered = wait_until(lambda: timed_get(url, headers)[1] == status, within_s, interval=0.1)
    assert answered, f"{url} did not answer {status} within {within_s} s"
    return time.monotonic() - started


def test_a_booking_lock_held_by_a_frozen_worker_costs_a_clean_503_within_the_bound(
    chaos_stack, load_users: list[LoadUser]
) -> None:
    """A worker frozen mid-booking holds the property's row lock: stood in for by a session that takes
    the same lock (SELECT ... FOR UPDATE) and goes silent. A booking for that property waits at most the
    statement timeout, then gets a JSON 503 — and nothing of it is written."""
    user = load_users[0]
    properties = requests.get(chaos_stack.nginx_url + "/api/bookings/properties?limit=1", timeout=10).json()
    property_id = properties[0]["propertyId"]
    engine = sa.create_engine(chaos_stack.env["BOOKING_DB_URL"])
    start = dt.date.today() + dt.timedelta(days=500)
    body = {"userId": user.user_id, "propertyId": property_id, "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=2)).isoformat()}  # fmt: skip
    try:
        with engine.connect() as holder, holder.begin():
            holder.execute(
                sa.text("SELECT id FROM properties WHERE id = :id FOR UPDATE"), {"id": property_id}
            )
            started = time.perf_counter()
            response = requests.post(chaos_stack.nginx_url + "/api/bookings/book", json=body,
                                     headers={"Authorization": f"Bearer {user.token}"}, timeout=30)  # fmt: skip
            waited = time.perf_counter() - started
        with engine.connect() as reader:
            written = reader.execute(
                sa.text("SELECT COUNT(*) FROM bookings WHERE property_id = :p AND start_date = :s"),
                {"p": property_id, "s": start},
            ).scalar_one()
    finally:
        engine.dispose()
    FREEZE_LINES.append(f"booking lock held by a silent session: POST /book answered {response.status_code} "
                     f"after {waited:.2f} s, rows written {written}")  # fmt: skip
    assert response.status_code == 503, response.text
    assert response.json().get("error") or response.json().get("message")
    assert waited <= STORE_BOUND_S, f"answered after {waited:.2f} s"
    assert written == 0


@pytest.mark.parametrize(
    ("store", "path"),
    [
        ("redis", "/api/users/profile"),  # token versions, rate-limit sync, near-cache invalidations
        # A Redis Cluster master: every read a different page of the list, so most miss the in-process
        # copies and go to the cluster's property cache.
        ("redis_cluster_0", "/api/bookings/properties?offset={n}"),
    ],
)
def test_a_frozen_redis_degrades_reads_within_2s_and_fails_none(
    chaos_stack, load_users: list[LoadUser], store: str, path: str
) -> None:
    """Redis frozen: every client of it has short socket timeouts and a fallback (signatures alone for
    token versions, local counts for rate limits, the database or Redis Cluster's replica after failover
    for the property cache), so reads slow down by at most a timeout and none fails."""
    pid = chaos_stack.pid(store)
    assert pid, f"no {store} pid"
    url = chaos_stack.nginx_url + path
    assert_reads_survive_a_freeze(url, load_users[1].token, [pid], store, 2)
