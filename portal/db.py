"""Database engine and sessions: one engine per application, one session per request.

Routes and services never build their own engine. A request asks for ``request_session()``;
the session is closed (and anything uncommitted rolled back) when the application context ends,
so a failed request cannot leave a half-written transaction behind for the next one.

On SQLite every connection, the migrations' included, is set up by ``_configure_sqlite``:

- ``journal_mode = WAL``: readers do not wait for a writer, so several gunicorn workers share
  one file. The mode is stored in the file; SQLite then keeps two side files next to it (see
  ``sqlite_side_files``), which anything that copies, scans or removes the database must treat
  as part of it.
- ``synchronous = FULL``: a commit is on disk before it returns. WAL's usual ``NORMAL`` may lose
  the last commits at a power cut, and a submitter already told "received" must not lose theirs.
- ``foreign_keys = ON``: SQLite ignores foreign keys unless each connection asks for them.
- ``secure_delete = ON``: deleted rows are overwritten with zeros instead of lingering in free
  space, so that crypto-shredding a submission leaves no copy of its wrapped keys in the file.

A write-ahead log keeps the page images that a transaction replaced: the main file holds them
until the log is checkpointed into it, and the log itself until its frames are overwritten. A
deleted envelope or a re-wrapped key would stay readable there, which the rollback journal never
allowed (it overwrites pages in place and removes the journal at commit). So a connection that
wrote is checkpointed when it returns to the pool (``_checkpoint_after_writes``), with the log
truncated to nothing. SECURITY.md ("Data at rest on SQLite") states what remains.
"""

from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_EXTENSION_KEY = "parley.database"
SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "synchronous": "FULL",
    "foreign_keys": "ON",
    "secure_delete": "ON",
}
# The write-ahead log, its shared-memory index, and the rollback journal of a file not yet in WAL.
_SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_CHECKPOINTED_CHANGES = "parley.checkpointed_changes"


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, database_url: str) -> None:
        # pre_ping: a worker that outlived a database restart reconnects instead of failing once.
        # hide_parameters: a failing statement's message (and so an error log's traceback) shows
        # the SQL without the values bound to it, which may be anything a request carried.
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True, hide_parameters=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite)
            event.listen(self.engine, "checkin", _checkpoint_after_writes)
        self.sessionmaker: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def sqlite_file(self) -> Path | None:
        """The database file when the database is SQLite, else ``None``."""
        if self.engine.dialect.name != "sqlite" or self.engine.url.database is None:
            return None
        return Path(self.engine.url.database)

    def session(self) -> Session:
        """A new session; the caller closes it (``with database.session() as session``)."""
        return self.sessionmaker()

    def dispose(self) -> None:
        """Close every pooled connection (before a process forks or exits)."""
        self.engine.dispose()


def _configure_sqlite(connection: Any, _record: Any) -> None:
    """Apply ``SQLITE_PRAGMAS`` to a new connection (see the module's docstring for why)."""
    cursor = connection.cursor()
    for name, value in SQLITE_PRAGMAS.items():
        cursor.execute(f"PRAGMA {name} = {value}")
    cursor.close()


def _checkpoint_after_writes(connection: Any, record: Any) -> None:
    """Copy what a returning connection wrote into the main file and empty the log.

    ``total_changes`` counts the rows a connection inserted, updated or deleted since it opened;
    a connection that only read skips the checkpoint. The checkpoint waits for readers of older
    snapshots up to SQLite's busy timeout (5 s); if they outlast it, the log stays until the
    next write's checkpoint, or until the last connection closes, when SQLite removes it.
    """
    if connection is None:  # invalidated after an error: SQLAlchemy discards it unused
        return
    changes = connection.total_changes
    if changes != record.info.get(_CHECKPOINTED_CHANGES, 0):
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        record.info[_CHECKPOINTED_CHANGES] = changes


def sqlite_side_files(database_file: Path) -> list[Path]:
    """The files beside a SQLite database that exist now and hold pages of it.

    A write-ahead log left beside a database that is then removed would be replayed into a new
    file of the same name; a scan of the main file alone misses what the log holds.
    """
    candidates = (database_file.with_name(database_file.name + s) for s in _SQLITE_SIDE_SUFFIXES)
    return [path for path in candidates if path.exists()]


def init_app(app: Flask, database: Database) -> None:
    """Attach ``database`` to ``app`` and close each request's session at teardown."""
    app.extensions[_EXTENSION_KEY] = database
    app.teardown_appcontext(_close_request_session)


def app_database(app: Flask | None = None) -> Database:
    """The database attached to ``app`` (default: the current application)."""
    return (app or current_app).extensions[_EXTENSION_KEY]


def request_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = app_database().session()
    return g.db_session


def _close_request_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
