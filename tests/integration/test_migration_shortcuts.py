"""A test's migrated PostgreSQL database, when it is one an earlier test used, is the database the
migrations make: same catalogue, same rows, same sequences (``tests.migration_shortcuts``)."""

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from portal import schema
from tests.conftest import create_demo_instance, throwaway_postgres_database
from tests.migration_shortcuts import MigrationShortcuts, read_state


@pytest.mark.postgres
def test_a_reused_postgres_database_is_what_the_migrations_make(
    tmp_path: Path, migration_shortcuts: MigrationShortcuts
) -> None:
    migration_shortcuts.enabled = False
    with throwaway_postgres_database() as url:
        schema.upgrade_to_head(url)
        migrated = read_state(url)
    migration_shortcuts.enabled = True

    # Used as a test uses it: demo data in most tables, sequences moved on; then handed back.
    with throwaway_postgres_database() as url:
        (tmp_path / "used").mkdir()
        create_demo_instance(tmp_path / "used", url)
        used = read_state(url)
        spares = migration_shortcuts.migrated_spares
    assert used.rows.keys() > migrated.rows.keys()
    assert used.sequences != migrated.sequences
    assert migration_shortcuts.migrated_spares == spares + 1

    with throwaway_postgres_database() as url:
        schema.upgrade_to_head(url)
        assert migration_shortcuts.migrated_spares == spares
        assert read_state(url) == migrated


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [
        "CREATE INDEX extra_index ON submissions (id DESC)",
        "ALTER TABLE submissions ADD COLUMN extra_column integer",
        "CREATE TABLE extra_table (id integer)",
        "ALTER DATABASE CURRENT_DATABASE SET work_mem = '8MB'",
    ],
    ids=["index", "column", "table", "setting"],
)
def test_a_database_whose_schema_a_test_changed_is_dropped(
    migration_shortcuts: MigrationShortcuts, change: str
) -> None:
    with throwaway_postgres_database() as url:
        schema.upgrade_to_head(url)
        spares = migration_shortcuts.migrated_spares
    assert migration_shortcuts.migrated_spares == spares + 1, "an unchanged one is kept"

    with throwaway_postgres_database() as url:
        schema.upgrade_to_head(url)
        spares = migration_shortcuts.migrated_spares
        engine = create_engine(url, poolclass=NullPool)
        with engine.begin() as connection:
            connection.execute(text(change.replace("CURRENT_DATABASE", make_url(url).database)))
        engine.dispose()
    assert migration_shortcuts.migrated_spares == spares
