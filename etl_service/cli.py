"""Command line: `python -m etl_service migrate | run [--full] | schedule | report --out DIR`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from common.logs import configure_logging
from common.settings import ConfigurationError
from common.tracing import init_tracing
from etl_service.errors import EtlError, RunInProgressError
from etl_service.settings import EtlSettings

log = logging.getLogger("etl_service")
EXIT_FAILED, EXIT_CONFIG, EXIT_BUSY = 1, 2, 75  # 75 = EX_TEMPFAIL: try again later


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m etl_service", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create or upgrade the warehouse star schema")
    run = commands.add_parser("run", help="run the ETL once now (incremental)")
    run.add_argument("--full", action="store_true", help="empty the star schema and reload everything")
    commands.add_parser("schedule", help="run on ETL_SCHEDULE (cron, UTC) until stopped")
    report = commands.add_parser("report", help="occupancy and revenue by property and month")
    report.add_argument("--out", required=True, type=Path, help="folder for the CSV and PNG files")
    report.add_argument("--limit", type=int, default=100, help="rows printed on the terminal")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = EtlSettings()
        configure_logging(settings.service_name, settings.log_level)
        init_tracing(settings.service_name)
        return _dispatch(args, settings)
    except ConfigurationError as exc:
        return _fail(f"configuration error: {exc}", EXIT_CONFIG)
    except RunInProgressError as exc:
        return _fail(str(exc), EXIT_BUSY)
    except EtlError as exc:
        return _fail(f"etl {args.command} failed: {exc}", EXIT_FAILED)


def _dispatch(args: argparse.Namespace, settings: EtlSettings) -> int:
    if args.command == "migrate":
        from common.migrations import upgrade_to_head

        try:
            upgrade_to_head("etl_service:migrations", settings.warehouse_db_url)
        except SQLAlchemyError as exc:
            raise EtlError(f"warehouse is unavailable: {type(exc).__name__}: {exc}") from exc
    elif args.command == "run":
        from etl_service.pipeline import run_etl

        summary = run_etl(settings, full=args.full)
        print(summary.as_text(), file=sys.stderr)
    elif args.command == "schedule":
        from etl_service.schedule import serve

        serve(settings)
    elif args.command == "report":
        from etl_service.reports import write_report

        print(write_report(settings, args.out, limit=args.limit))
    return 0


def _fail(message: str, code: int) -> int:
    log.error(message)
    print(f"error: {message}", file=sys.stderr)
    return code
