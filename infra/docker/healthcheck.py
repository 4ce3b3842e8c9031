"""Container health probe (slim images have no curl).

    python infra/docker/healthcheck.py http://127.0.0.1:8000/health    # 2xx within 3 s
    python infra/docker/healthcheck.py --database-env WAREHOUSE_DB_URL  # `SELECT 1` answers

Exit status 0 means healthy; the reason for a failure goes to stderr without any URL credentials.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def http_ok(url: str, timeout: float = 3.0) -> bool:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return 200 <= response.status < 300


def database_ok(env_var: str) -> bool:
    from sqlalchemy import text

    from common.db import make_engine

    engine = make_engine(os.environ[env_var], pool_size=1)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    try:
        ok = database_ok(argv[1]) if argv[:1] == ["--database-env"] else http_ok(argv[0])
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
