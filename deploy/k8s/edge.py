"""The edge nginx's config for Kubernetes, from the same template as the local stack and compose.

The upstreams name the headless Services and carry `resolve` (nginx >= 1.27.3): nginx re-resolves them
through the cluster DNS, so every gateway and realtime pod is a peer of its own (ip_hash keeps a Socket.IO
client on one pod) and pods that come and go are followed without a reload.

    python -m deploy.k8s.edge    write deploy/k8s/base/edge/nginx.conf (git-ignored: made afresh by
                                 `make lint` and before every deploy, so it cannot lag the template)
"""

from __future__ import annotations

from pathlib import Path

from infra.nginx_conf import render_compose, upstream_lines

NAMESPACE = "hrp"
CLUSTER_DNS = "kube-dns.kube-system.svc.cluster.local"
CONF = Path(__file__).parent / "base" / "edge" / "nginx.conf"


def upstream(service: str, port: int = 8000) -> str:
    return "\n".join(
        [
            f"        resolver {CLUSTER_DNS} valid=5s ipv6=off;",
            f"        server {service}.{NAMESPACE}.svc.cluster.local:{port} resolve max_fails=1 fail_timeout=2s;",
        ]
    )


def render_kubernetes() -> str:
    """Compose's config (same paths, ports and limits), with upstreams that follow the headless Services.

    `resolve` needs the upstream's state in shared memory: a `zone` is added where compose's has none.
    """
    text = render_compose()
    for name, compose_host, service in (
        ("gateway", "gateway:8000", "gateway"),
        ("booking_realtime", "booking_realtime:8000", "booking-realtime"),
    ):
        compose_server = upstream_lines([compose_host])
        if compose_server not in text:
            raise ValueError(f"compose's nginx config has no {compose_server.strip()!r}")
        text = text.replace(compose_server, upstream(service))
        opening = f"    upstream {name} {{\n"
        block = text[text.index(opening) : text.index("\n    }", text.index(opening))]
        if "        zone " not in block:
            text = text.replace(opening, f"{opening}        zone {name}_peers 256k;\n", 1)
    return text


def write() -> Path:
    CONF.write_text(render_kubernetes())
    return CONF


if __name__ == "__main__":
    print(f"wrote {write()}")
