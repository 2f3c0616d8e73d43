"""Migrations: up to head and back down on an empty database, and head equals the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from portal import schema
from portal.models import Base


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
