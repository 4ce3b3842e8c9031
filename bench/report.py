"""Results of `python -m bench.run` as JSON, a Markdown report with the targets, and PNG charts."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path

from bench import targets as goals
from bench.targets import fmt, outside
from bench.workload import charts, meter
from bench.workload.hello import FLASK_HELLO, RAW_HELLO
from bench.workload.references import ANON_LIST, BY_ID, PROFILE, TOKEN_LIST
from bench.workload.suite import MIXED

HEADLINE_KEYS = re.compile(r"rps|p50|p99|over|delivered|expected|per_message|run_s|rss|argon2|^x$")


def write(results: dict, out: Path) -> str:
    """Writes <date>.json, latest.md and the charts under `out`; returns the Markdown."""
    results["machine"].setdefault("loadavg_after", os.getloadavg()[0])
    results["targets"] = goals.targets(results)
    stamp = results["date"].replace(":", "").replace("-", "")
    (out / f"{stamp}.json").write_text(json.dumps(results, indent=1, default=str))
    return _draw(results, out)


def render(results: dict, out: Path) -> str:
    """Draws latest.md and the charts under `out` from stored results, which it leaves as they are (the
    targets are judged again, in memory, by today's rules); returns the Markdown."""
    return _draw({**results, "targets": goals.targets(results)}, out)


def _draw(results: dict, out: Path) -> str:
    pictures = charts.draw(results, out)
    text = markdown(results, pictures)
    (out / "latest.md").write_text(text)
    return text


def markdown(results: dict, pictures: list[str]) -> str:
    main = results["main"]
    lines = [f"# Benchmark results {results['date']}", "", context(results), ""]
    lines += ["## Targets", "", *goals.table(results["targets"]), ""]
    lines += [*reference_table(main["references"]), "", *edge_lines(main), "", *ceiling_lines(main), ""]
    lines += [*sweep_table(main), "", *kind_table(main), ""]
    if "scale_out" in results:
        lines += [*scale_table(results), ""]
    lines += [*cpu_ms_table(main), "", *cpu_table(results), ""]
    lines += [*external_table(results), ""]
    lines += [f"![{Path(p).stem}]({Path(p).name})" for p in pictures]
    return "\n".join(lines) + "\n"


def context(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    servers = ", ".join(f"{name} on {kind}" for name, kind in s.get("servers", {}).items())
    tools = Counter(r.get("tool", "?") for r in results["main"]["references"].values())
    return (
        f"{m['cpus']} CPUs, load average {fmt(m['loadavg_before'])} before / {fmt(m['loadavg_after'])} after "
        f"(other work on the machine shares the CPUs; see the CPU tables). Stack: {servers}; "
        f"{s['workers']} worker(s) x {s['threads']} threads per service instance; rate limits lifted. Every ratio is to a "
        f"bare Flask `jsonify` hello on gunicorn gthread {s.get('hello_workers', s['workers'])}x"
        f"{s.get('hello_threads', s['threads'])}, measured in this run. "
        f"Maxima: {'; '.join(f'{tool} ({n} rows)' for tool, n in tools.items())}: the reference rows with "
        f"wrk, as the issue does (the ceiling lines below compare it with this suite's Python generator on the "
        f"same URLs; both share the 2 cores with the stack), the mixed workload with the Python generator; the "
        f"sweep: open loop at a constant arrival rate, latency from the intended send time (wrk2-style). Suite "
        f"wall time {fmt(results['suite_seconds'], 0)} s"
        f"{' (quick mode: noisy)' if results.get('quick') else ''}."
    )


def reference_table(refs: dict) -> list[str]:
    hello, raw = refs[FLASK_HELLO]["rps"], refs[RAW_HELLO]["rps"]
    lines = ["## Reference points (same run, same machine)", "",
             "\"service\" and \"gateway\" rows hit instance 0 directly; \"full path\" rows go through nginx to the "
             "gateways (one token's requests to one of them, anonymous ones to both) and both service instances. "
             "Under max load: wrk's latency (32 connections), or the generator's for the mixed rows. Errors: "
             "non-2xx answers (wrk's count and the access logs'), connection errors, and a probe answer with the "
             "wrong status or X-Cache-Status.", "",
             "| path | max req/s | x Flask hello | x raw WSGI hello | p50 / p99 ms under max load "
             "| 1-client p50 ms | 1-client p99 ms | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in refs.items():
        lines.append(
            f"| {name} | {fmt(r['rps'], 0)} | {fmt(r['rps'] / hello if hello else None, 2)} | "
            f"{fmt(r['rps'] / raw if raw else None, 2)} | {fmt(r.get('p50_ms'), 2)} / {fmt(r.get('p99_ms'))} | "
            f"{fmt(r['unloaded_p50_ms'], 2)} | {fmt(r['unloaded_p99_ms'], 2)} | {r['errors']}{error_note(r)} |"
        )
    if tries := refs[FLASK_HELLO].get("tries_rps"):
        lines += ["", f"{FLASK_HELLO}: measured first and again after the other rows ("
                  f"{' and '.join(fmt(t, 0) for t in tries)} req/s); the higher is the yardstick."]  # fmt: skip
    return lines


def edge_lines(main: dict) -> list[str]:
    """How much nginx's edge cache answered: requests the gateways saw, and the mix's X-Cache-Status."""
    refs, lines = main["references"], ["Edge cache:", ""]
    for name in (ANON_LIST, TOKEN_LIST):
        served, probe = refs[name].get("served", {}), refs[name].get("probe", {})
        lines.append(f"- {name}: nginx answered {served.get('nginx', {}).get('n', '–')} requests, the gateways "
                     f"{served.get('gateway', {}).get('n', '–')}; the probe's X-Cache-Status: "
                     f"{probe.get('x_cache_status') or 'none'}.")  # fmt: skip
    for name, r in refs.items():
        if r.get("edge"):
            tally = ", ".join(f"{k} {v}" for k, v in sorted(r["edge"].items()))
            lines.append(f"- {name}: X-Cache-Status of the answers: {tally}.")
    return lines


def ceiling_lines(main: dict) -> list[str]:
    """The Python generator's maxima next to wrk's on the same URLs (both depend on the machine's load)."""
    lines = [f"- {name}: the Python generator reaches {fmt(rps, 0)} req/s, wrk {fmt(main['references'][name]['rps'], 0)}."
             for name, rps in main.get("generator_ceiling", {}).items()]  # fmt: skip
    return ["Generator ceiling (closed loop, 2 x 32 connections, one URL; measured later than the wrk row):",
            "", *lines] if lines else []  # fmt: skip


def sweep_table(main: dict) -> list[str]:
    lines = [f"## Offered load sweep: {MIXED}, open loop (max = {fmt(main['max_rps'], 0)} req/s)", "", "| offered | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms "
             "| above the p99 bound | errors | CPU busy | CPU outside the stack | generator's sends ≥ 1 ms late |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for s in main["sweep"]:
        lines.append(
            f"| {s['fraction']:.0%} | {fmt(s['offered_rps'], 0)} | {fmt(s['rps'], 0)} | {fmt(s.get('p50_ms'), 2)} "
            f"| {fmt(s.get('p99_ms'), 2)} | {fmt(s.get('p999_ms'), 2)} | {fmt(s.get('max_ms'))} "
            f"| {percent(s.get('above_bound_pct'))} | {s['errors']}{error_note(s)} | {percent(busy(s))} "
            f"| {fmt(outside(s))} % | {percent(s.get('late_sends', {}).get('over_1ms_pct'))} |"
        )
    return [*lines, "", "CPU busy: the whole machine's, as a share of its cores, the generator's included (argon2's",
            "threads too: they run in the kernel's idle class and yield to every request)."]  # fmt: skip


def busy(step: dict) -> float | None:
    shares = step.get("cpu", {})
    return sum(share["pct_of_capacity"] for share in shares.values()) if shares else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{fmt(value, 1)} %"


def kind_table(main: dict) -> list[str]:
    steps = [s for s in main["sweep"] if s["fraction"] in (0.1, 0.5, 1.0)]
    lines = ["### Per request kind (open loop)", "",
             "Above: the share of the kind's requests slower than the p99 target's bound (10 x the mix's",
             "one-client p50); the mix's p99 is within the bound only while under 1 % of all requests are.", "",
             "| kind | " + " | ".join(f"{s['fraction']:.0%}: n, p50 ms, p99 ms, above" for s in steps) + " |",
             "|---|" + "---:|" * len(steps)]  # fmt: skip
    kinds = sorted(
        {k for s in steps for k in s["per_kind"]}, key=lambda k: -steps[0]["per_kind"].get(k, {}).get("n", 0)
    )
    for kind in kinds:
        cells = []
        for s in steps:
            r = s["per_kind"].get(kind)
            above = f", {percent(r['above_bound_pct'])}" if r and "above_bound_pct" in r else ""
            cells.append(f"{r['n']}, {fmt(r['p50_ms'], 2)}, {fmt(r['p99_ms'], 2)}{above}" if r else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return lines


def error_note(row: dict) -> str:
    kinds = {k: v for k, v in (row.get("error_detail") or row.get("error_kinds", {})).items() if v}
    return f" ({', '.join(f'{k}: {v}' for k, v in kinds.items())})" if kinds else ""


def scale_table(results: dict) -> list[str]:
    scale, main = results["scale_out"], results["main"]
    two = {
        "max": main["references"][MIXED],
        "at_rate": next(s for s in main["sweep"] if s["fraction"] == 0.75),
    }
    rate = scale["rate"]
    lines = [f"## Scale-out: 1 vs 2 instances of every service ({MIXED}; {fmt(rate, 0)} req/s offered)",
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


CPU_STEPS = (FLASK_HELLO, ANON_LIST, TOKEN_LIST, BY_ID, PROFILE)
CPU_COMPONENTS = ("nginx", "gateway", "booking_service", "user_service", "Redis", "MariaDB", "PostgreSQL",
                  FLASK_HELLO, "load generator")  # fmt: skip
SERVICES = ("gateway", "booking_service", "user_service")


def cpu_ms_table(main: dict) -> list[str]:
    """CPU ms per client request per component, then per request each service itself answered."""
    steps = [(name, main["references"][name]) for name in CPU_STEPS if name in main["references"]]
    steps += [(f"mixed {s['fraction']:.0%}", s) for s in main["sweep"] if s["fraction"] in (0.5, 1.0)]
    lines = ["## CPU ms per request per component", "",
             "utime+stime from /proc over the step divided by the requests answered to the client; the "
             "\"per request it answered\" rows divide by the component's own access lines, so edge-cache hits do "
             "not dilute them. Mixed steps: the sweep's (edge cache bypassed, open loop).", "",
             "| component | " + " | ".join(name for name, _ in steps) + " |", "|---|" + "---:|" * len(steps)]  # fmt: skip
    rows = [(c, [meter.cpu_ms_per_request(row, c) for _, row in steps]) for c in CPU_COMPONENTS]
    rows += [
        (f"{c}, per request it answered", [meter.per_served(row, c) for _, row in steps]) for c in SERVICES
    ]
    lines += [f"| {label} | " + " | ".join(fmt(v, 3) for v in values) + " |" for label, values in rows]
    counts = [("requests answered to the client", [r.get("requests", "–") for _, r in steps])]
    counts += [(f"requests the {c} answered", [r.get("served", {}).get(c, {}).get("n", "–") for _, r in steps])
               for c in ("nginx", "gateway")]  # fmt: skip
    lines += [f"| {label} | " + " | ".join(str(v) for v in values) + " |" for label, values in counts]
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
