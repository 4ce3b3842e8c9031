"""The reports HTTP app: admin-only, read-only time series from the warehouse, behind the gateway at
`/api/reports/...`. The browser never reaches the warehouse; this app's sessions are read-only
(`SET TRANSACTION READ ONLY` first in each), so nothing it runs can change the star schema."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import Engine, text

from common.auth import init_auth, require_auth
from common.db import make_engine
from common.errors import BadRequest, register_database_outage
from common.health import health_blueprint
from common.logs import configure_logging
from common.metrics import init_observability
from common.settings import ConfigurationError
from common.tracing import init_tracing
from common.web import init_web
from etl_service.reports import REPORT_SQL, ReportRow
from etl_service.settings import EtlSettings

reports = Blueprint("reports", __name__, url_prefix="/api/reports")
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
MAX_MONTHS = 120
DEFAULT_SPAN_MONTHS = 12
WINDOWED_SQL = f"SELECT * FROM ({REPORT_SQL}) AS report WHERE month >= :first AND month <= :last"


class ReportsSettings(EtlSettings):
    service_name: str = "etl_reports"
    redis_url: str | None = None  # token versions: a demoted admin's token stops working here too
    db_statement_timeout: float = 3.0


def create_app(config: ReportsSettings | None = None) -> Flask:
    settings = config or ReportsSettings()
    configure_logging(settings.service_name, settings.log_level)
    init_tracing(settings.service_name)
    if not settings.public_key_pem:
        raise ConfigurationError("JWT_PUBLIC_KEY(_FILE) must be set for the reports app")
    app = Flask(__name__)
    init_web(app, settings)
    init_observability(app)
    init_auth(app, settings.public_key_pem, settings.jwt_issuer, settings.redis_url)
    engine = make_engine(
        settings.warehouse_db_url, pool_size=2, statement_timeout=settings.db_statement_timeout
    )
    app.extensions["warehouse"] = engine
    app.register_blueprint(reports)
    app.register_blueprint(health_blueprint({"warehouse": lambda: _ping(engine)}))
    register_database_outage(app)
    return app


OCCUPANCY_FIELDS = ("month", "propertyId", "property", "bookedNights", "daysInMonth", "occupancy")
REVENUE_FIELDS = ("month", "propertyId", "property", "bookings", "cancellations", "revenue")


@reports.get("/occupancy")
@require_auth(roles={"admin"})
def occupancy() -> Response:
    return _report(OCCUPANCY_FIELDS)


@reports.get("/revenue")
@require_auth(roles={"admin"})
def revenue() -> Response:
    return _report(REVENUE_FIELDS)


def _report(fields: tuple[str, ...]) -> Response:
    """The month series of the requested window, each point cut to the report's own fields."""
    first, last = month_window(request.args)
    report = series(_rows(first, last), first, last)
    return jsonify({**report, "series": [{k: p[k] for k in fields} for p in report["series"]]})


def month_window(args: Any) -> tuple[dt.date, dt.date]:
    """`from`/`to` as YYYY-MM (default: a year back to a year ahead), at most MAX_MONTHS apart."""
    today = dt.date.today().replace(day=1)
    first = _month(args.get("from"), "from") or _shift(today, -DEFAULT_SPAN_MONTHS)
    last = _month(args.get("to"), "to") or _shift(today, DEFAULT_SPAN_MONTHS)
    months = (last.year - first.year) * 12 + last.month - first.month
    if months < 0:
        raise BadRequest("from must not be after to")
    if months >= MAX_MONTHS:
        raise BadRequest(f"from and to must be at most {MAX_MONTHS} months apart")
    return first, last


def series(rows: list[ReportRow], first: dt.date, last: dt.date) -> dict[str, Any]:
    """Per property and month, and totals per month (occupancy over every property with data that month)."""
    points = [
        {
            "month": f"{r.month:%Y-%m}", "propertyId": r.property_id, "property": r.property,
            "bookedNights": r.booked_nights, "daysInMonth": r.days_in_month, "occupancy": round(r.occupancy, 4),
            "bookings": r.bookings, "cancellations": r.cancellations, "revenue": f"{r.revenue:.2f}",
        }
        for r in rows
    ]  # fmt: skip
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"bookings": 0, "cancellations": 0, "revenue": Decimal(0), "nights": 0, "capacity": 0}
    )
    for r in rows:
        month = totals[f"{r.month:%Y-%m}"]
        month["bookings"] += r.bookings
        month["cancellations"] += r.cancellations
        month["revenue"] += r.revenue
        month["nights"] += r.booked_nights
        month["capacity"] += r.days_in_month
    return {
        "from": f"{first:%Y-%m}",
        "to": f"{last:%Y-%m}",
        "empty": not rows,
        "totals": [
            {
                "month": month,
                "bookings": t["bookings"],
                "cancellations": t["cancellations"],
                "revenue": f"{t['revenue']:.2f}",
                "bookedNights": t["nights"],
                "occupancy": round(t["nights"] / t["capacity"], 4) if t["capacity"] else 0.0,
            }
            for month, t in sorted(totals.items())
        ],
        "series": points,
    }


def _rows(first: dt.date, last: dt.date) -> list[ReportRow]:
    engine: Engine = current_app.extensions["warehouse"]
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        result = conn.execute(text(WINDOWED_SQL), {"first": first, "last": last})
        return [ReportRow(*row) for row in result]


def _month(raw: str | None, name: str) -> dt.date | None:
    if not raw:
        return None
    match = MONTH.fullmatch(raw)
    if match is None:
        raise BadRequest(f"{name} must be a month as YYYY-MM")
    return dt.date(int(match[1]), int(match[2]), 1)


def _shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
