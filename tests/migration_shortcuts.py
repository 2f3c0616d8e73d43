"""Migrated databases for the tests without running every migration for each of them.

Hundreds of tests start from a new database and bring it to the migrations' head. On SQLite
that costs about a second (its table rebuilds), on PostgreSQL about 0.6 s (hundreds of catalogue
rows and files), which made up a large part of the suite's time. The conftest installs
:class:`MigrationShortcuts` as ``schema.upgrade_to_head`` for the whole run; what a test gets is
the database the real migrations make:

- **SQLite**: an empty file becomes a copy of a file that the real migrations brought to head
  once in this test process: the same bytes the migrations would write again.
- **PostgreSQL**: when a test is done with a database whose catalogue is still exactly the one
  the migrations made (compared by a fingerprint of tables, columns, indexes, constraints,
  sequences and everything else a test could add), its rows are deleted, its sequences set back
  and the migrations' own rows put back as the migrations left them; the database is kept
  as a spare (:meth:`MigrationShortcuts.keep_or_drop`). The next upgrade of an empty database
  sets that empty one aside, for the next test that asks for a new database, and gives the
  spare its name. A database that differs in anything is dropped, as every one was before.

Everything else runs the real migrations: a database that is not empty, one on another server,
and every test marked ``real_migrations`` (the tests of the migrations themselves).
"""

import json
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from portal import schema
from portal.db import sqlite_side_files

# One line per object of the database that a test could change: if any differs from the
# migrated database's, the database is not reused.
CATALOGUE_FINGERPRINT = text(
    """
    SELECT md5(coalesce(string_agg(part, E'\\n' ORDER BY part), '')) FROM (
        SELECT 'column ' || table_schema || '.' || table_name || '.' || column_name || ' '
               || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
          FROM information_schema.columns
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT 'relation ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        UNION ALL
        SELECT 'index ' || indexdef FROM pg_indexes
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
               || pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
        UNION ALL
        SELECT 'schema ' || nspname || ' ' || coalesce(array_to_string(nspacl, ','), '')
          FROM pg_namespace
        UNION ALL
        SELECT 'function ' || oid::regprocedure::text FROM pg_proc
         WHERE pronamespace NOT IN ('pg_catalog'::regnamespace,
                                    'information_schema'::regnamespace)
        UNION ALL
        SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
        UNION ALL
        SELECT 'rule ' || rulename FROM pg_rules
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
        UNION ALL
        SELECT 'label ' || enumtypid::regtype::text || ' ' || enumlabel || ' ' || enumsortorder
          FROM pg_enum
        UNION ALL
        SELECT 'extension ' || extname FROM pg_extension
        UNION ALL
        SELECT 'type ' || typname FROM pg_type
         WHERE typnamespace NOT IN ('pg_catalog'::regnamespace,
                                    'information_schema'::regnamespace)
           AND typrelid = 0 AND typelem = 0
        UNION ALL
        SELECT 'grant ' || c.relname || ' ' || coalesce(array_to_string(c.relacl, ','), '')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        UNION ALL
        SELECT 'large objects ' || count(*) FROM pg_largeobject_metadata
        UNION ALL
        SELECT 'setting ' || coalesce(array_to_string(setconfig, ','), '')
          FROM pg_db_role_setting
         WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    ) AS parts(part)
    """
)

USER_RELATIONS = text(
    """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    """
)


@dataclass(frozen=True)
class MigratedState:
    """What the real migrations left in a PostgreSQL database, to compare against and put back."""

    fingerprint: str
    tables: tuple[str, ...]
    rows: dict[str, str]  # table: its rows as a JSON array, for the tables that have rows
    sequences: dict[str, tuple[int, bool]]  # sequence: last_value, is_called


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _migrated_state(connection: Connection) -> MigratedState:
    tables = tuple(
        connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        )
    )
    rows = {}
    for table in tables:
        query = f"SELECT json_agg(t) FROM {_quoted(table)} AS t"  # noqa: S608 - a catalogue name
        found = connection.scalar(text(query))
        if found:
            rows[table] = json.dumps(found)
    sequences = {
        name: tuple(
            connection.execute(
                text(f"SELECT last_value, is_called FROM {_quoted(name)}")  # noqa: S608
            ).one()
        )
        for name in connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")
        )
    }
    return MigratedState(
        fingerprint=connection.scalar(CATALOGUE_FINGERPRINT),
        tables=tables,
        rows=rows,
        sequences=sequences,  # type: ignore[arg-type]
    )


def _put_back(connection: Connection, state: MigratedState) -> None:
    """Every row deleted, the migrations' own rows inserted again and every sequence set back,
    in one transaction; the replica role skips the foreign keys' checks while rows go."""
    connection.execute(text("SET LOCAL session_replication_role = replica"))
    deletes = [f"DELETE FROM {_quoted(table)}" for table in state.tables]  # noqa: S608
    connection.execute(text(";".join(deletes)))
    for table, rows in state.rows.items():
        connection.execute(
            text(
                f"INSERT INTO {_quoted(table)} SELECT * FROM"  # noqa: S608 - catalogue names
                f" json_populate_recordset(NULL::{_quoted(table)}, CAST(:rows AS json))"
            ),
            {"rows": rows},
        )
    for sequence, (last_value, is_called) in state.sequences.items():
        connection.execute(
            text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
            {"sequence": _quoted(sequence), "value": last_value, "called": is_called},
        )


class MigrationShortcuts:
    """``schema.upgrade_to_head`` for the tests (see the module docstring), and the throw-away
    PostgreSQL databases of the run.

    PostgreSQL databases are kept in two sets of spares: empty ones, made and never migrated,
    set aside under a ``parley_spare_`` name, and migrated ones, put back as the migrations left
    them, under the name of the test database they were. Renaming a database costs
    milliseconds; creating and migrating one costs most of a second.
    """

    def __init__(
        self,
        real_upgrade: Callable[[str], None],
        folder: Callable[[], Path],
        postgres_server_url: str | None,
    ) -> None:
        self._real_upgrade = real_upgrade
        self._folder = folder
        self._server_url = postgres_server_url
        self._server: Engine | None = None
        self._sqlite_template: Path | None = None
        self._migrated: MigratedState | None = None
        self._empty_spares: list[str] = []
        self._migrated_spares: list[str] = []
        self.enabled = True

    @property
    def migrated_spares(self) -> int:
        """How many migrated PostgreSQL databases wait to be taken over."""
        return len(self._migrated_spares)

    # --- the upgrade --------------------------------------------------------------------------

    def __call__(self, database_url: str) -> None:
        url = make_url(database_url)
        if self.enabled and url.get_backend_name() == "sqlite" and url.database:
            target = Path(url.database)
            if _empty_sqlite_file(target):
                shutil.copyfile(self._migrated_sqlite_file(), target)
                return
        if self.enabled and self._on_test_server(database_url):
            self._upgrade_postgres(database_url)
            return
        self._real_upgrade(database_url)

    def _migrated_sqlite_file(self) -> Path:
        if self._sqlite_template is None:
            template = self._folder() / "head.sqlite3"
            self._real_upgrade(f"sqlite:///{template}")
            # Closing the last connection checkpoints the write-ahead log into the file.
            assert not sqlite_side_files(template), "the migrated template is not one file"
            self._sqlite_template = template
        return self._sqlite_template

    def _upgrade_postgres(self, database_url: str) -> None:
        name = make_url(database_url).database
        assert name is not None
        empty = _is_empty(database_url)
        if empty and self._migrated_spares:
            spare = self._migrated_spares.pop()
            aside = _spare_name()
            # Connections to the empty database (an inspection before the upgrade) must go
            # before it can be renamed; the pools they came from open new ones.
            self._end_connections(name)
            with self._server_engine().connect() as connection:
                connection.execute(text(f"ALTER DATABASE {_quoted(name)} RENAME TO {aside}"))
                connection.execute(
                    text(f"ALTER DATABASE {_quoted(spare)} RENAME TO {_quoted(name)}")
                )
            self._empty_spares.append(aside)
            return
        self._real_upgrade(database_url)
        if empty and self._migrated is None:
            # Just migrated from empty, before any test stored a row: what to put back later.
            self._migrated = read_state(database_url)

    # --- throw-away databases -----------------------------------------------------------------

    def new_postgres_database(self) -> str:
        """The URL of an empty database on the test server, under a new name."""
        assert self._server_url is not None
        name = _spare_name("parley_test_")
        with self._server_engine().connect() as connection:
            if self._empty_spares:
                spare = self._empty_spares.pop()
                connection.execute(text(f"ALTER DATABASE {spare} RENAME TO {name}"))
            else:
                connection.execute(text(f"CREATE DATABASE {name}"))
        return make_url(self._server_url).set(database=name).render_as_string(hide_password=False)

    def keep_or_drop(self, database_url: str) -> None:
        """After a test: keep the database as a migrated spare when it can be put back as the
        migrations left it, else drop it."""
        name = make_url(database_url).database
        assert name is not None
        self._end_connections(name)
        if self.enabled and self._migrated is not None and self._put_back_as_migrated(database_url):
            self._migrated_spares.append(name)
            return
        with self._server_engine().connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))

    def _put_back_as_migrated(self, database_url: str) -> bool:
        assert self._migrated is not None
        engine = create_engine(database_url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                if connection.scalar(CATALOGUE_FINGERPRINT) != self._migrated.fingerprint:
                    return False
                _put_back(connection, self._migrated)
            return True
        except SQLAlchemyError:
            return False
        finally:
            engine.dispose()

    def drop_spares(self) -> None:
        """At the end of the run: no spare outlives it."""
        if self._server is None:
            return
        with self._server.connect() as connection:
            for spare in self._empty_spares + self._migrated_spares:
                connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(spare)} WITH (FORCE)"))
        self._empty_spares.clear()
        self._migrated_spares.clear()
        self._server.dispose()
        self._server = None

    # --- helpers --------------------------------------------------------------------------------

    def _end_connections(self, name: str) -> None:
        """End every other session on the database ``name`` and wait until they are gone."""
        with self._server_engine().connect() as connection:
            pids = list(
                connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            )
            for pid in pids:
                connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})

    def _server_engine(self) -> Engine:
        if self._server is None:
            assert self._server_url is not None
            self._server = create_engine(
                self._server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
            )
        return self._server

    def _on_test_server(self, database_url: str) -> bool:
        if self._server_url is None:
            return False
        url, server = make_url(database_url), make_url(self._server_url)
        return url.get_backend_name() == "postgresql" and (url.host, url.port) == (
            server.host,
            server.port,
        )


_installed: MigrationShortcuts | None = None


@contextmanager
def installed(shortcuts: MigrationShortcuts) -> Iterator[MigrationShortcuts]:
    """``shortcuts`` as ``schema.upgrade_to_head`` and as :func:`current` inside the block; its
    spares are dropped at the end. (A module of its own holds it: pytest imports the conftest
    under two names, once as a conftest and once for the tests that import from it.)"""
    global _installed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schema, "upgrade_to_head", shortcuts)
        _installed = shortcuts
        try:
            yield shortcuts
        finally:
            _installed = None
            shortcuts.drop_spares()


def current() -> MigrationShortcuts:
    """The shortcuts installed for this run."""
    assert _installed is not None, "the migration_shortcuts fixture is not set up"
    return _installed


def _spare_name(prefix: str = "parley_spare_") -> str:
    """A new database name, safe to write unquoted."""
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def _empty_sqlite_file(path: Path) -> bool:
    """No database there yet: no file, or an empty one, and no side file."""
    return (not path.exists() or path.stat().st_size == 0) and not sqlite_side_files(path)


def _is_empty(database_url: str) -> bool:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.scalar(USER_RELATIONS) == 0
    finally:
        engine.dispose()


def read_state(database_url: str) -> MigratedState:
    """The catalogue's fingerprint, every row and every sequence of a PostgreSQL database."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _migrated_state(connection)
    finally:
        engine.dispose()
