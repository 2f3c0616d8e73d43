"""A PostgreSQL server that ends the portal's connections does not fail its next requests.

A worker outlives restarts of the database server, and the server may end idle sessions itself:
the connections the worker's pool holds are then dead. Each is replaced as a request takes it
from the pool (``portal.db``), so the request that follows is served as if nothing happened.
Here every session of the portal's database but the test's own is terminated, as a restart
would end them, between requests.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from portal import create_app
from portal.db import app_database
from portal.models import Submission, SubmissionKind
from tests.conftest import create_demo_instance, database_for
from tests.integration.forms_client import open_session_url
from tests.integration.test_forms_sealed import post_sealed, seal_in_browser

pytestmark = pytest.mark.postgres

# How long the server may take to end a session it was told to terminate.
TERMINATION_WAIT_MS = 5_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The portal over a demo instance on PostgreSQL (the test has nothing to say of SQLite,
    where no server holds the connections)."""
    folder: Path = tmp_path_factory.mktemp("server-ended-connections")
    with database_for("postgresql", folder) as url:
        app = create_app(create_demo_instance(folder, url).settings)
        yield app
        app_database(app).dispose()


def terminate_every_other_session(app: Flask) -> int:
    """End every session of the portal's database but this one's, as a server restart does,
    and wait until they are gone; how many there were."""
    url = app_database(app).engine.url
    administrator = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with administrator.connect() as connection:
        ended = connection.scalars(
            text(
                "SELECT pg_terminate_backend(pid, :wait) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ),
            {"wait": TERMINATION_WAIT_MS},
        ).all()
    administrator.dispose()
    assert all(ended), "a session outlived its termination"
    return len(ended)


def stored_with_public_id(app: Flask, public_id: str) -> int:
    with app_database(app).session() as session:
        return session.scalar(
            select(func.count()).select_from(Submission).where(Submission.public_id == public_id)
        )


def test_requests_after_the_server_ended_the_pooled_connections_succeed(app: Flask) -> None:
    client = app.test_client()
    form_url = open_session_url(app, "agenda-input")
    assert client.get(form_url).status_code == 200
    assert terminate_every_other_session(app) >= 1

    sent = seal_in_browser(client, form_url, SubmissionKind.AGENDA_INPUT)  # reads the database
    assert terminate_every_other_session(app) >= 1
    status, answer = post_sealed(client, sent)  # reads, then writes in a unit of work

    assert status == 200, answer
    assert stored_with_public_id(app, sent.form.hidden["public_id"]) == 1
