"""The report's PNG: monthly revenue stacked by property (top N) and occupancy per property."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from etl_service.reports import ReportRow

TOP_PROPERTIES = 6


def draw_chart(rows: list[ReportRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    months = sorted({row.month for row in rows})
    top = _top_properties(rows)
    figure, (revenue_axis, occupancy_axis) = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    _stacked_revenue(revenue_axis, rows, months, top)
    _occupancy_lines(occupancy_axis, rows, months, top)
    occupancy_axis.set_xticks(range(len(months)), [f"{m:%Y-%m}" for m in months], rotation=45, ha="right")
    figure.suptitle("Revenue and occupancy by property and month")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _top_properties(rows: list[ReportRow]) -> list[str]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        totals[row.property] += row.revenue
    return sorted(totals, key=lambda name: totals[name], reverse=True)[:TOP_PROPERTIES]


def _stacked_revenue(axis: Axes, rows: list[ReportRow], months: list[date], top: list[str]) -> None:
    series: dict[str, list[float]] = {name: [0.0] * len(months) for name in [*top, "other"]}
    index = {month: i for i, month in enumerate(months)}
    for row in rows:
        name = row.property if row.property in top else "other"
        series[name][index[row.month]] += float(row.revenue)
    bottom = [0.0] * len(months)
    for name, values in series.items():
        axis.bar(range(len(months)), values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axis.set_ylabel("revenue")
    axis.legend(fontsize="small", ncol=2)


def _occupancy_lines(axis: Axes, rows: list[ReportRow], months: list[date], top: list[str]) -> None:
    index = {month: i for i, month in enumerate(months)}
    for name in top:
        values = [0.0] * len(months)
        for row in rows:
            if row.property == name:
                values[index[row.month]] = row.occupancy * 100
        axis.plot(range(len(months)), values, marker="o", label=name)
    axis.set_ylabel("occupancy %")
    axis.set_ylim(bottom=0)
