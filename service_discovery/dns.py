"""DNS backend: each configured name is a headless Service, and every address it resolves to is an instance.

Inside Kubernetes a headless Service's name resolves to one A record per ready pod, so resolving
`http://user-service:8000` gives the gateway each user_service pod (port from the URL) and its
per-instance breakers, hedging and ejection keep working as with Consul or the static list. Kubernetes
does the registering (readiness decides the records), so `register`/`deregister` do nothing here.

The health checker of `StaticRegistry` is reused: each check round first re-resolves the names (at most
every `resolve_interval` seconds), then probes `/health` on every instance. A failed lookup keeps the last
known instances, so a DNS hiccup does not empty the pool.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from service_discovery.registry import Instance
from service_discovery.static import StaticRegistry

log = logging.getLogger(__name__)

Resolver = Callable[[str], list[str]]


def resolve_ipv4(host: str) -> list[str]:
    """Every IPv4 address of `host` through the system resolver (the cluster DNS in a pod), sorted."""
    infos = socket.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class DnsRegistry(StaticRegistry):
    def __init__(
        self,
        names: Mapping[str, Iterable[str]],
        *,
        resolver: Resolver = resolve_ipv4,
        resolve_interval: float = 2.0,
        interval: float = 1.0,
        timeout: float = 0.5,
        failures_to_eject: int = 2,
    ) -> None:
        super().__init__({}, interval=interval, timeout=timeout, failures_to_eject=failures_to_eject)
        self._names = {service: [_name_and_port(url) for url in urls] for service, urls in names.items()}
        self._resolver = resolver
        self._resolve_interval = resolve_interval
        self._resolved_at = float("-inf")

    def register(self, service: str, instance: Instance) -> None:
        """Kubernetes registers pods (a ready pod is in the Service's records)."""

    def deregister(self, service: str, instance: Instance) -> None:
        """Kubernetes deregisters pods (an unready or deleted pod leaves the records)."""

    def check_all(self, pool: ThreadPoolExecutor | None = None) -> None:
        if time.monotonic() - self._resolved_at >= self._resolve_interval:
            self.refresh()
        super().check_all(pool)

    def refresh(self) -> None:
        """Replace each service's instances with what its names resolve to now."""
        for service, names in self._names.items():
            found = self._resolve_all(service, names)
            if found is None:
                continue
            with self._lock:
                previous = self._members.get(service, [])
                self._members[service] = found
                for gone in set(previous) - set(found):
                    self._failures.pop(gone, None)
            if set(previous) != set(found):
                log.info("%s instances: %s", service, ", ".join(i.base_url for i in found) or "none")
        self._resolved_at = time.monotonic()

    def _resolve_all(self, service: str, names: list[tuple[str, str, int]]) -> list[Instance] | None:
        instances: list[Instance] = []
        for scheme, host, port in names:
            try:
                addresses = self._resolver(host)
            except (OSError, UnicodeError) as exc:
                log.warning(
                    "resolving %s for %s failed (%s); keeping the last known list", host, service, exc
                )
                return None
            instances += [Instance(address=a, port=port, scheme=scheme) for a in addresses]
        return list(dict.fromkeys(instances))


def _name_and_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) base URL: {url!r}")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def dns_registry_from_urls(
    urls_by_service: Mapping[str, Iterable[str]], *, interval: float = 1.0, timeout: float = 0.5
) -> DnsRegistry:
    return DnsRegistry(urls_by_service, interval=interval, timeout=timeout)
