"""Runs a service's Alembic migrations programmatically (before the server starts, never at import)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

LOCK_ID = 727_001  # arbitrary, fixed: every migrate run of any service on one server shares it
LOCK_TIMEOUT_S = 120


def alembic_config(script_location: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(script_location: str, database_url: str) -> None:
    command.upgrade(alembic_config(script_location, database_url), "head")


def run_env_online() -> None:
    """Body of every service's `migrations/env.py`: migrate the configured database online."""
    from alembic import context
    from sqlalchemy import create_engine, pool

    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection, migration_lock(connection):
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Serialise concurrent `migrate` runs (scaled containers start together) with a database lock."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_ID})")
    elif dialect in ("mysql", "mariadb"):
        connection.exec_driver_sql(f"SELECT GET_LOCK('alembic_migrations', {LOCK_TIMEOUT_S})")
    connection.commit()
    try:
        yield
    finally:
        if dialect == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_ID})")
        elif dialect in ("mysql", "mariadb"):
            connection.exec_driver_sql("SELECT RELEASE_LOCK('alembic_migrations')")
        connection.commit()
