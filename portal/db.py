"""Database engine and sessions: one engine per application, one session per request.

Routes and services never build their own engine. A request asks for ``request_session()``;
the session is closed (and anything uncommitted rolled back) when the application context ends,
so a failed request cannot leave a half-written transaction behind for the next one.
"""

import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_EXTENSION_KEY = "parley.database"


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, database_url: str) -> None:
        # pre_ping: a worker that outlived a database restart reconnects instead of failing once.
        self.engine: Engine = create_engine(database_url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _enforce_sqlite_foreign_keys)
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


def _enforce_sqlite_foreign_keys(connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless each connection asks for them."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()


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
