"""Consul backend (py-consul): agent registration with an HTTP health check, cached passing lookups."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import consul
import requests

from service_discovery.registry import Instance, Registry

log = logging.getLogger(__name__)


class ConsulRegistry(Registry):
    """Reads `/v1/health/service/<name>?passing` at most once per `cache_seconds` per service.

    When the agent cannot be reached the last known list is served, so a Consul hiccup does not take
    the gateway down with it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8500,
        *,
        cache_seconds: float = 1.0,
        check_interval: str = "1s",
        check_timeout: str = "1s",
        deregister_after: str = "30s",
        agent_timeout: float = 2.0,
    ) -> None:
        self._client = consul.Consul(host=host, port=port, connections_timeout=agent_timeout)
        self._cache_seconds = cache_seconds
        self._check = {"interval": check_interval, "timeout": check_timeout, "deregister": deregister_after}
        self._cache: dict[str, tuple[float, list[Instance]]] = {}
        self._lock = threading.Lock()

    def register(self, service: str, instance: Instance) -> None:
        check = consul.Check.http(f"{instance.base_url}/health", **self._check)
        self._client.agent.service.register(
            service, service_id=_service_id(service, instance), address=instance.address,
            port=instance.port, check=check,
        )  # fmt: skip

    def deregister(self, service: str, instance: Instance) -> None:
        self._client.agent.service.deregister(_service_id(service, instance))

    def healthy_instances(self, service: str) -> list[Instance]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(service)
        if cached is not None and now - cached[0] < self._cache_seconds:
            return list(cached[1])
        try:
            _, nodes = self._client.health.service(service, passing=True)
        except (consul.ConsulException, requests.RequestException) as exc:
            log.warning("consul lookup for %s failed (%s); serving the last known list", service, exc)
            return list(cached[1]) if cached else []
        instances = [_instance_from_entry(entry) for entry in nodes or []]
        with self._lock:
            self._cache[service] = (now, instances)
        return list(instances)


def _service_id(service: str, instance: Instance) -> str:
    return instance.instance_id or f"{service}-{instance.address}-{instance.port}"


def _instance_from_entry(entry: dict[str, Any]) -> Instance:
    svc = entry["Service"]
    address = svc.get("Address") or entry["Node"]["Address"]
    return Instance(address=address, port=int(svc["Port"]), instance_id=svc.get("ID", ""))
