"""argon2id password hashing; hashes never leave this service.

A hash or a verify is ~20 ms of CPU (OWASP's 19 MiB, t=2) that runs on a few threads of the kernel's
lowest scheduling class (SCHED_IDLE; nice 19 where that is refused). Under load the kernel gives the
cores to the threads answering requests first and argon2 takes what is left, so a login waits a little
longer instead of every read queueing behind it; on idle cores nothing changes. SCHED_IDLE rather than
nice 19: a request thread that wakes up takes the core from an idle-class thread at once, where a nice 19
one may finish its slice first (the mix at 50 %, two stacks with their order swapped: 12.4 % of requests
above the p99 bound against 15.2 %, bench/README.md). The class counts against every task in the same
scheduling group: on the local stack all servers share the launcher's session (infra/procs.py); in a
container, its cgroup.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from user_service.errors import PasswordChecksBusy

T = TypeVar("T")

LOWEST_PRIORITY = 19
HASHING_THREADS = 2  # one per core here; more would only make logins queue against each other on the CPU
# How long a request waits for its hash or check. Before, a check queued behind a flood of logins ran however
# late, for a request the gateway had long given up on (its upstream timeout for a POST is 5 s), and the
# queue of such checks, each holding a password, had no bound. Now a check not started by then is dropped
# and its request answered 429, before that timeout (which would count against this instance's health in
# the gateway's breaker) as long as the request reached its handler in time.
WAIT_SECONDS = 4.5


def lower_own_priority() -> None:
    """Puts the calling thread in the lowest scheduling class, or at the lowest priority where that is
    refused (a thread is a task of its own to the kernel)."""
    thread = threading.get_native_id()
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no SCHED_IDLE on this platform
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, thread, LOWEST_PRIORITY)


def low_priority_pool(threads: int = HASHING_THREADS) -> Executor:
    """Its threads start on first use: a pool made (and not yet used) before a server forks its workers
    works in each of them; one used before the fork would hand work to threads the child does not have."""
    return ThreadPoolExecutor(threads, "argon2", initializer=lower_own_priority)


class Passwords:
    def __init__(
        self,
        time_cost: int = 2,
        memory_kib: int = 19456,
        parallelism: int = 1,
        runner: Executor | None = None,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._wait_seconds = wait_seconds
        # Verified against for unknown emails so both 401 paths cost one argon2 verify.
        self._dummy_hash = self._hasher.hash("dummy-password-for-timing")
        self._runner = runner or low_priority_pool()

    def hash(self, password: str) -> str:
        return self._within_wait(self._runner.submit(self._hasher.hash, password))

    def verify(self, password_hash: str | None, password: str) -> bool:
        return self._within_wait(self._runner.submit(self._verify, password_hash, password))

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    def _within_wait(self, work: Future[T]) -> T:
        """The work's result, or PasswordChecksBusy once the wait is over. Work still queued is dropped, so
        a flood leaves no backlog behind it; work already under way finishes and nobody reads it."""
        try:
            return work.result(timeout=self._wait_seconds)
        except FutureTimeout:
            work.cancel()
            raise PasswordChecksBusy from None
