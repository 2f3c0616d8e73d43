"""Migrations: up to head and back down on an empty database, and head equals the models."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from portal import schema
from portal.db import sqlite_side_files
from portal.models import Base, RecoveryKey, utc_now


def _table_names(database_url: str) -> set[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_to_head_and_down_to_base(database_url: str) -> None:
    schema.upgrade_to_head(database_url)
    assert _table_names(database_url) == set(Base.metadata.tables) | {"alembic_version"}

    schema.downgrade_to_base(database_url)
    assert _table_names(database_url) <= {"alembic_version"}

    schema.upgrade_to_head(database_url)
    assert set(Base.metadata.tables) <= _table_names(database_url)


def test_head_schema_equals_the_models(database_url: str) -> None:
    schema.upgrade_to_head(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == schema.head_revision()
    finally:
        engine.dispose()


def test_a_downgrade_on_sqlite_zeroes_what_it_drops(tmp_path: Path) -> None:
    """Migrations connect with the portal's pragmas: ``portal init --force`` clears a database
    by downgrading it, and the rows it drops must not stay readable in the file."""
    database_file = tmp_path / "parley.sqlite3"
    database_url = f"sqlite:///{database_file}"
    marker = b"DROPPED-ROW-5f1c"
    schema.upgrade_to_head(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                RecoveryKey.__table__.insert().values(
                    key_id=marker[:16], public_key=marker * 2, created_at=utc_now()
                )
            )
    finally:
        engine.dispose()
    assert marker in database_file.read_bytes()

    schema.downgrade_to_base(database_url)

    for path in [database_file, *sqlite_side_files(database_file)]:
        assert marker not in path.read_bytes(), path
