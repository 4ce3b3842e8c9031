"""ETL throughput: full and incremental runs against a private stack, compared with a raw COPY.

    .venv/bin/python bench/bench_etl.py [--bookings 1000000] [--users 100000] [--json OUT]

Starts a private stack of real servers (no services) on free ports in 20000-29999, generates the
source rows with bulk loads (LOAD DATA LOCAL INFILE into MariaDB, COPY into the PostgreSQL primary,
read back by the ETL from the replica), then times `python -m etl_service run --full`, an
incremental run after 1 000 new bookings, and a plain COPY of the same source rows into the
warehouse (same SELECTs, no transform, no upsert). Peak RSS is the ETL process's own (wait4).
Targets (issue #7): full < 60 s, incremental < 2 s, >= 0.3 of raw COPY speed, peak RSS < 500 MB.
Figures vary ~2x between runs on these 2-core machines; compare rows of the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pymysql
from sqlalchemy.engine import make_url

from common.migrations import upgrade_to_head
from etl_service.extract import BOOKINGS_SQL, USERS_SQL
from infra.ports import free_block
from infra.stack import Stack

REPO = Path(__file__).resolve().parents[1]
PROPERTIES = 2000
NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
# The ETL's own extract queries (bookings arrive as COPY-ready text lines), from the first row on.
BOOKINGS_SELECT = BOOKINGS_SQL.replace(":ts", "'1970-01-01'").replace(":id", "0") + " ORDER BY updated_at, id"
USERS_SELECT = USERS_SQL.replace(":ts", "'1970-01-01'").replace(":id", "0") + " ORDER BY updated_at, id"


def pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def maria_connect(url: str) -> pymysql.Connection:
    u = make_url(url)
    return pymysql.connect(host=u.host, port=u.port, user=u.username, password=u.password, database=u.database,
                           ssl_disabled=True, local_infile=True, autocommit=True)  # fmt: skip


def seed_users(primary_url: str, count: int, rng: random.Random) -> None:
    with psycopg.connect(pg_conninfo(primary_url)) as conn, conn.cursor() as cur:
        columns = "username, email, password_hash, role, created_at, updated_at"
        with cur.copy(f"COPY users ({columns}) FROM STDIN") as copy:
            for i in range(count):
                created = NOW - dt.timedelta(days=30, minutes=rng.randrange(1_500_000))
                role = "host" if i % 20 == 0 else "user"
                copy.write_row((f"bench{i}", f"bench{i}@example.com", "x", role, created, created))


def seed_bookings(booking_url: str, count: int, users: int, rng: random.Random, workdir: Path) -> None:
    with maria_connect(booking_url) as conn, conn.cursor() as cur:
        rows = [(f"bench-{i}", "Benchville, BV", 50 + i % 400) for i in range(PROPERTIES)]
        cur.executemany("INSERT INTO properties (name, location, price_per_night) VALUES (%s, %s, %s)", rows)
        cur.execute("SELECT MIN(id) FROM properties WHERE name LIKE 'bench-%%'")
        first_property = cur.fetchone()[0]
        path = workdir / "bookings.tsv"
        with path.open("w") as handle:
            for _ in range(count):
                handle.write(booking_line(rng, first_property, users))
        cur.execute(
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE bookings (user_id, property_id, start_date, "
            "end_date, status, price_per_night, total_price, created_at, updated_at)"
        )


def booking_line(rng: random.Random, first_property: int, users: int) -> str:
    created = NOW - dt.timedelta(days=40, minutes=rng.randrange(1_000_000))
    start = created.date() + dt.timedelta(days=rng.randrange(1, 120))
    nights = rng.randint(1, 14)
    price = 50 + rng.randrange(400)
    cancelled = rng.random() < 0.1
    updated = created + dt.timedelta(days=rng.randrange(1, 10)) if cancelled else created
    status = "cancelled" if cancelled else "confirmed"
    end = start + dt.timedelta(days=nights)
    return (f"{rng.randint(1, users)}\t{first_property + rng.randrange(PROPERTIES)}\t{start}\t{end}\t"
            f"{status}\t{price}\t{price * nights}\t{created}\t{updated}\n")  # fmt: skip


def wait_for_replica(replica_url: str, expected: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(pg_conninfo(replica_url), autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM users").fetchone()[0] < expected:
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not catch up")
            time.sleep(0.2)


def run_etl(env: dict[str, str], *args: str) -> dict[str, float]:
    """Runs the ETL CLI as a child; returns wall time, the run's own duration and peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "etl_service", "run", *args], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    stderr = child.stderr.read() if child.stderr else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"etl run failed: {stderr}")
    duration = float(re.search(r"finished in ([\d.]+) s", stderr).group(1))  # type: ignore[union-attr]
    # Properties are a small snapshot re-read every run; rows/s counts the streamed users and bookings.
    extracted = sum(int(n) for n in re.findall(r"(?:dim_user|fact_booking)\s+extracted\s+(\d+)", stderr))
    return {"wall_s": wall, "run_s": duration, "rows": extracted, "rows_per_s": extracted / duration,
            "peak_rss_mb": usage.ru_maxrss / 1024}  # fmt: skip


def raw_copy(env: dict[str, str]) -> dict[str, float]:
    """The ETL's source SELECTs streamed straight into plain warehouse tables with COPY: no staging,
    no transform, no upsert, one transaction. The fastest plain pipe, so the ratio is a strict one."""
    started = time.perf_counter()
    rows = 0
    with psycopg.connect(pg_conninfo(env["WAREHOUSE_DB_URL"])) as warehouse:
        warehouse.execute("DROP TABLE IF EXISTS raw_bookings, raw_users")
        warehouse.execute("CREATE TABLE raw_bookings (id bigint, user_id bigint, property_id bigint, "
                          "start_date date, end_date date, status text, price_per_night numeric, "
                          "total_price numeric, created_at timestamp, updated_at timestamp)")  # fmt: skip
        warehouse.execute("CREATE TABLE raw_users (id bigint, username text, role text, "
                          "created_at timestamptz, updated_at timestamptz)")  # fmt: skip
        rows += copy_lines(maria_rows(env["BOOKING_DB_URL"]), warehouse, "raw_bookings")
        replica = env["USER_DB_REPLICA_URLS"].split(",")[0]
        rows += copy_stream(pg_rows(replica), warehouse, "raw_users")
        warehouse.execute("DROP TABLE raw_bookings, raw_users")
    elapsed = time.perf_counter() - started
    return {"run_s": elapsed, "rows": rows, "rows_per_s": rows / elapsed}


def maria_rows(url: str):
    conn = maria_connect(url)
    with conn.cursor(pymysql.cursors.SSCursor) as cur:
        cur.execute(BOOKINGS_SELECT)
        for (line,) in cur:
            yield line
    conn.close()


def pg_rows(url: str):
    with psycopg.connect(pg_conninfo(url)) as conn, conn.cursor(name="raw") as cur:
        cur.execute(USERS_SELECT)
        yield from cur


def copy_lines(lines, warehouse: psycopg.Connection, table: str) -> int:
    count = 0
    with warehouse.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
        for line in lines:
            copy.write(line + "\n")
            count += 1
    warehouse.commit()
    return count


def copy_stream(rows, warehouse: psycopg.Connection, table: str) -> int:
    count = 0
    with warehouse.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    warehouse.commit()
    return count


def add_new_bookings(booking_url: str, count: int) -> None:
    with maria_connect(booking_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT MIN(id) FROM properties WHERE name LIKE 'bench-%%'")
        first = cur.fetchone()[0]
        rows = [(i % 1000 + 1, first + i % PROPERTIES, dt.date(2027, 1, 1), dt.date(2027, 1, 4), 100, 300)
                for i in range(count)]  # fmt: skip
        cur.executemany("INSERT INTO bookings (user_id, property_id, start_date, end_date, price_per_night, "
                        "total_price) VALUES (%s, %s, %s, %s, %s, %s)", rows)  # fmt: skip


def measure(stack: Stack, bookings: int, users: int, workdir: Path) -> dict[str, dict[str, float]]:
    env = {**os.environ, **stack.env, "LOG_LEVEL": "WARNING", "SERVICE_NAME": "etl_bench"}
    upgrade_to_head("booking_service:migrations", env["BOOKING_DB_URL"])
    upgrade_to_head("user_service:migrations", env["USER_DB_URL"])
    upgrade_to_head("etl_service:migrations", env["WAREHOUSE_DB_URL"])
    rng = random.Random(7)
    started = time.perf_counter()
    seed_users(env["USER_DB_URL"], users, rng)
    seed_bookings(env["BOOKING_DB_URL"], bookings, users, rng, workdir)
    wait_for_replica(env["USER_DB_REPLICA_URLS"].split(",")[0], users)
    results: dict[str, dict[str, float]] = {"generate": {"run_s": time.perf_counter() - started,
                                                         "rows": bookings + users}}  # fmt: skip
    results["etl full"] = run_etl(env, "--full")
    results["raw COPY"] = raw_copy(env)
    add_new_bookings(env["BOOKING_DB_URL"], 1000)
    results["etl incremental (1000 new)"] = run_etl(env)
    results["etl again (no change)"] = run_etl(env)
    results["ratio full/raw COPY"] = {
        "x": results["etl full"]["rows_per_s"] / results["raw COPY"]["rows_per_s"]
    }
    return results


def print_table(results: dict[str, dict[str, float]]) -> None:
    print(f"{'step':<28} {'run s':>8} {'wall s':>8} {'rows':>10} {'rows/s':>10} {'peak RSS MB':>12}")
    for name, r in results.items():
        if "x" in r:
            print(f"{name:<28} {r['x']:>8.2f}  (target >= 0.3)")
            continue
        print(f"{name:<28} {r.get('run_s', 0):>8.2f} {r.get('wall_s', 0):>8.2f} {r.get('rows', 0):>10.0f} "
              f"{r.get('rows_per_s', 0):>10.0f} {r.get('peak_rss_mb', 0):>12.0f}")  # fmt: skip


def _out_of_time(_signum: int, _frame: object) -> None:
    raise TimeoutError("bench_etl ran out of time (--max-seconds)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--max-seconds", type=int, default=1200, help="give up (and stop the stack) after")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(args.max_seconds)
    root = Path(tempfile.mkdtemp(prefix="hrp-bench-etl-"))
    stack = Stack(root, free_block(), env_name="test", workers=1, threads=4)
    try:
        stack.up(with_services=False)
        results = measure(stack, args.bookings, args.users, root)
    finally:
        stack.down()
        shutil.rmtree(root, ignore_errors=True)
    print_table(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
