"""Instances from configuration, kept honest by active `/health` checks in a background thread."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from service_discovery.probe import REFUSED, HealthProbe
from service_discovery.registry import Instance, Registry

log = logging.getLogger(__name__)


class StaticRegistry(Registry):
    """Routes only to instances whose health checks pass.

    A refused connection marks an instance down at once; a slow or failing answer must repeat
    `failures_to_eject` times, so a busy instance does not flap. The first lookup in a process runs one
    check round synchronously and then starts the checker thread: nothing runs at construction, so an
    app factory can build this before gunicorn forks, and no lookup ever answers from a guess.
    """

    def __init__(
        self,
        instances: Mapping[str, Iterable[Instance]],
        *,
        interval: float = 1.0,
        timeout: float = 0.5,
        failures_to_eject: int = 2,
        health_path: str = "/health",
    ) -> None:
        self._members = {service: list(dict.fromkeys(group)) for service, group in instances.items()}
        self._failures: dict[Instance, int] = {}
        self._interval = interval
        self._timeout = timeout
        self._failures_to_eject = failures_to_eject
        self._health_path = health_path
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0
        self._probe: HealthProbe | None = None  # per process: kept connections do not survive a fork

    def register(self, service: str, instance: Instance) -> None:
        with self._lock:
            group = self._members.setdefault(service, [])
            if instance not in group:
                group.append(instance)

    def deregister(self, service: str, instance: Instance) -> None:
        with self._lock:
            if instance in self._members.get(service, []):
                self._members[service].remove(instance)

    def healthy_instances(self, service: str) -> list[Instance]:
        self.start()
        with self._lock:
            return [i for i in self._members.get(service, []) if self._is_healthy(i)]

    def known_instances(self, service: str) -> list[Instance]:
        with self._lock:
            return list(self._members.get(service, []))

    def start(self) -> None:
        """Check once, then keep checking in a thread; once per process (threads do not survive fork)."""
        if self._owner_pid == os.getpid() or self._stop.is_set():
            return
        with self._start_lock:
            if self._owner_pid == os.getpid():
                return
            self._probe = HealthProbe(self._health_path, self._timeout)
            self.check_all()
            self._thread = threading.Thread(target=self._run, name="static-registry-health", daemon=True)
            self._thread.start()
            self._owner_pid = os.getpid()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=self._timeout + self._interval)

    def check_all(self, pool: ThreadPoolExecutor | None = None) -> None:
        """Run one round of health checks and publish the results."""
        with self._lock:
            instances = list(dict.fromkeys(i for group in self._members.values() for i in group))
        if self._probe is None:
            self._probe = HealthProbe(self._health_path, self._timeout)
        if pool is None:
            with ThreadPoolExecutor(max_workers=8) as own_pool:
                outcomes = list(own_pool.map(self._probe, instances))
        else:
            outcomes = list(pool.map(self._probe, instances))
        self._probe.forget_all_but(instances)
        with self._lock:
            for instance, outcome in zip(instances, outcomes, strict=True):
                self._record(instance, outcome)

    def _record(self, instance: Instance, outcome: int) -> None:
        was_healthy = self._is_healthy(instance) if instance in self._failures else None
        if outcome == REFUSED:
            self._failures[instance] = self._failures_to_eject
        else:
            self._failures[instance] = 0 if outcome else self._failures.get(instance, 0) + 1
        if was_healthy is not None and was_healthy != self._is_healthy(instance):
            state = "healthy" if self._is_healthy(instance) else "unhealthy"
            log.warning("instance %s is now %s", instance.base_url, state)

    def _is_healthy(self, instance: Instance) -> bool:
        return self._failures.get(instance, self._failures_to_eject) < self._failures_to_eject

    def _run(self) -> None:
        with ThreadPoolExecutor(max_workers=8) as pool:
            while not self._stop.wait(self._interval):
                try:
                    self.check_all(pool)
                except Exception:  # the checker must outlive any surprise
                    log.exception("health check round failed")


def static_registry_from_urls(
    urls_by_service: Mapping[str, Iterable[str]], *, interval: float = 1.0, timeout: float = 0.5
) -> StaticRegistry:
    instances = {service: [Instance.from_url(u) for u in urls] for service, urls in urls_by_service.items()}
    return StaticRegistry(instances, interval=interval, timeout=timeout)
