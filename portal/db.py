"""Database engine and sessions: one engine per application, one session per request.

Routes and services never build their own engine. A request asks for ``request_session()``;
the session is closed (and anything uncommitted rolled back) when the application context ends,
so a failed request cannot leave a half-written transaction behind for the next one.

On SQLite every connection, the migrations' included, is set up by ``_configure_sqlite``:

- ``busy_timeout = 30000``: SQLite has one writer at a time, and a writer waits up to 30 seconds
  for its turn instead of the usual 5: a burst of submissions to every request thread of every
  ``portal serve`` worker (``portal.server``) queues rather than failing.
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
replaced or removed anything (an update, a delete, a schema change, a rolled-back write) is
checkpointed when it returns to the pool (``Database._checkpoint_after_rewrites``), with the log
truncated to nothing. A connection that only added rows is not: every page image its
transactions left in the log or in the main file holds rows that are still stored, and free space
that ``secure_delete`` has already zeroed, so a checkpoint would erase nothing, while it costs
each new submission a copy of its pages and a sync of the main file. Those frames leave the log
with the next checkpoint, after whatever later replaces or removes them. The checkpoint does not
wait: while it waits for readers of an
older snapshot SQLite holds back every new writer, and with a worker's many request threads
there nearly always is one, so writers would queue behind it until they failed as "database is
locked". A checkpoint that finds the log in use is tried again as each connection returns to the
pool, reader or writer, until one succeeds: the last request of a busy moment empties the log.
Each connection notes for itself whether it replaced or removed anything
(``_RewriteNotingConnection``), as SQLAlchemy hands it statements and rollbacks. SQLAlchemy's
statement events could tell too, but listening to them puts every statement, commit and
rollback of the engine through its event dispatch: some 200 Python calls a submission.
SECURITY.md ("Data at rest on SQLite") states what remains.
"""

import select
import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask, current_app, g
from sqlalchemy import Engine, Table, create_engine, event, inspect, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

_EXTENSION_KEY = "parley.database"
# How long a statement waits for another connection's write lock before failing as "database
# is locked": long enough for a burst of submissions to every thread of every worker to queue.
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PRAGMAS = {
    "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    "journal_mode": "WAL",
    "synchronous": "FULL",
    "foreign_keys": "ON",
    "secure_delete": "ON",
}
# The write-ahead log, its shared-memory index, and the rollback journal of a file not yet in WAL.
_SQLITE_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
# The statements that can only read or add rows, or frame a transaction. An insert that may
# update or replace on a clash is none of them.
_ADDING_ONLY = ("SELECT", "INSERT", "BEGIN", "SAVEPOINT", "RELEASE")
_REWRITING_INSERT = ("DO UPDATE", "OR REPLACE")


class Database:
    """The engine and session factory for one database URL."""

    def __init__(self, database_url: str, *, connections: int | None = None) -> None:
        """``connections``: how many the pool holds at most, one for each request thread of a
        ``portal serve`` worker, so that no thread waits for another's (default: SQLAlchemy's)."""
        sizing = {} if connections is None else {"pool_size": connections, "max_overflow": 0}
        on_sqlite = make_url(database_url).get_backend_name() == "sqlite"
        noting = {"connect_args": {"factory": _RewriteNotingConnection}} if on_sqlite else {}
        # hide_parameters: a failing statement's message (and so an error log's traceback)
        # shows the SQL without the values bound to it, which may be anything a request carried.
        self.engine: Engine = create_engine(database_url, hide_parameters=True, **sizing, **noting)
        if self.engine.dialect.name == "postgresql":
            event.listen(self.engine, "checkout", _replace_if_ended_by_server)
        # Whether a checkpoint found the log in use and another is owed (SQLite only).
        self._checkpoint_owed = False
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite)
            event.listen(self.engine, "checkin", self._checkpoint_after_rewrites)
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

    def _checkpoint_after_rewrites(self, connection: Any, _record: Any) -> None:
        """Empty the log when a connection that replaced or removed rows returns to the pool, or
        when any does while a checkpoint is owed (see the module's docstring)."""
        if connection is None:  # invalidated after an error: SQLAlchemy discards it unused
            return
        if not connection.rewrote and not self._checkpoint_owed:
            return
        self._checkpoint_owed = not _truncate_log(connection)
        connection.rewrote = False


def _replace_if_ended_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Have the pool replace a PostgreSQL connection that the server ended while it was idle in
    the pool, before a request uses it.

    A worker outlives restarts of the database server, and a server ends sessions of its own
    accord too (``pg_terminate_backend``, ``idle_session_timeout``, a pooler's idle timeout): a
    request handed such a connection would fail on its first statement, and a submitter would
    be told their submission was not received. The server sends a closing error and shuts the
    socket, so a connection whose socket has anything to read while idle in the pool has been
    ended; seeing that takes a poll of the socket, with no round trip to the server (the
    ``SELECT 1`` of SQLAlchemy's ``pool_pre_ping`` cost each request a round trip and some 0.1 ms
    of the worker's CPU). ``DisconnectionError`` makes the pool discard the connection and open
    another. A message the server may send an idle session without ending it (a notice, a
    setting changed by a configuration reload) costs one needless reconnection, nothing more.

    Not covered: a connection cut without the server closing it (the network between them
    failing, the server's host losing power). Its socket stays quiet until the first statement
    fails, after TCP gives up or on the reset a rebooted host answers with: that request fails,
    and the pool then replaces every connection it holds. (The ping waited just as long on a
    silent cut, but then reconnected; a reset it turned into a reconnection.)
    """
    if dbapi_connection.closed or _socket_has_news(dbapi_connection.fileno()):
        raise DisconnectionError("the database server ended this pooled connection")


def _socket_has_news(socket: int) -> bool:
    """Whether ``socket`` has something to read or has been closed, without waiting."""
    poll = select.poll()
    poll.register(socket, select.POLLIN)
    return bool(poll.poll(0))


class _RewriteNotingConnection(sqlite3.Connection):
    """A SQLite connection that knows whether it has run a statement that may replace or remove
    rows, or rolled back a transaction that wrote, since its last checkpoint (``rewrote``).

    SQLAlchemy runs every statement on a cursor from ``cursor()``, and ends transactions with
    ``rollback()``. A rolled-back write counts because the log may hold frames of the rows it
    took back; a transaction is open only once something wrote or asked for the write lock.
    """

    rewrote = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        return super().cursor(factory or _RewriteNotingCursor)

    def rollback(self) -> None:
        if self.in_transaction:
            self.rewrote = True
        super().rollback()


class _RewriteNotingCursor(sqlite3.Cursor):
    """A cursor that marks its ``_RewriteNotingConnection`` as it runs a statement that may
    replace or remove rows."""

    connection: _RewriteNotingConnection

    def execute(self, statement: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if _may_rewrite(statement):
            self.connection.rewrote = True
        return super().execute(statement, parameters)

    def executemany(self, statement: str, parameters: Any, /) -> sqlite3.Cursor:
        if _may_rewrite(statement):
            self.connection.rewrote = True
        return super().executemany(statement, parameters)


@lru_cache(maxsize=512)
def _may_rewrite(statement: str) -> bool:
    """Whether ``statement`` may replace or remove rows. Remembered for the statements run most
    (SQLAlchemy runs the same few again and again, each one string)."""
    head = statement.lstrip()[:9].upper()
    return not head.startswith(_ADDING_ONLY) or (
        head.startswith("INSERT") and any(words in statement.upper() for words in _REWRITING_INSERT)
    )


def _configure_sqlite(connection: Any, _record: Any) -> None:
    """Apply ``SQLITE_PRAGMAS`` to a new connection (see the module's docstring for why), on a
    cursor that does not count them as rewrites."""
    cursor = connection.cursor(sqlite3.Cursor)
    for name, value in SQLITE_PRAGMAS.items():
        cursor.execute(f"PRAGMA {name} = {value}")
    cursor.close()


def _truncate_log(connection: Any) -> bool:
    """Copy the log into the main file and empty it, unless another connection is using it;
    whether it was emptied. Never waits (see the module's docstring)."""
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    finally:
        connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    return busy == 0


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


def dialect_insert(session: Session, entity: Any) -> Any:
    """An INSERT for ``entity`` in the session's dialect, which offers ``on_conflict_do_nothing``
    (both SQLite and PostgreSQL have ``INSERT .. ON CONFLICT``)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(entity)


def holds_sqlite_write_lock(session: Session) -> bool:
    """Whether ``session``'s transaction has written to a SQLite database, and so holds its only
    write lock until it ends: a transaction of its own beside it would wait for it in vain."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return bool(connection.connection.dbapi_connection.in_transaction)


def insert_unless_taken(session: Session, row: Any) -> bool:
    """Store the new ORM object ``row`` with one INSERT and make it the session's persistent row;
    ``False``, with nothing stored, if a unique constraint already holds one of its values.

    The unit of work would store it with a flush, and surviving a clash would need a savepoint
    around it: three statements and the flush's bookkeeping on a hot path, where this is one
    ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` (:func:`insert_values_unless_taken`). The
    columns ``row`` leaves unset are filled from what the insert returns (database defaults and
    the new id), so that the object matches the stored row. Relationships set on ``row`` must
    come with their foreign key columns.
    """
    table, columns = _mapped_columns(type(row))
    state = row.__dict__
    missing = tuple((key, column) for key, column in columns if key not in state)
    values = {column.name: state[key] for key, column in columns if key in state}
    stored = insert_values_unless_taken(
        session, table, values, tuple(column for _key, column in missing)
    )
    return adopt_inserted(session, row, [key for key, _column in missing], stored)


class RowValues(NamedTuple):
    """A new row of ``table`` by the ``values`` of its columns (by name), to be inserted by
    whoever stores it along with other rows."""

    table: Table
    values: Mapping[str, Any]


def insert_values_unless_taken(
    session: Session, table: Table, values: Mapping[str, Any], returned: tuple[Any, ...]
) -> Any:
    """Store one row of ``table`` from ``values`` (by column name) with one
    ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` of the columns ``returned``, built once per
    table and set of columns and run on the session's connection, past the ORM; what it
    returned, or ``None``, with nothing stored, if a unique constraint already holds one of the
    values.

    For a row that nothing later in the transaction changes, loads or reads beyond what it was
    given: no ORM object is made, tracked or cascaded into, which costs more than the insert.
    Columns left out of ``values`` take their defaults, as in any Core insert.
    """
    statement = _insert_returning(session.get_bind().dialect.name, table, returned)
    return session.connection().execute(statement, values).first()


def adopt_inserted(session: Session, row: Any, returned: Sequence[str], stored: Any) -> bool:
    """Make ``row`` the stored row, in ``session``, that an ``INSERT .. ON CONFLICT DO NOTHING
    RETURNING`` of it answered with ``stored``, the values of its attributes ``returned``;
    ``False`` when it answered nothing, as the insert then stored nothing."""
    if stored is None:
        return False
    for key, value in zip(returned, stored, strict=True):
        setattr(row, key, value)
    make_transient_to_detached(row)
    session.add(row)
    return True


@cache
def _mapped_columns(entity: type) -> tuple[Table, tuple[tuple[str, Any], ...]]:
    """The table an ORM class maps and each column attribute's key with its column."""
    mapper = inspect(entity)
    return mapper.local_table, tuple((attr.key, attr.columns[0]) for attr in mapper.column_attrs)


@cache
def _insert_returning(dialect: str, table: Table, returned: tuple[Any, ...]) -> Any:
    """The statement of :func:`insert_values_unless_taken`; its values come with each
    execution."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(*returned)
