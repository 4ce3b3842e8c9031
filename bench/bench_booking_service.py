"""Booking service throughput and latency, straight against one instance (no nginx, no gateway).

    .venv/bin/python bench/bench_booking_service.py [--requests 2000] [--concurrency 16] [--json OUT]

Starts a private stack (real MariaDB, Redis Cluster, two booking instances) on free ports in
20000-29999, measures, prints a table and stops the stack. Figures vary ~2x between runs on these
2-core machines (the load generator shares the CPU); compare rows of the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support when run as a script

from infra.ports import free_block
from infra.stack import Stack
from tests.support.client_load import Call, ClientLoop


def run_load(call: Call, total: int, concurrency: int) -> dict[str, float]:
    """Runs `total` calls of `call(session, client)` on `concurrency` threads; returns figures."""
    return ClientLoop(call, concurrency).run(total=total).figures()


def create_properties(db_url: str, count: int) -> list[int]:
    engine = sa.create_engine(db_url, connect_args={"ssl_disabled": True})
    with engine.begin() as conn:
        ids = []
        for i in range(count):
            result = conn.execute(
                sa.text(
                    "INSERT INTO properties (name, location, price_per_night, availability) "
                    "VALUES (:n, 'Benchville, BV', 100, 1)"
                ),
                {"n": f"bench-{i}"},
            )
            ids.append(int(result.lastrowid))
    engine.dispose()
    return ids


def measure(stack: Stack, total: int, concurrency: int) -> dict[str, dict[str, float]]:
    base = stack.url("booking_service", 0)
    properties_url = f"{base}/api/bookings/properties"
    bypass = {"Cache-Control": "no-cache"}
    results = {}
    run_load(lambda s, i: s.get(properties_url).status_code, 200, concurrency)  # warm-up
    results["properties (cache hit)"] = run_load(
        lambda s, i: s.get(properties_url).status_code, total, concurrency
    )
    results["properties (cache bypass)"] = run_load(
        lambda s, i: s.get(properties_url, headers=bypass).status_code, total, concurrency
    )
    results["bookings (POST, 201)"] = run_load(booking_call(stack, base), total, concurrency)
    return results


def booking_call(stack: Stack, base: str) -> Call:
    property_ids = create_properties(stack.env["BOOKING_DB_URL"], 50)
    headers = {"Authorization": f"Bearer {stack.token(1, 'admin')}"}
    today = dt.datetime.now(dt.UTC).date()
    numbers = itertools.count()
    guests = range(1000, 1050)
    stack.list_users(*guests)  # the booking service refuses a userId its user directory does not know

    def call(session: requests.Session, _client: int) -> int:
        # Every request takes a distinct night: all should be confirmed, none conflict.
        index = next(numbers)
        start = today + dt.timedelta(days=1 + index // len(property_ids))
        body = {
            "userId": guests[index % len(guests)],
            "propertyId": property_ids[index % len(property_ids)],
            "startDate": start.isoformat(),
            "endDate": (start + dt.timedelta(days=1)).isoformat(),
        }
        return session.post(f"{base}/api/bookings/book", json=body, headers=headers).status_code

    return call


def print_table(results: dict[str, dict[str, float]]) -> None:
    print(f"\n{'scenario':<28}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for name, r in results.items():
        print(
            f"{name:<28}{r['requests']:>10}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>10}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hrp-bench-"))
    stack = Stack(root, free_block(), env_name="test", workers=2, threads=8)
    try:
        stack.up()
        results = measure(stack, args.requests, args.concurrency)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
