"""Starting, tracking and stopping server processes by pid (never by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


class StartupError(RuntimeError):
    """A server did not become ready."""


def running_as_root() -> bool:
    return os.geteuid() == 0


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    logs: Path,
    pids: Path,
    env: Mapping[str, str] | None = None,
    user: str | None = None,
    cwd: str | Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running server in its own process group; stdout/stderr go to logs/<name>.log.

    The group is what `stop_pid` and `Stack.kill` signal, and a terminal's Ctrl-C never reaches it. The
    server stays in the launcher's session (no `setsid`): the kernel gives each session its own CPU
    scheduling group (autogroup), which would share the cores per server, not per thread, and make thread
    priorities count only inside each server (user_service's argon2 threads run in the idle class so that the
    threads answering requests, in every server, come first).
    """
    log_file = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    as_user = user if user and running_as_root() else None
    process = subprocess.Popen(
        list(argv),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=dict(env) if env is not None else None,
        cwd=str(cwd) if cwd else None,
        user=as_user,
        group=as_user,
        extra_groups=[] if as_user else None,
        process_group=0,
    )
    log_file.close()
    (pids / f"{name}.pid").write_text(str(process.pid))
    return process


def run(
    argv: Sequence[str],
    *,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = "/",
    timeout: float = 120,
) -> str:
    """Run a one-shot command, raising with its output when it fails."""
    as_user = user if user and running_as_root() else None
    result = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        user=as_user,
        group=as_user,
        extra_groups=[] if as_user else None,
        env=dict(env) if env is not None else None,
        cwd=str(cwd) if cwd else None,
    )
    if result.returncode != 0:
        raise StartupError(f"{' '.join(argv[:3])} failed: {(result.stderr or result.stdout).strip()[-800:]}")
    return result.stdout


def read_pid(pids: Path, name: str) -> int | None:
    try:
        return int((pids / f"{name}.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def process_tree(root: int) -> list[int]:
    """`root` and every running process descended from it (the children of any of its threads: granian
    and gunicorn start workers from other threads than the main one too); gone ones are left out."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
            children = [int(child) for task in tasks for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        found.append(pid)
        pending += children
    return found


def alive(pid: int) -> bool:
    """True for a live process; reaps it first when it is our own zombie child."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Signal a process, wait for it, and SIGKILL its whole process group if it lingers."""
    if not alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    if wait_for(lambda: not alive(pid), timeout):
        return
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            target()
    wait_for(lambda: not alive(pid), 2.0)


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:
            pass
        time.sleep(interval)
    return False


def wait_or_fail(condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    if wait_for(condition, timeout):
        return
    tail = ""
    if log and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise StartupError(f"{what} not ready after {timeout:.0f}s{tail}")


def own_by(path: Path, user: str) -> None:
    if running_as_root():
        subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)


def http_ready(port: int) -> bool:
    """A service instance on `port` answers 200 on /ready (or /health where it has no /ready)."""
    for path in ("/ready", "/health"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                return response.status == 200
        except urllib.error.HTTPError as error:
            if error.code != 404:
                return False
    return False
