"""Database schema management through Alembic, driven from the portal's own commands.

Operators never run Alembic by hand: ``portal init`` upgrades a new database to the newest
revision and ``portal migrate`` applies the revisions a new release brings. ``portal serve``
refuses to start on a database that is not at the newest revision, so code and schema never
disagree in production.
"""

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from portal.db import Database
from portal.errors import OperatorError, first_line
from portal.resources import shipped_folder

MIGRATIONS_DIR = shipped_folder("migrations")


def alembic_config(database_url: str) -> Config:
    """Alembic configuration for ``database_url``, built in code.

    The URL is passed directly, never through an ini file, where a percent sign in a password
    would be read as interpolation. ``migrations/alembic.ini`` is for developers running the
    ``alembic`` command: its ``prepend_sys_path`` would put the folder above the migrations on
    ``sys.path`` each time, which in an installed wheel is ``portal/`` itself, making its modules
    importable as top-level ones.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every migration not yet applied."""
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: str) -> None:
    """Undo every migration, leaving the database without Parley tables."""
    command.downgrade(alembic_config(database_url), "base")


def head_revision() -> str:
    """The newest revision this release of the code knows."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


@dataclass(frozen=True)
class DatabaseState:
    """What is in a database before the portal touches it."""

    revision: str | None
    has_tables: bool


def database_state(database: Database) -> DatabaseState:
    """The database's revision and whether it holds any table.

    A SQLite file that does not exist yet is reported as empty rather than opened, because
    opening it would create it.
    """
    sqlite_file = database.sqlite_file
    if sqlite_file is not None and not sqlite_file.exists():
        return DatabaseState(revision=None, has_tables=False)
    try:
        return DatabaseState(
            revision=current_revision(database.engine),
            has_tables=bool(inspect(database.engine).get_table_names()),
        )
    except SQLAlchemyError as error:
        raise OperatorError(f"cannot reach the database: {first_line(error)}") from None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
