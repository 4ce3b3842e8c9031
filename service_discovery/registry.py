"""The one interface every discovery backend implements, and the instance it hands out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Instance:
    """One running process of a service, reachable at `base_url`."""

    address: str
    port: int
    scheme: str = "http"
    instance_id: str = ""

    @property
    def id(self) -> str:
        return self.instance_id or f"{self.address}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> Instance:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {url!r}")
        default_port = 443 if parts.scheme == "https" else 80
        return cls(address=parts.hostname, port=parts.port or default_port, scheme=parts.scheme)


class Registry(ABC):
    """Where services announce themselves and where callers find the healthy ones."""

    @abstractmethod
    def register(self, service: str, instance: Instance) -> None: ...

    @abstractmethod
    def deregister(self, service: str, instance: Instance) -> None: ...

    @abstractmethod
    def healthy_instances(self, service: str) -> list[Instance]:
        """Instances currently passing their health check; never raises, may be empty."""

    def known_instances(self, service: str) -> list[Instance]:
        """Every instance believed to exist, healthy or not (the fallback when none passes checks)."""
        return self.healthy_instances(service)

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release background threads or connections."""
