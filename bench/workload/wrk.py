"""wrk (C, closed loop) for the maxima of the reference rows: the issue's `wrk -t2 -c32 -d8s`.

The issue measures throughput with wrk, and a Python generator can fall far below what nginx serves from
its cache (the report compares both on the same URLs), so every reference maximum comes from wrk.
wrk is closed loop: maxima only, never latency under load.
A generated Lua script sets method, headers and body once (no per-request Lua) and prints wrk's summary
as JSON in `done`. wrk counts only statuses >= 400 as errors; the suite also checks a probe answer
before the run and counts non-2xx lines in the access logs of the stack during it (bench/workload/meter.py).
Installed with apt when missing and running as root; otherwise the command is printed and skipped.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL = ["apt-get", "install", "-y", "wrk"]
THREADS, CONNS = 2, 32
# A slower answer counts as an error: the gateway's upstream read timeout (wrk's default is 2 s).
TIMEOUT = "5s"
MARK = "WRK_JSON "
DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%.0f,"p99_us":%.0f}\\n', "MARK", summary.requests,
    summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
""".replace("MARK", MARK)


def ensure() -> str | None:
    """Path of wrk, installing the Debian package if we may; None (with a hint printed) otherwise."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        if not found:
            print(f"[bench] wrk not installed; for the reference maxima run: sudo {' '.join(INSTALL)}")
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(INSTALL, capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode != 0:
        print(f"[bench] could not install wrk: {result.stderr.strip()[-300:]}")
    return shutil.which("wrk")


def lua_string(text: str) -> str:
    level = "="
    while f"]{level}]" in text:  # a long bracket the text cannot close early
        level += "="
    return f"[{level}[{text}]{level}]"


def script(method: str, headers: dict[str, str], body: bytes | None) -> str:
    lines = [f"wrk.method = {lua_string(method)}"]
    lines += [f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body.decode())}")
    return "\n".join(lines) + "\n" + DONE


def measure(
    binary: str,
    url: str,
    seconds: float,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> dict:
    """wrk -t2 -c32 -d<seconds>s on one request; requests, req/s, p50/p99, errors and wrk's own CPU."""
    with tempfile.TemporaryDirectory(prefix="hrp-bench-wrk-") as tmp:
        lua = Path(tmp) / "request.lua"
        lua.write_text(script(method, headers or {}, body))
        argv = [binary, f"-t{THREADS}", f"-c{CONNS}", f"-d{max(1, round(seconds))}s", "--timeout", TIMEOUT,
                "-s", str(lua), url]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if line is None:
        return {"tool": "wrk", "rps": 0.0, "requests": 0, "wall_s": seconds, "socket_errors": 1,
                "status_errors": 0, "generator_cpu_s": 0.0, "failure": done.stderr[-300:]}  # fmt: skip
    s = json.loads(line[len(MARK) :])
    socket_errors = s["connect"] + s["read"] + s["write"] + s["timeout"]
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "tool": f"wrk -t{THREADS} -c{CONNS} -d{max(1, round(seconds))}s --timeout {TIMEOUT}",
        "requests": s["requests"],
        "rps": s["requests"] / (s["duration_us"] / 1e6) if s["duration_us"] else 0.0,
        "wall_s": s["duration_us"] / 1e6,
        "p50_ms": s["p50_us"] / 1000,
        "p99_ms": s["p99_us"] / 1000,
        "bytes_per_response": s["bytes"] / s["requests"] if s["requests"] else None,
        "socket_errors": socket_errors,
        "status_errors": s["status"],  # wrk's count of statuses >= 400
        "generator_cpu_s": cpu_s,
    }
