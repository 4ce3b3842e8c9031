"""ETL service: MariaDB bookings + PostgreSQL replica users → star schema in a warehouse, and reports.

A command-line process (`python -m etl_service migrate|run [--full]|schedule|report`) and a small read-only
reports HTTP app (`etl_service:create_app`, served behind the gateway at /api/reports/...).
Nothing connects at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from etl_service.web import ReportsSettings


def create_app(config: ReportsSettings | None = None) -> Flask:
    """The reports app; imported lazily so the CLI never loads Flask."""
    from etl_service.web import create_app as build

    return build(config)
