"""Alembic environment: runs migrations on the connection or URL stopline passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from ledger.tables import metadata

config = context.config


def run_migrations_online() -> None:
    """Migrate through a connection given by stopline, or one made from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:  # a failed migration must not leave its connection to the garbage collector
        engine.dispose()


run_migrations_online()
