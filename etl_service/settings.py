"""ETL settings, read from the environment (see docs/CONVENTIONS.md)."""

from __future__ import annotations

from pydantic import model_validator

from common import ports
from common.settings import BaseServiceSettings, ConfigurationError, split_csv


class EtlSettings(BaseServiceSettings):
    service_name: str = "etl_service"
    booking_db_url: str = f"mysql+pymysql://app:app@127.0.0.1:{ports.MARIADB}/bookings"
    user_db_replica_urls: str = f"postgresql+psycopg://postgres@127.0.0.1:{ports.POSTGRES_REPLICA}/users"
    warehouse_db_url: str = f"postgresql+psycopg://postgres@127.0.0.1:{ports.WAREHOUSE}/warehouse"
    etl_schedule: str = "0 3 * * *"
    batch_size: int = 50_000
    # Rows changed this long before the watermark are read again: a source transaction that stamped
    # `updated_at` earlier but committed after our previous read is not missed. Upserts make it free.
    etl_lookback_seconds: int = 60
    db_connect_timeout: float = 3.0
    # Where each run pushes its metrics (Prometheus Pushgateway); unset: not pushed.
    pushgateway_url: str | None = None

    @model_validator(mode="after")
    def _check_values(self) -> EtlSettings:
        if self.batch_size <= 0 or self.etl_lookback_seconds < 0:
            raise ConfigurationError("BATCH_SIZE must be positive and ETL_LOOKBACK_SECONDS not negative")
        if not self.replica_urls:
            raise ConfigurationError("USER_DB_REPLICA_URLS must name at least one replica")
        return self

    @property
    def replica_urls(self) -> list[str]:
        return split_csv(self.user_db_replica_urls)

    @property
    def user_db_url(self) -> str:
        """The ETL reads users from the first replica only, never from the primary."""
        return self.replica_urls[0]
