"""`python -m etl_service schedule`: run the ETL on a cron expression, never two runs at once."""

from __future__ import annotations

import logging
import re
import signal
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from common.settings import ConfigurationError
from etl_service.errors import EtlError, RunInProgressError
from etl_service.pipeline import run_etl
from etl_service.settings import EtlSettings

log = logging.getLogger(__name__)


CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str) -> CronTrigger:
    """A standard 5-field crontab line, in UTC."""
    fields = expression.split()
    try:
        if len(fields) != 5:
            raise ValueError("expected 5 fields")
        minute, hour, day, month, weekday = fields
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekday_names(weekday),
            timezone="UTC",
        )
    except (ValueError, IndexError) as exc:
        raise ConfigurationError(f"ETL_SCHEDULE is not a valid cron expression: {expression!r}") from exc


def _weekday_names(field: str) -> str:
    """Cron counts weekdays from Sunday=0 (7 too), APScheduler from Monday=0: name them instead."""
    return re.sub(r"(?<![/\d])\d+", lambda m: CRON_WEEKDAYS[int(m.group())], field)


def scheduled_run(settings: EtlSettings) -> None:
    """One scheduled run; failures are logged, and the next run catches up from the watermarks."""
    try:
        run_etl(settings)
    except RunInProgressError as exc:
        log.warning("scheduled etl run skipped: %s", exc)
    except EtlError as exc:
        log.error("scheduled etl run failed: %s", exc)


def build_scheduler(settings: EtlSettings) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    # max_instances=1 stops overlap inside this process; the warehouse advisory lock stops it across hosts.
    scheduler.add_job(
        scheduled_run,
        cron_trigger(settings.etl_schedule),
        args=[settings],
        id="etl",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler


def serve(settings: EtlSettings) -> None:
    scheduler = build_scheduler(settings)

    def _stop(signum: int, _frame: Any) -> None:
        log.info("etl scheduler stopping on signal %s", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    log.info("etl scheduler started", extra={"etl.schedule": settings.etl_schedule})
    scheduler.start()
