"""VACUUM on PostgreSQL after a clean-up, so deleted envelopes do not wait in dead row versions.

PostgreSQL deletes a row by marking its version dead; the bytes stay in the table's pages (and,
for a large envelope, in its TOAST table) until VACUUM prunes them, which autovacuum does only
when enough of a table has changed. An envelope is still readable with the desk key, so the
clean-up vacuums every table it deleted from as soon as it is done: VACUUM cannot run inside a
transaction, so it gets a connection of its own in autocommit mode. Plain VACUUM takes no lock
that stops reads or writes; ``full`` (``portal purge --vacuum-full``) rewrites each table into new
files and blocks it meanwhile, for a maintenance window. What VACUUM cannot reach (the
write-ahead log until it is recycled, archives, backups, freed disk blocks) is in SECURITY.md.
SQLite needs none of this: ``secure_delete`` zeroes deleted content at once (``portal.db``).
"""

from collections.abc import Iterable

from sqlalchemy import Engine, text


def vacuum(engine: Engine, tables: Iterable[str], *, full: bool = False) -> list[str]:
    """VACUUM ``tables`` on PostgreSQL (names from the schema, never from a request); return the
    tables vacuumed, none on another database."""
    if engine.dialect.name != "postgresql":
        return []
    done = []
    quote = engine.dialect.identifier_preparer.quote
    command = "VACUUM (FULL)" if full else "VACUUM"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in sorted(set(tables)):
            connection.execute(text(f"{command} {quote(table)}"))
            done.append(table)
    return done
