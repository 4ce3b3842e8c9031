"""wrk (closed loop, C) as a cross-check of the machine's ceiling that the Python generator cannot reach.

wrk is closed loop, so it is used only for maxima of the trivial references, never for latency under
load. Installed with apt when missing and running as root; otherwise the command is printed and skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

INSTALL = ["apt-get", "install", "-y", "wrk"]


def ensure() -> str | None:
    """Path of wrk, installing the Debian package if we may; None (with a hint printed) otherwise."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0:
        if not found:
            print(f"[bench] wrk not installed; for the ceiling cross-check run: sudo {' '.join(INSTALL)}")
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(INSTALL, capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode != 0:
        print(f"[bench] could not install wrk: {result.stderr.strip()[-300:]}")
    return shutil.which("wrk")


def measure(binary: str, url: str, seconds: float, conns: int = 64, threads: int = 2) -> dict:
    argv = [binary, f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency", url]
    output = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": _ms(p50),
        "p99_ms": _ms(p99),
        "errors": int(errors.group(1)) if errors else 0,
        "tool": "wrk (closed loop)",
    }


def _ms(match: re.Match[str] | None) -> float | None:
    if match is None:
        return None
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
