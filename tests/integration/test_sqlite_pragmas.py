"""SQLite: every connection of the portal runs with the pragmas that portal/db.py explains."""

import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import Database, app_database, sqlite_side_files
from portal.models import RecoveryKey
from tests.conftest import portal_environment, run_portal, settings_from

# What SQLite reports back for each setting (synchronous: 2 is FULL).
EXPECTED = {
    "busy_timeout": 30_000,
    "journal_mode": "wal",
    "synchronous": 2,
    "foreign_keys": 1,
    "secure_delete": 1,
}


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The portal over a new instance with the default database, SQLite in the instance folder."""
    environment = portal_environment(tmp_path_factory.mktemp("pragmas") / "instance")
    result = run_portal(environment, "init")
    assert result.exit_code == 0, result.output
    return create_app(settings_from(environment))


@pytest.mark.parametrize(("pragma", "expected"), EXPECTED.items())
def test_every_connection_has_the_pragma(sqlite_app: Flask, pragma: str, expected: object) -> None:
    engine = app_database(sqlite_app).engine
    with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            assert connection.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected


def test_the_side_files_are_as_private_as_the_database(sqlite_app: Flask) -> None:
    database = app_database(sqlite_app)
    database_file: Path = database.sqlite_file
    with database.engine.connect():
        side_files = sqlite_side_files(database_file)

        assert sorted(path.name for path in side_files) == [
            "parley.sqlite3-shm",
            "parley.sqlite3-wal",
        ]
        for path in [database_file, *side_files]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _holding(database: Database, needle: bytes) -> list[str]:
    files = [database.sqlite_file, *sqlite_side_files(database.sqlite_file)]
    return [path.name for path in files if needle in path.read_bytes()]


def _holding_once_back(database: Database, needle: bytes) -> list[str]:
    """The files holding ``needle`` once every connection is back in the pool, looked at while a
    new one is open: the log file would otherwise be removed with the last connection."""
    with database.engine.connect():
        return _holding(database, needle)


def _stored(session: Session, marker: bytes) -> RecoveryKey:
    """A committed row that carries ``marker`` in both its columns, easy to find in a file."""
    row = RecoveryKey(key_id=marker, public_key=marker * 2)
    session.add(row)
    session.commit()
    return row


def test_a_deleted_row_is_in_no_file_once_its_connection_is_back_in_the_pool(
    sqlite_app: Flask,
) -> None:
    """The log would otherwise keep the page images from before the deletion."""
    database = app_database(sqlite_app)
    marker = b"DELETED-ROW-93ad"
    with database.session() as session:
        row = _stored(session, marker)
        assert _holding(database, marker)

        session.delete(row)
        session.commit()

    assert _holding_once_back(database, marker) == []


def test_a_checkpoint_that_finds_a_reader_is_owed_until_a_connection_returns_without_one(
    sqlite_app: Flask,
) -> None:
    """The writer does not wait for the reader; the reader, returning, empties the log."""
    database = app_database(sqlite_app)
    marker = b"OWED-CHECKPOINT-5c1e"
    reader = database.engine.raw_connection()
    try:
        reader.driver_connection.execute("BEGIN")
        reader.driver_connection.execute("SELECT count(*) FROM recovery_keys").fetchall()
        with database.session() as session:
            session.delete(_stored(session, marker))
            session.commit()
        assert "parley.sqlite3-wal" in _holding(database, marker)
        reader.driver_connection.rollback()
    finally:
        reader.close()

    assert _holding_once_back(database, marker) == []


def test_a_connection_that_only_added_rows_leaves_the_log_as_it_is(sqlite_app: Flask) -> None:
    """New rows replace nothing: their frames wait for the next checkpoint."""
    database = app_database(sqlite_app)
    marker = b"ADDED-ROW-4b7f"
    with database.session() as session:
        _stored(session, marker)

    assert "parley.sqlite3-wal" in _holding_once_back(database, marker)


def test_a_new_connection_that_only_added_rows_leaves_the_log_as_it_is(sqlite_app: Flask) -> None:
    """Setting a new connection up (its pragmas) replaces no rows either."""
    database = app_database(sqlite_app)
    database.dispose()
    marker = b"NEW-CONNECTION-ADDED-3d8c"
    with database.session() as session:
        _stored(session, marker)

    assert "parley.sqlite3-wal" in _holding_once_back(database, marker)


def test_an_update_empties_the_log_of_the_rows_before_it(sqlite_app: Flask) -> None:
    database = app_database(sqlite_app)
    marker = b"UPDATED-ROW-e61a"
    with database.session() as session:
        row = _stored(session, marker)
        row.key_id = b"REPLACED-ROW-e61a"
        row.public_key = b"REPLACED-KEY-e61a"
        session.commit()

    assert _holding_once_back(database, marker) == []


def test_a_rolled_back_write_empties_the_log(sqlite_app: Flask) -> None:
    """The log may hold frames of rows a transaction took back; they leave with the rest."""
    database = app_database(sqlite_app)
    kept = b"KEPT-ROW-90d3"
    with database.session() as session:
        _stored(session, kept)
    with database.session() as session:
        session.add(RecoveryKey(key_id=b"TAKEN-BACK-90d3", public_key=b"TAKEN-BACK-KEY-90d3"))
        session.flush()
        session.rollback()

    assert _holding_once_back(database, kept) == ["parley.sqlite3"]
