"""`python -m etl_service report --out DIR`: occupancy and revenue by property and month.

Occupancy counts each booked night in the month it falls in (a stay across a month end counts in
both months) over the days of that month. Bookings, cancellations and revenue count in the stay
month (the check-in month), as the fact table's `stay_month` does.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from common.db import make_engine
from etl_service.errors import EtlError
from etl_service.settings import EtlSettings

REPORT_SQL = """
WITH nights AS (
    SELECT f.property_id, d.month_start AS month, count(*) AS booked_nights
    FROM fact_booking f
    JOIN dim_date d ON d.date_key >= f.start_date_key AND d.date_key < f.end_date_key
    WHERE f.status <> 'cancelled'
    GROUP BY 1, 2
), money AS (
    SELECT property_id, stay_month AS month, count(*) AS bookings,
           count(*) FILTER (WHERE status = 'cancelled') AS cancellations, sum(revenue) AS revenue
    FROM fact_booking
    GROUP BY 1, 2
), cells AS (
    SELECT property_id, month FROM nights UNION SELECT property_id, month FROM money
)
SELECT c.property_id, coalesce(p.name, '#' || c.property_id) AS property, c.month,
       coalesce(m.bookings, 0), coalesce(m.cancellations, 0), coalesce(n.booked_nights, 0),
       extract(day FROM c.month + interval '1 month' - interval '1 day')::int AS days_in_month,
       coalesce(m.revenue, 0)
FROM cells c
LEFT JOIN nights n ON n.property_id = c.property_id AND n.month = c.month
LEFT JOIN money m ON m.property_id = c.property_id AND m.month = c.month
LEFT JOIN dim_property p ON p.property_id = c.property_id
ORDER BY c.month, c.property_id
"""


@dataclass(frozen=True)
class ReportRow:
    property_id: int
    property: str
    month: date
    bookings: int
    cancellations: int
    booked_nights: int
    days_in_month: int
    revenue: Decimal

    @property
    def occupancy(self) -> float:
        return self.booked_nights / self.days_in_month


def fetch_report(warehouse_url: str) -> list[ReportRow]:
    engine = make_engine(warehouse_url, pool_size=1)
    try:
        with engine.connect() as conn:
            return [ReportRow(*row) for row in conn.execute(text(REPORT_SQL))]
    except SQLAlchemyError as exc:
        raise EtlError(f"warehouse is unavailable: {type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()


HEADER = ("property_id", "property", "month", "bookings", "cancellations", "booked_nights", "occupancy",
          "revenue")  # fmt: skip


def format_table(rows: list[ReportRow], limit: int) -> str:
    lines = [f"{'property':<28} {'month':<7} {'bookings':>8} {'cancel':>6} {'nights':>6} {'occ.':>6} "
             f"{'revenue':>12}"]  # fmt: skip
    for row in rows[:limit]:
        lines.append(
            f"{row.property[:28]:<28} {row.month:%Y-%m} {row.bookings:>8} {row.cancellations:>6} "
            f"{row.booked_nights:>6} {row.occupancy:>6.1%} {row.revenue:>12,.2f}"
        )
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows in the CSV")
    return "\n".join(lines)


def write_csv(rows: list[ReportRow], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow(
                [row.property_id, row.property, f"{row.month:%Y-%m}", row.bookings, row.cancellations,
                 row.booked_nights, f"{row.occupancy:.4f}", f"{row.revenue:.2f}"]
            )  # fmt: skip


EMPTY_WAREHOUSE = (
    "The warehouse holds no bookings yet: nothing to report (run the ETL first: `make etl`, or "
    "`python -m etl_service run` with the stack's settings). No CSV or chart written."
)


def write_report(settings: EtlSettings, out: Path, *, limit: int = 100) -> str:
    """Writes occupancy_revenue.csv and occupancy_revenue.png under `out`; returns the text table (or says
    the warehouse is empty and writes nothing)."""
    from etl_service.charts import draw_chart

    rows = fetch_report(settings.warehouse_db_url)
    if not rows:
        return EMPTY_WAREHOUSE
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "occupancy_revenue.csv")
    draw_chart(rows, out / "occupancy_revenue.png")
    return format_table(rows, limit)
