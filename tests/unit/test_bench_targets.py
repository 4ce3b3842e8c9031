"""The report's reported-only rows on the p99 step, from synthetic results (no servers)."""

from __future__ import annotations

from bench import report
from bench.targets import composition_check
from bench.workload.suite import late_summary


def kind(n: int, above: float) -> dict:
    return {"n": n, "p50_ms": 1.0, "p99_ms": 9.0, "above_bound_pct": above}


def test_logins_and_writes_are_counted_apart_from_the_reads() -> None:
    step = {"per_kind": {"browse": kind(600, 1.0), "mine": kind(390, 2.0), "login": kind(5, 100.0),
                         "book": kind(3, 100.0), "cancel": kind(2, 50.0)}}  # fmt: skip
    [(_, measured, _, met)] = composition_check(step)
    # 10 of 1,000 requests are logins and writes, 9 of them above; 6 + 7.8 of 990 reads above.
    assert measured.startswith("1.00 % of its requests, 90.0 % of them above the bound (0.90 % of all) / ")
    assert measured.endswith("1.39 % of reads above it")
    assert met is None


def test_a_step_without_a_bound_reports_no_composition() -> None:
    assert composition_check({"per_kind": {"browse": {"n": 5, "p50_ms": 1.0, "p99_ms": 2.0}}}) == []


def test_late_sends_are_summarised_in_milliseconds() -> None:
    late = late_summary([0.0001] * 98 + [0.002, 0.003])
    assert late["over_1ms_pct"] == 2.0
    assert 0.1 < late["p99_ms"] < 3.0


def test_the_sweep_table_shows_the_machine_busy_and_the_late_sends() -> None:
    step = {"fraction": 0.5, "offered_rps": 100.0, "rps": 99.0, "errors": 0, "above_bound_pct": 2.0,
            "late_sends": {"p99_ms": 0.5, "over_1ms_pct": 3.25},
            "cpu": {"gateway": {"pct_of_capacity": 40.0}, "load generator": {"pct_of_capacity": 10.5}}}  # fmt: skip
    [row] = [
        line for line in report.sweep_table({"max_rps": 200.0, "sweep": [step]}) if line.startswith("| 50%")
    ]
    cells = [cell.strip() for cell in row.split("|")]
    assert "50.5 %" in cells and "3.2 %" in cells  # busy: 40 + 10.5; 3.25 % of sends >= 1 ms late
