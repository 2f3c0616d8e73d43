"""The health check behind ``/healthz``: the database answers, or it does not."""

from pathlib import Path

from portal.db import Database
from portal.services.health import database_answers


def test_a_reachable_database_answers(database_url: str) -> None:
    database = Database(database_url)
    with database.session() as session:
        assert database_answers(session)
    database.dispose()


def test_an_unreachable_database_does_not(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'missing-folder' / 'parley.sqlite3'}")
    with database.session() as session:
        assert not database_answers(session)
    database.dispose()
