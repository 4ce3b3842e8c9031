"""CPU time per component of a stack, from /proc: utime+stime (+ reaped children) of each process tree."""

from __future__ import annotations

import os
from pathlib import Path

from infra.procs import process_tree
from infra.stack import Stack

CLK_TCK = os.sysconf("SC_CLK_TCK")
OUTSIDE = "outside the stack (other processes, kernel)"
COMPONENTS = {
    "nginx": "nginx",
    "gateway": "gateway",
    "user_service": "user_service",
    "booking_service": "booking_service",
    "booking_realtime": "booking_realtime (Socket.IO)",
    "postgres_primary": "PostgreSQL",
    "postgres_replica": "PostgreSQL",
    "warehouse": "PostgreSQL",
    "mariadb": "MariaDB",
    "redis": "Redis",
}


def component_of(process_name: str) -> str:
    base = process_name.rsplit("-", 1)[0] if process_name[-1:].isdigit() else process_name
    if base.startswith("redis_cluster"):
        return "Redis"
    return COMPONENTS.get(base, base)


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_seconds(root: int) -> float:
    """The tree's own CPU plus what its already-reaped children used (cutime/cstime)."""
    total = 0.0
    for pid in process_tree(root):
        try:
            fields = _stat(pid)
            total += sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLK_TCK
        except (OSError, IndexError, ValueError):
            continue
    return total


def snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds so far per component, plus the whole machine's busy time under "_machine"."""
    found: dict[str, float] = {}
    for name in stack.status():
        pid = stack.pid(name)
        if pid:
            component = component_of(name)
            found[component] = found.get(component, 0.0) + tree_seconds(pid)
    found["_machine"] = machine_busy_seconds()
    return found


def machine_busy_seconds() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLK_TCK


def shares(before: dict[str, float], after: dict[str, float], generator_s: float, wall_s: float) -> dict:
    """Per component: CPU seconds, % of the machine's 2-core capacity, and % of the busy time."""
    stack = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after if not k.startswith("_")}
    used = dict(sorted(stack.items(), key=lambda item: -item[1]))
    used["load generator"] = generator_s
    busy = after["_machine"] - before["_machine"]
    used[OUTSIDE] = max(0.0, busy - sum(used.values()))
    capacity = wall_s * (os.cpu_count() or 1)
    return {
        name: {
            "cpu_s": seconds,
            "pct_of_capacity": 100 * seconds / capacity if capacity else 0.0,
            "pct_of_busy": 100 * seconds / busy if busy else 0.0,
        }
        for name, seconds in used.items()
    }
