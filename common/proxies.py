"""Which peers may speak for the client in `X-Forwarded-For`: only configured proxy addresses."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

Networks = tuple[IPv4Network | IPv6Network, ...]


def parse_networks(items: Iterable[str]) -> Networks:
    """Addresses or CIDR ranges (scaled proxies in compose share a subnet, not fixed IPs)."""
    return tuple(ip_network(item, strict=False) for item in items)


def is_trusted(remote: str, networks: Networks) -> bool:
    try:
        address = ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in networks)


class TrustedProxyFix:
    """Werkzeug's ProxyFix, applied only when the direct peer is a trusted proxy; anyone else's
    forwarding headers are ignored, so a client talking to this port directly cannot pick its address."""

    def __init__(self, app: Callable[..., Any], networks: Networks, hops: int = 1) -> None:
        self._plain = app
        self._fixed = ProxyFix(app, x_for=hops)
        self._networks = networks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_trusted(environ.get("REMOTE_ADDR", ""), self._networks):
            return self._fixed(environ, start_response)
        return self._plain(environ, start_response)
