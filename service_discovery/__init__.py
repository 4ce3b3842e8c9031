"""Service discovery: one `Registry` interface, a Consul backend and a static, health-checked one."""

from service_discovery.balancing import RoundRobin
from service_discovery.registry import Instance, Registry
from service_discovery.static import StaticRegistry, static_registry_from_urls

__all__ = ["Instance", "Registry", "RoundRobin", "StaticRegistry", "static_registry_from_urls"]
