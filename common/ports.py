"""Where each process of the local stack (`make run`) listens: DESIGN.md's port table, written once.

The services' settings take their default addresses from here, and infra/ports.py builds the local
port plan from the same names, so a default and the port the launcher gives a server cannot disagree
(tests/unit/test_local_ports.py checks every settings class). Test stacks use private blocks instead.
"""

from __future__ import annotations

NGINX_HTTP = 8080
NGINX_SOCKET = 5001
POSTGRES_PRIMARY = 15432
POSTGRES_REPLICA = 15433
WAREHOUSE = 15434
MARIADB = 13306
REDIS = 16379  # standalone: Socket.IO queue, rate limits, token versions
CLUSTER_FIRST, CLUSTER_BUS_FIRST = 17001, 17101  # Redis Cluster: 6 nodes on consecutive ports each
SERVICES: dict[str, tuple[int, ...]] = {
    "gateway": (8101, 8102),
    "user_service": (8201, 8202),
    "booking_service": (8301, 8302),
    "booking_realtime": (8311, 8312),
    "etl_reports": (8401,),
}

LOCAL_HOST = "127.0.0.1"
PUBLIC_URL = f"http://{LOCAL_HOST}:{NGINX_HTTP}"


def instance_urls(service: str) -> str:
    """`http://127.0.0.1:P` of each local instance of `service`, comma-separated (as *_SERVICE_URLS)."""
    return ",".join(f"http://{LOCAL_HOST}:{port}" for port in SERVICES[service])
