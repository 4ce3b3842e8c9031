"""`python -m bench.run --render FILE` redraws the report from stored results and never rewrites them.
No servers: a results file `make bench` committed, rendered into a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench import run

STORED = Path(__file__).resolve().parents[2] / "bench" / "results" / "20261207T142200Z.json"


def test_render_draws_the_report_and_leaves_the_results_file_as_it_was(tmp_path: Path) -> None:
    results = tmp_path / STORED.name
    shutil.copy(STORED, results)
    assert run.main(["--render", str(results), "--out", str(tmp_path)]) == 0
    assert results.read_bytes() == STORED.read_bytes()
    report = (tmp_path / "latest.md").read_text()
    assert report.startswith("# Benchmark results 2026-12-07T14:22:00Z")
    assert "| p99 at 50 % of the full path: mixed workload" in report
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["cpu_share.png", "knee.png", "references.png"]
