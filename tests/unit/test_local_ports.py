"""The services' default addresses are the local stack's ports (common/ports.py, DESIGN.md's table):
every settings class, the Socket.IO process's too, points where `make run` starts each server. No servers."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from booking_service.realtime.settings import RealtimeSettings
from booking_service.settings import BookingSettings
from common.settings import BaseServiceSettings
from etl_service.settings import EtlSettings
from etl_service.web import ReportsSettings
from gateway.settings import GatewaySettings
from infra.ports import Ports
from user_service.settings import UserSettings

LOCAL = Ports.local()
URL = re.compile(r"[a-z+]+://[^,\s]+")


def default_ports(settings: type[BaseServiceSettings]) -> dict[str, list[int]]:
    """Each string default that holds URLs, with the ports they name."""
    found = {}
    for name, field in settings.model_fields.items():
        if isinstance(field.default, str) and (urls := URL.findall(field.default)):
            found[name] = [urlsplit(url).port for url in urls]
    return found


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            GatewaySettings,
            {
                "user_service_urls": list(LOCAL.services["user_service"]),
                "booking_service_urls": list(LOCAL.services["booking_service"]),
                "reports_service_urls": list(LOCAL.services["etl_reports"]),
                "cors_origins": [LOCAL.nginx_http, LOCAL.nginx_http],
            },
        ),
        (UserSettings, {"user_db_url": [LOCAL.postgres_primary], "public_url": [LOCAL.nginx_http]}),
        (BookingSettings, {"booking_db_url": [LOCAL.mariadb]}),
        (RealtimeSettings, {"redis_url": [LOCAL.redis], "booking_db_url": [LOCAL.mariadb]}),
        (
            EtlSettings,
            {
                "booking_db_url": [LOCAL.mariadb],
                "user_db_replica_urls": [LOCAL.postgres_replica],
                "warehouse_db_url": [LOCAL.warehouse],
            },
        ),
        (
            ReportsSettings,
            {
                "booking_db_url": [LOCAL.mariadb],
                "user_db_replica_urls": [LOCAL.postgres_replica],
                "warehouse_db_url": [LOCAL.warehouse],
            },
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_default_addresses_are_the_local_stacks_ports(
    settings: type[BaseServiceSettings], expected: dict[str, list[int]]
) -> None:
    assert default_ports(settings) == expected


def test_the_local_plan_is_designs_table() -> None:
    """The figures DESIGN.md promises; a change here is a change of every developer's stack."""
    assert (LOCAL.nginx_http, LOCAL.nginx_socket) == (8080, 5001)
    assert (LOCAL.postgres_primary, LOCAL.postgres_replica, LOCAL.warehouse) == (15432, 15433, 15434)
    assert (LOCAL.mariadb, LOCAL.redis) == (13306, 16379)
    assert LOCAL.cluster == tuple(range(17001, 17007))
    assert LOCAL.services == {
        "gateway": (8101, 8102),
        "user_service": (8201, 8202),
        "booking_service": (8301, 8302),
        "booking_realtime": (8311, 8312),
        "etl_reports": (8401,),
    }
