"""Runs a service's Alembic migrations programmatically (before the server starts, never at import)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


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
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
