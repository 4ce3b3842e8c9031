"""The report's PNG chart (issue #20): months on a real time axis, gaps instead of drops to zero, no empty
"other" in the legend. Drawn in process with matplotlib's Agg backend; no server needed."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path

from matplotlib.dates import date2num

from etl_service.charts import build_figure, draw_chart
from etl_service.reports import ReportRow

ROWS = [
    ReportRow(1, "Loft", date(2027, 12, 1), 2, 0, 10, 31, Decimal("500")),
    ReportRow(1, "Loft", date(2028, 1, 1), 1, 0, 3, 31, Decimal("100")),
    ReportRow(2, "Cabin", date(2031, 5, 1), 1, 0, 5, 31, Decimal("300")),
]


def test_months_sit_on_a_time_axis_and_gaps_stay_gaps() -> None:
    figure = build_figure(ROWS)
    revenue, occupancy = figure.axes
    starts = sorted({bar.get_x() for bar in revenue.patches})
    assert starts == [date2num(date(2027, 12, 1)), date2num(date(2028, 1, 1)), date2num(date(2031, 5, 1))]
    loft = next(line for line in occupancy.get_lines() if line.get_label() == "Loft")
    assert math.isnan(list(loft.get_ydata())[2])  # no data for the Loft in 2031-05: a gap, not 0 %
    assert revenue.get_legend_handles_labels()[1] == ["Loft", "Cabin"]


def test_the_chart_file_is_written(tmp_path: Path) -> None:
    draw_chart(ROWS, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
