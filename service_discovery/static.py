"""Instances from configuration, kept honest by active `/health` checks in a background thread."""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import requests

from service_discovery.registry import Instance, Registry

log = logging.getLogger(__name__)


class StaticRegistry(Registry):
    """Routes only to instances whose last health check passed.

    Instances start out healthy (retries cover a dead one until the first check). The checker thread
    starts on first use, not at construction, so an app factory can build this before gunicorn forks.
    """

    def __init__(
        self,
        instances: Mapping[str, Iterable[Instance]],
        *,
        interval: float = 1.0,
        timeout: float = 0.5,
        health_path: str = "/health",
    ) -> None:
        self._members = {service: list(dict.fromkeys(group)) for service, group in instances.items()}
        self._healthy: dict[Instance, bool] = {i: True for group in self._members.values() for i in group}
        self._interval = interval
        self._timeout = timeout
        self._health_path = health_path
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid = 0

    def register(self, service: str, instance: Instance) -> None:
        with self._lock:
            group = self._members.setdefault(service, [])
            if instance not in group:
                group.append(instance)
                self._healthy[instance] = True

    def deregister(self, service: str, instance: Instance) -> None:
        with self._lock:
            if instance in self._members.get(service, []):
                self._members[service].remove(instance)

    def healthy_instances(self, service: str) -> list[Instance]:
        self.start()
        with self._lock:
            return [i for i in self._members.get(service, []) if self._healthy.get(i, False)]

    def start(self) -> None:
        """Start the checker once per process (a thread does not survive fork, hence the pid)."""
        if self._owner_pid == os.getpid() or self._stop.is_set():
            return
        with self._lock:
            if self._owner_pid == os.getpid():
                return
            self._owner_pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="static-registry-health", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=self._timeout + self._interval)

    def check_all(
        self, session: requests.Session | None = None, pool: ThreadPoolExecutor | None = None
    ) -> None:
        """Run one round of health checks and publish the results."""
        with self._lock:
            instances = list(self._healthy)
        http = session or requests.Session()
        probe = functools.partial(self._probe, http)
        results = list(pool.map(probe, instances)) if pool else [probe(i) for i in instances]
        with self._lock:
            for instance, ok in zip(instances, results, strict=True):
                if self._healthy.get(instance) != ok:
                    log.warning("instance %s is now %s", instance.base_url, "healthy" if ok else "unhealthy")
                self._healthy[instance] = ok

    def _run(self) -> None:
        with requests.Session() as session, ThreadPoolExecutor(max_workers=8) as pool:
            while not self._stop.is_set():
                try:
                    self.check_all(session, pool)
                except Exception:  # the checker must outlive any surprise
                    log.exception("health check round failed")
                self._stop.wait(self._interval)

    def _probe(self, session: requests.Session, instance: Instance) -> bool:
        try:
            response = session.get(instance.base_url + self._health_path, timeout=self._timeout)
        except requests.RequestException:
            return False
        return response.status_code == 200


def static_registry_from_urls(
    urls_by_service: Mapping[str, Iterable[str]], *, interval: float = 1.0, timeout: float = 0.5
) -> StaticRegistry:
    instances = {service: [Instance.from_url(u) for u in urls] for service, urls in urls_by_service.items()}
    return StaticRegistry(instances, interval=interval, timeout=timeout)
