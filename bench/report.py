"""Results of `python -m bench.run` as JSON, a Markdown report with the targets, and PNG charts."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from bench.workload import charts
from bench.workload.cpu import OUTSIDE

HELLO, STATIC = "bare gunicorn hello", "nginx static file"
MIXED = "full path: mixed workload"
TEN_MINUTES = 600
HEADLINE_KEYS = re.compile(r"rps|p50|p99|over|delivered|expected|per_message|run_s|rss|argon2|^x$")


def write(results: dict, out: Path) -> str:
    """Writes <date>.json, latest.md and the charts under `out`; returns the Markdown."""
    results["machine"].setdefault("loadavg_after", os.getloadavg()[0])
    results["targets"] = targets(results)
    stamp = results["date"].replace(":", "").replace("-", "")
    (out / f"{stamp}.json").write_text(json.dumps(results, indent=1, default=str))
    pictures = charts.draw(results, out)
    text = markdown(results, pictures)
    (out / "latest.md").write_text(text)
    return text


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def targets(results: dict) -> list[dict]:
    refs, sweep = results["main"]["references"], results["main"]["sweep"]
    hello = refs[HELLO]["rps"]
    found = []

    def add(name: str, measured: float, goal: str, met: bool, unit: str = "") -> None:
        found.append({"target": name, "measured": f"{fmt(measured, 2)}{unit}", "goal": goal, "met": met})

    for label in ("full path: property list (cached)", MIXED):
        ratio = refs[label]["rps"] / hello if hello else 0.0
        add(f"{label} throughput / bare hello", ratio, ">= 0.33", ratio >= 0.33, "x")
    for what in ("property list (cached)", "booking by id"):
        service = "booking_service: " + what
        overhead = refs[f"gateway: {what}"]["unloaded_p50_ms"] - refs[service]["unloaded_p50_ms"]
        add(f"gateway overhead, one-client p50, {what}", overhead, "<= 2 ms", overhead <= 2.0, " ms")
    half = next(s for s in sweep if s["fraction"] == 0.5)
    limit = 10 * refs[MIXED]["unloaded_p50_ms"]
    add(f"p99 at 50 % of max (mixed, open loop; other work on the machine: {fmt(outside(half))} % CPU)",
        half.get("p99_ms", math.inf), f"< 10 x unloaded p50 = {fmt(limit, 2)} ms",
        half.get("p99_ms", math.inf) < limit, " ms")  # fmt: skip
    errors = sum(s["errors"] for s in sweep if s["fraction"] <= 1.0)
    add("errors at <= 100 % of max", errors, "0", errors == 0)
    cached = refs["booking_service: property list (cached)"]["rps"]
    uncached = refs["booking_service: property list (uncached)"]["rps"]
    ratio = cached / uncached if uncached else 0.0
    add("cached / uncached property list throughput", ratio, ">= 3", ratio >= 3, "x")
    seconds = results["suite_seconds"]
    add("whole suite wall time", seconds, "< 600 s", seconds < TEN_MINUTES, " s")
    return found


def markdown(results: dict, pictures: list[str]) -> str:
    main = results["main"]
    lines = [f"# Benchmark results {results['date']}", "", context(results), ""]
    lines += ["## Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    lines += [f"| {t['target']} | {t['measured']} | {t['goal']} | {'met' if t['met'] else '**not met**'} |"
              for t in results["targets"]]  # fmt: skip
    lines += ["", *reference_table(main["references"]), "", *ceiling_lines(main), ""]
    lines += [*sweep_table(main), "", *kind_table(main), ""]
    if "scale_out" in results:
        lines += [*scale_table(results), ""]
    lines += [*cpu_table(results), ""]
    lines += [*external_table(results), ""]
    lines += [f"![{Path(p).stem}]({Path(p).name})" for p in pictures]
    return "\n".join(lines) + "\n"


def context(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    ceiling = results["main"]["references"][STATIC]["rps"]
    return (
        f"{m['cpus']} CPUs, load average {fmt(m['loadavg_before'])} before / {fmt(m['loadavg_after'])} after "
        f"(other work on the machine shares the CPUs; see the CPU table). gunicorn gthread "
        f"{s['gunicorn_workers']}x{s['gunicorn_threads']} per process. Load generator: this suite's own "
        f"Python asyncio generator (2 processes, keep-alive), open loop at a constant arrival rate with "
        f"latency from the intended send time (wrk2-style); maxima are closed loop (2 x 32 connections). "
        f"Its own ceiling is the nginx static row ({fmt(ceiling, 0)} req/s; compare with wrk below): "
        f"figures close to it are bounded by the generator and the shared CPUs, not the server. Suite wall time "
        f"{fmt(results['suite_seconds'], 0)} s{' (quick mode: noisy)' if results.get('quick') else ''}."
    )


def outside(step: dict) -> float | None:
    """% of the machine's CPU used outside the stack during a step (other people's work, kernel)."""
    return step.get("cpu", {}).get(OUTSIDE, {}).get("pct_of_capacity")


def reference_table(refs: dict) -> list[str]:
    hello, static = refs[HELLO]["rps"], refs[STATIC]["rps"]
    lines = ["## Reference points (same run, same machine)", "",
             "Maximum: closed loop, 2 x 32 connections. \"service\" and \"gateway\" rows hit instance 0 "
             "directly; \"full path\" rows go through nginx to both gateways and both service instances.", "",
             "| path | max req/s | x hello | x nginx static | 1-client p50 ms | 1-client p99 ms "
             "| p99 at max ms | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in refs.items():
        lines.append(
            f"| {name} | {fmt(r['rps'], 0)} | {fmt(r['rps'] / hello if hello else None, 2)} | "
            f"{fmt(r['rps'] / static if static else None, 3)} | {fmt(r['unloaded_p50_ms'], 2)} | "
            f"{fmt(r['unloaded_p99_ms'], 2)} | {fmt(r.get('p99_ms'))} | {r['errors'] + r.get('unloaded_errors', 0)} |"
        )
    return lines


def ceiling_lines(main: dict) -> list[str]:
    """wrk (C) on the two trivial references shows how much of the machine the Python generator reaches."""
    if not main.get("wrk"):
        return ["wrk not available: no cross-check of the generator's ceiling."]
    lines = [
        "Cross-check with wrk (C, closed loop, 2 threads x 64 connections) on the trivial references:",
        "",
    ]
    for name, row in main["wrk"].items():
        ours = main["references"][name]["rps"]
        share = ours / row["rps"] if row["rps"] else None
        lines.append(f"- {name}: wrk {fmt(row['rps'], 0)} req/s (p50 {fmt(row['p50_ms'], 2)} ms); the Python "
                     f"generator reaches {fmt(share, 2)} of that.")  # fmt: skip
    return lines


def sweep_table(main: dict) -> list[str]:
    lines = [f"## Offered load sweep: mixed workload through nginx, open loop (max = {fmt(main['max_rps'], 0)} "
             "req/s)", "", "| offered | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms "
             "| errors | CPU outside the stack |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in main["sweep"]:
        lines.append(
            f"| {s['fraction']:.0%} | {fmt(s['offered_rps'], 0)} | {fmt(s['rps'], 0)} | {fmt(s.get('p50_ms'), 2)} "
            f"| {fmt(s.get('p99_ms'), 2)} | {fmt(s.get('p999_ms'), 2)} | {fmt(s.get('max_ms'))} | "
            f"{s['errors']}{error_note(s)} | {fmt(outside(s))} % |"
        )
    return lines


def kind_table(main: dict) -> list[str]:
    steps = [s for s in main["sweep"] if s["fraction"] in (0.5, 1.0)]
    lines = ["### Per request kind (open loop)", "", "| kind | " + " | ".join(
        f"{s['fraction']:.0%}: n, p50 ms, p99 ms" for s in steps) + " |", "|---|" + "---:|" * len(steps)]  # fmt: skip
    kinds = sorted(
        {k for s in steps for k in s["per_kind"]}, key=lambda k: -steps[0]["per_kind"].get(k, {}).get("n", 0)
    )
    for kind in kinds:
        cells = []
        for s in steps:
            r = s["per_kind"].get(kind)
            cells.append(f"{r['n']}, {fmt(r['p50_ms'], 2)}, {fmt(r['p99_ms'], 2)}" if r else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


def error_note(row: dict) -> str:
    kinds = {k: v for k, v in row.get("error_kinds", {}).items() if v}
    return f" ({', '.join(f'{k}: {v}' for k, v in kinds.items())})" if kinds else ""


def scale_table(results: dict) -> list[str]:
    scale, main = results["scale_out"], results["main"]
    two = {
        "max": main["references"][MIXED],
        "at_rate": next(s for s in main["sweep"] if s["fraction"] == 0.75),
    }
    rate = scale["rate"]
    lines = [f"## Scale-out: 1 vs 2 instances of every service (mixed workload; {fmt(rate, 0)} req/s offered)",
             "", "| instances | max req/s | achieved req/s | p50 ms | p99 ms | errors |",
             "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for label, row in (("1", scale["one"]), ("2", two)):
        at = row["at_rate"]
        lines.append(
            f"| {label} | {fmt(row['max']['rps'], 0)} | {fmt(at['rps'], 0)} | {fmt(at.get('p50_ms'), 2)} | "
            f"{fmt(at.get('p99_ms'), 2)} | {at['errors']} |"
        )
    gain = main["references"][MIXED]["rps"] / scale["one"]["max"]["rps"] if scale["one"]["max"]["rps"] else 0
    lines += [
        "",
        f"2 instances / 1 instance maximum: {gain:.2f}x (2 cores: at best ~1x once the CPUs are full).",
    ]
    return lines


def cpu_table(results: dict) -> list[str]:
    rows = charts.cpu_rows(results)
    components = list(rows[0][1]) if rows else []
    header = "| component | " + " | ".join(label for label, _ in rows) + " |"
    lines = ["## CPU share per component (% of the 2 CPUs' capacity during the step)", "", header,
             "|---|" + "---:|" * len(rows)]  # fmt: skip
    for component in components:
        cells = [fmt(cpu.get(component, {}).get("pct_of_capacity")) for _, cpu in rows]
        lines.append(f"| {component} | " + " | ".join(cells) + " |")
    return lines


def external_table(results: dict) -> list[str]:
    found = dict(results.get("external", {}))
    if results["main"].get("socketio"):
        found["Socket.IO fan-out (attached to the 2-instance stack)"] = results["main"]["socketio"]
    lines = ["## Other benchmarks (bench/*.py, bounded parameters)", "", "| benchmark | result | s | figures |",
             "|---|---|---:|---|"]  # fmt: skip
    for name, row in found.items():
        status = row.get("skipped") or (
            "ok" if row.get("returncode") == 0 else f"exit {row.get('returncode')}"
        )
        lines.append(
            f"| {name} (`{row['script']}`) | {status} | {row.get('seconds', '–')} | {headline(row)} |"
        )
    return lines


def headline(row: dict) -> str:
    """The numbers of a benchmark's JSON (flattened), or the last line of its output."""
    figures = row.get("figures")
    if not isinstance(figures, dict):
        tail = [line for line in row.get("output_tail", []) if line.strip()]
        return tail[-1].replace("|", "/")[:160] if tail else ""
    parts = [f"({row['columns']})"] if row.get("columns") else []
    parts += [f"{path} {value}" for path, value in flatten(figures)]
    return "; ".join(parts)[:700].replace("|", "/")


def flatten(figures: dict, prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found += flatten(value, "" if key == "results" else f"{name} ")
        elif isinstance(value, list) and all(isinstance(v, int | float) for v in value):
            found.append((name, " / ".join(fmt(v, 2) for v in value)))
        elif isinstance(value, int | float) and not isinstance(value, bool) and HEADLINE_KEYS.search(key):
            found.append((name, fmt(value, 2)))
    return found
