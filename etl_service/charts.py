"""The report's PNG: monthly revenue stacked by property (top N) and occupancy per property, on a real time
axis (months placed by date, so a gap of years shows as a gap, not as neighbours)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from etl_service.reports import ReportRow

TOP_PROPERTIES = 6
BAR_DAYS = 22  # a month's bar, narrower than the shortest month so neighbours never touch
OTHER = "other"


def draw_chart(rows: list[ReportRow], path: Path) -> None:
    import matplotlib.pyplot as plt

    figure = build_figure(rows)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def build_figure(rows: list[ReportRow]) -> Figure:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    months = sorted({row.month for row in rows})
    top = _top_properties(rows)
    figure, (revenue_axis, occupancy_axis) = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    _stacked_revenue(revenue_axis, rows, months, top)
    _occupancy_lines(occupancy_axis, rows, months, top)
    occupancy_axis.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=14))
    occupancy_axis.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    figure.autofmt_xdate(rotation=45)
    figure.suptitle("Revenue and occupancy by property and month")
    figure.tight_layout()
    return figure


def _top_properties(rows: list[ReportRow]) -> list[str]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.property] += row.revenue
    return sorted(totals, key=lambda name: totals[name], reverse=True)[:TOP_PROPERTIES]


def _stacked_revenue(axis: Axes, rows: list[ReportRow], months: list[date], top: list[str]) -> None:
    series: dict[str, list[float]] = {name: [0.0] * len(months) for name in [*top, OTHER]}
    index = {month: i for i, month in enumerate(months)}
    for row in rows:
        name = row.property if row.property in top else OTHER
        series[name][index[row.month]] += float(row.revenue)
    if not any(series[OTHER]):  # no empty "other" in the legend
        del series[OTHER]
    bottom = [0.0] * len(months)
    for name, values in series.items():
        axis.bar(months, values, width=BAR_DAYS, bottom=bottom, label=name, align="edge")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axis.set_ylabel("revenue")
    axis.legend(fontsize="small", ncol=2)


def _occupancy_lines(axis: Axes, rows: list[ReportRow], months: list[date], top: list[str]) -> None:
    """One line per property; a month without data is a gap in its line, not a drop to zero."""
    for name in top:
        known = {row.month: row.occupancy * 100 for row in rows if row.property == name}
        values = [known.get(month, math.nan) for month in months]
        axis.plot(months, values, marker="o", label=name)
    axis.set_ylabel("occupancy %")
    axis.set_ylim(bottom=0)
