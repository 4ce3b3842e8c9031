"""Availability search at scale: 100 000 properties, 1 000 000 bookings, `from/to` p50/p99 on cache misses.

    .venv/bin/python bench/bench_search.py [--properties 100000] [--bookings-per-property 10] [--requests 300]

Starts a private stack (real MariaDB, Redis Cluster, booking instances) on free ports in 20000-29999,
bulk-generates the data inside MariaDB (INSERT ... SELECT from the SEQUENCE engine), prints the EXPLAIN
of the search query (which indexes it uses), then times searches against one booking instance directly.
Date-window searches are never cached, so every timed request is a cache miss. Goal: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

from booking_service.inputs import parse_property_filters
from booking_service.properties.model import PropertyFilters
from booking_service.properties.repository import search_query
from infra.ports import free_block
from infra.stack import Stack

CITIES = ["Paris", "Lisbon", "Denver", "Austin", "Kyoto", "Oslo", "Malibu, CA", "Aspen, CO", "Rome", "Cusco"]


def generate(engine: sa.Engine, properties: int, per_property: int) -> tuple[int, float]:
    """Bulk-inserts properties and non-overlapping bookings (90% confirmed) spread over a year."""
    started = time.perf_counter()
    cities = ", ".join(f"'{city}'" for city in CITIES)
    with engine.begin() as conn:
        first = conn.execute(sa.text("SELECT COALESCE(MAX(id), 0) + 1 FROM properties")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO properties (id, name, location, price_per_night, availability, owner_id) "
                f"SELECT {first} + seq, CONCAT('Home ', seq), ELT(1 + seq % 10, {cities}), "
                "40 + (seq * 7919) % 960, seq % 10 <> 0, 1 + seq % 5000 "
                f"FROM seq_0_to_{properties - 1}"
            )
        )
        # Booking k of property p starts 36k + (13p mod 30) days from today-30 and lasts 1-7 nights.
        conn.execute(
            sa.text(
                "INSERT INTO bookings (user_id, property_id, start_date, end_date, status, price_per_night, "
                "total_price) SELECT 1 + seq % 50000, :first + seq DIV :k, "
                "DATE_ADD(CURRENT_DATE - INTERVAL 30 DAY, INTERVAL (seq % :k) * 36 + ((seq DIV :k) * 13) % 30 DAY), "
                "DATE_ADD(CURRENT_DATE - INTERVAL 30 DAY, "
                "  INTERVAL (seq % :k) * 36 + ((seq DIV :k) * 13) % 30 + 1 + (seq % 7) DAY), "
                "IF(seq % 10 = 3, 'cancelled', 'confirmed'), 100, 100 * (1 + seq % 7) "
                f"FROM seq_0_to_{properties * per_property - 1}"
            ),
            {"first": first, "k": per_property},
        )
        conn.execute(sa.text("ANALYZE TABLE properties, bookings"))
    return first, time.perf_counter() - started


def explain(engine: sa.Engine, filters: PropertyFilters) -> list[str]:
    sql = str(search_query(filters).compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"EXPLAIN {sql}")).mappings().all()
    return [
        f"  {r['table']:<12} type={r['type']:<6} key={r['key']} rows={r['rows']} {r['Extra'] or ''}"
        for r in rows
    ]


def time_requests(url: str, params_list: list[dict]) -> dict[str, float]:
    session = requests.Session()
    latencies, sizes = [], []
    for params in params_list:
        started = time.perf_counter()
        response = session.get(url, params=params, headers={"Cache-Control": "no-cache"}, timeout=10)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        sizes.append(len(response.json()))
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "max_ms": max(latencies) * 1000,
            "avg_results": statistics.mean(sizes)}  # fmt: skip


def time_sql(engine: sa.Engine, params_list: list[dict]) -> dict[str, float]:
    """The same searches as SQL only (no HTTP, no JSON): what MariaDB and the indexes cost."""
    latencies = []
    with engine.connect() as conn:
        for params in params_list:
            query = search_query(parse_property_filters({k: str(v) for k, v in params.items()}))
            started = time.perf_counter()
            conn.execute(query).all()
            latencies.append(time.perf_counter() - started)
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def scenarios(count: int) -> dict[str, list[dict]]:
    rng = random.Random(7)
    today = dt.datetime.now(dt.UTC).date()

    def window() -> dict:
        start = today + dt.timedelta(days=rng.randrange(0, 300))
        return {
            "from": start.isoformat(),
            "to": (start + dt.timedelta(days=rng.randrange(1, 15))).isoformat(),
        }

    return {
        "from/to": [window() for _ in range(count)],
        "from/to sort=price": [{**window(), "sort": "price"} for _ in range(count)],
        "from/to maxPrice=100 sort=price": [
            {**window(), "maxPrice": 100, "sort": "price"} for _ in range(count)
        ],
        "from/to location=Kyoto": [{**window(), "location": "kyoto"} for _ in range(count)],
        "from/to offset=1000": [{**window(), "offset": 1000} for _ in range(count)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--properties", type=int, default=100_000)
    parser.add_argument("--bookings-per-property", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hrp-bench-search-"))
    stack = Stack(root, free_block(), env_name="test", workers=2, threads=8)
    try:
        stack.up()
        run(stack, args)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def run(stack: Stack, args: argparse.Namespace) -> None:
    engine = sa.create_engine(stack.env["BOOKING_DB_URL"], connect_args={"ssl_disabled": True})
    _, seconds = generate(engine, args.properties, args.bookings_per_property)
    total = args.properties * args.bookings_per_property
    print(f"generated {args.properties} properties and {total} bookings in {seconds:.1f}s")
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
    for label, filters in (
        ("from/to", PropertyFilters(free_from=day, free_to=day + dt.timedelta(days=5))),
        (
            "from/to sort=price",
            PropertyFilters(free_from=day, free_to=day + dt.timedelta(days=5), sort="price"),
        ),
    ):
        print(f"EXPLAIN {label}:", *explain(engine, filters), sep="\n")
    url = stack.url("booking_service", 0) + "/api/bookings/properties"
    header = f"{'search (cache miss)':<34}{'HTTP p50':>10}{'HTTP p99':>10}{'SQL p50':>10}{'SQL p99':>10}{'results':>9}"
    print(f"\n{header}  (ms)")
    for name, params_list in scenarios(args.requests).items():
        r, q = time_requests(url, params_list), time_sql(engine, params_list)
        print(
            f"{name:<34}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{q['p50_ms']:>10.2f}{q['p99_ms']:>10.2f}"
            f"{r['avg_results']:>9.1f}"
        )
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
