"""Booking service settings, read from the environment (see docs/CONVENTIONS.md)."""

from __future__ import annotations

from pydantic import Field

from common import ports
from common.settings import BaseServiceSettings, split_csv


class BookingSettings(BaseServiceSettings):
    service_name: str = "booking_service"
    booking_db_url: str = f"mysql+pymysql://app:app@127.0.0.1:{ports.MARIADB}/bookings"
    redis_cluster_nodes: str = ""
    redis_cluster_password: str | None = None
    redis_url: str | None = None
    cache_ttl_seconds: int = 30
    # In-process copies of bookings and guest lists, retired on every instance by pub/sub when one changes;
    # the lifetime only bounds a lost announcement (a lost subscription drops them all at once).
    booking_copy_seconds: float = Field(default=30.0, ge=0)
    db_connect_timeout: float = 1.0
    db_pool_size: int = 10
    # Listing photos (booking_service/properties/storage.py); `make run` puts them in .run/photos.
    photo_dir: str = ".run/photos"

    @property
    def cluster_nodes(self) -> list[tuple[str, int]]:
        """`REDIS_CLUSTER_NODES` ("host:port,host:port") as (host, port) pairs."""
        nodes = []
        for item in split_csv(self.redis_cluster_nodes):
            host, _, port = item.rpartition(":")
            nodes.append((host or "127.0.0.1", int(port)))
        return nodes
