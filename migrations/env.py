"""Alembic environment: migrates the database the portal is configured to use.

``portal init`` and ``portal migrate`` pass the database URL in ``config.attributes``; a developer
running the ``alembic`` command gets the URL from the same settings the portal reads. Migrations
always run against a live database: offline SQL scripts would bypass the checks the portal makes.

The connection comes from ``portal.db.Database``, so that on SQLite a migration runs under the
same pragmas as the portal (write-ahead log, full sync, zeroed deletions: a downgrade, which
``portal init --force`` uses to clear a database, leaves no dropped row in the file), except
foreign keys, see ``run_migrations``.
"""

from alembic import context

from portal.db import Database
from portal.models import Base
from portal.settings import load_settings


def _database_url() -> str:
    url = context.config.attributes.get("database_url")
    return url if url is not None else load_settings().database_url


def run_migrations() -> None:
    """Apply migrations on one connection, in batch mode on SQLite so ALTERs work there.

    Batch mode rebuilds a table by copying it and dropping the original; with foreign keys
    enforced, that drop would delete or refuse the rows pointing at it. SQLite's own procedure
    for schema changes turns them off for the change, and so does this function.
    """
    database = Database(_database_url())
    try:
        with database.engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                # Ends the transaction SQLAlchemy began for the pragma: Alembic commits only a
                # transaction it began itself.
                connection.commit()
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        database.dispose()


if context.is_offline_mode():
    raise SystemExit("Parley migrations run against a live database; --sql is not supported")
run_migrations()
