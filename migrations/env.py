"""Alembic environment: migrates the database the portal is configured to use.

``portal init`` and ``portal migrate`` pass the database URL in ``config.attributes``; a developer
running the ``alembic`` command gets the URL from the same settings the portal reads. Migrations
always run against a live database: offline SQL scripts would bypass the checks the portal makes.
"""

from alembic import context
from sqlalchemy import create_engine, pool

from portal.models import Base
from portal.settings import load_settings


def _database_url() -> str:
    url = context.config.attributes.get("database_url")
    return url if url is not None else load_settings().database_url


def run_migrations() -> None:
    """Apply migrations on one connection, in batch mode on SQLite so ALTERs work there."""
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Parley migrations run against a live database; --sql is not supported")
run_migrations()
