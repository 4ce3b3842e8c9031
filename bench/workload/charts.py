"""PNG charts of a suite run: the latency/throughput knee, reference throughputs, CPU per component."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.workload.cpu import OUTSIDE
from bench.workload.hello import FLASK_HELLO


def draw(results: dict, out: Path) -> list[str]:
    paths = [knee(results["main"], out / "knee.png"), references(results["main"], out / "references.png")]
    rows = cpu_rows(results)
    if rows:
        paths.append(cpu_share(rows, out / "cpu_share.png"))
    return [str(p) for p in paths]


def knee(main: dict, path: Path) -> Path:
    steps = [s for s in main["sweep"] if s.get("p50_ms") is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    achieved = [s["rps"] for s in steps]
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("p999_ms", "p99.9")):
        ax.plot(achieved, [s[key] for s in steps], marker="o", label=label)
    for s in steps:
        ax.annotate(f"{s['fraction']:.0%}", (s["rps"], s["p50_ms"]), textcoords="offset points", xytext=(0, -12),
                    ha="center", fontsize=8)  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("achieved throughput (req/s), labels: offered load as % of the measured maximum")
    ax.set_ylabel("latency from intended send time (ms)")
    ax.set_title("Mixed workload through nginx, edge cache bypassed (no-cache), open loop")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def references(main: dict, path: Path) -> Path:
    refs = main["references"]
    names = list(refs)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    ax.barh(names, [refs[n]["rps"] for n in names], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xscale("log")
    hello = refs.get(FLASK_HELLO, {}).get("rps")
    if hello:  # the targets' yardsticks: 0.33x and 4x the Flask hello
        for factor, style in ((0.33, ":"), (1.0, "-"), (4.0, "--")):
            ax.axvline(
                factor * hello, color="tab:red", linestyle=style, linewidth=1, label=f"{factor}x Flask hello"
            )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("max req/s, closed loop, log scale (wrk; mixed rows: Python generator)")
    ax.set_title("Reference points measured in the same run")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cpu_rows(results: dict) -> list[tuple[str, dict]]:
    """The steps whose CPU split is shown: 50 % and 100 % with 2 instances, 75 % with 1."""
    main = results["main"]
    rows = [
        (f"{s['fraction']:.0%} load, 2 instances", s["cpu"])
        for s in main["sweep"]
        if s["fraction"] in (0.5, 1.0)
    ]
    if "scale_out" in results:
        rows.append(("75 % load, 1 instance", results["scale_out"]["one"]["at_rate"]["cpu"]))
    return rows


def cpu_share(rows: list[tuple[str, dict]], path: Path) -> Path:
    components = list(rows[0][1])
    fig, ax = plt.subplots(figsize=(10, 4.5))
    left = [0.0] * len(rows)
    for component in components:
        values = [cpu.get(component, {}).get("pct_of_capacity", 0.0) for _, cpu in rows]
        color = "lightgrey" if component == OUTSIDE else None
        ax.barh([label for label, _ in rows], values, left=left, label=component, color=color)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("% of the machine's CPU capacity during the step")
    ax.set_title("Where the CPU goes")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
