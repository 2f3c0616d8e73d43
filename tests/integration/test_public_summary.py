"""A session's public summary (``reporting.public_summary``, blueprints ``public_summary`` and
``public``) on a writable demo instance: the desk writes the press statement, publishes it once
the session is held, and the public session page shows it, cleaned, with the themes the record
says were discussed, and nothing else: no case, no name, no count.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.db import Database
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaPriority,
    AgendaTheme,
    AuditEvent,
    Dialogue,
    DialogueSession,
    SessionState,
    SessionSummary,
)
from portal.services.submissions.kinds import LONG_TEXT_LIMIT
from tests.conftest import DemoInstance, csrf_token_for
from tests.staff_sessions_support import demo_credentials, sign_in_client

STATEMENT = (
    "The EU and Valdoria held their **annual dialogue**.\n\n"
    "<script>alert(1)</script> [a link](https://example.org)"
)
ITEM_TITLE = "A title staff wrote about the session's substance"


@dataclass
class World:
    app: Flask
    instance: DemoInstance
    held: int  # valdoria's session in follow-up
    not_held: int  # valdoria's open session
    other_dialogue: int  # a northvale session

    def client(self, role: str) -> FlaskClient:
        credentials = demo_credentials(self.instance.credentials_file)[role]
        client = self.app.test_client()
        sign_in_client(self.app, client, credentials.email, credentials.password)
        return client

    def summary(self, session_id: int) -> SessionSummary | None:
        with Database(self.instance.settings.database_url).session() as session:
            return session.scalars(
                select(SessionSummary).where(SessionSummary.session_id == session_id)
            ).first()


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    database = Database(writable_demo_instance.settings.database_url)
    with database.session() as session:
        rounds = session.execute(select(Dialogue.slug, DialogueSession).join(DialogueSession)).all()
        valdoria = {row[1].state: row[1] for row in rounds if row[0] == "valdoria"}
        held = valdoria[SessionState.FOLLOW_UP]
        session.add_all(
            AgendaItem(
                session_id=held.id,
                title=ITEM_TITLE,
                theme=theme,
                position=position,
                priority_of=AgendaPriority.EU,
                status=AgendaItemStatus.INCLUDED,
                discussed=discussed,
            )
            for position, (theme, discussed) in enumerate(
                (
                    (AgendaTheme.UN_COOPERATION, True),
                    (AgendaTheme.INTERNATIONAL_HUMANITARIAN_LAW, False),
                ),
                start=1,
            )
        )
        session.commit()
        built = World(
            app=create_app(writable_demo_instance.settings),
            instance=writable_demo_instance,
            held=held.id,
            not_held=valdoria[SessionState.CONSULTATION_OPEN].id,
            other_dialogue=next(row[1].id for row in rounds if row[0] == "northvale"),
        )
    try:
        yield built
    finally:
        database.dispose()


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> int:
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token_for(client)}).status_code


def _staff_url(session_id: int, suffix: str = "", slug: str = "valdoria") -> str:
    return f"/staff/dialogues/{slug}/sessions/{session_id}/public-summary{suffix}"


def _public(world: World, session_id: int) -> str:
    return (
        world.app.test_client()
        .get(f"/dialogues/valdoria/sessions/{session_id}")
        .get_data(as_text=True)
    )


def test_write_publish_show_and_unpublish(world: World) -> None:
    co_chair = world.client("co_chair")
    assert (
        _post(co_chair, _staff_url(world.held), {"source": "joint", "statement": STATEMENT}) == 302
    )
    assert 'id="public-summary"' not in _public(world, world.held)  # written, not published

    assert _post(co_chair, _staff_url(world.held, "/publish")) == 302
    page = _public(world, world.held)
    section = page[
        page.index('id="public-summary"') : page.index(
            "</section>", page.index('id="public-summary"')
        )
    ]
    assert "<strong>annual dialogue</strong>" in section and "Joint press statement" in section
    # Cleaned like every piece of staff prose: no script, no link followed.
    assert "<script" not in section and "href" not in section
    # The themes discussed, never an item's title, and no count of anything.
    assert "Cooperation with the UN" in section and "humanitarian" not in section
    assert ITEM_TITLE not in page
    visible = re.sub(r"<[^>]*>", "", section).replace("alert(1)", "")
    assert not re.search(r"\d", visible)
    # Publishing twice is refused; a rewrite shows at once.
    assert _post(co_chair, _staff_url(world.held, "/publish")) == 400
    assert (
        _post(co_chair, _staff_url(world.held), {"source": "eu", "statement": "Rewritten."}) == 302
    )
    assert "Rewritten." in _public(world, world.held) and "EU press statement" in _public(
        world, world.held
    )

    assert _post(co_chair, _staff_url(world.held, "/unpublish")) == 302
    assert 'id="public-summary"' not in _public(world, world.held)
    assert world.summary(world.held).published_at is None

    # The audit trail says what happened, never the words.
    with Database(world.instance.settings.database_url).session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("session_summary.%"))
        ).all()
    assert [e.action for e in events][:3] == [
        "session_summary.written",
        "session_summary.published",
        "session_summary.written",
    ]
    assert all("annual" not in str(e.details) and "Rewritten" not in str(e.details) for e in events)


def test_refusals_store_nothing(world: World) -> None:
    triage = world.client("triage_officer")
    # Not held yet: it may be written, not published.
    assert _post(triage, _staff_url(world.not_held, "/publish")) == 400
    assert _post(triage, _staff_url(world.not_held), {"source": "joint", "statement": "  "}) == 400
    too_long = "x" * (LONG_TEXT_LIMIT + 1)
    assert (
        _post(triage, _staff_url(world.not_held), {"source": "joint", "statement": too_long}) == 400
    )
    assert _post(triage, _staff_url(world.not_held), {"source": "nobody", "statement": "Hi"}) == 400
    assert world.summary(world.not_held) is None
    assert (
        _post(triage, _staff_url(world.not_held), {"source": "joint", "statement": "Draft"}) == 302
    )
    assert _post(triage, _staff_url(world.not_held, "/publish")) == 400
    assert world.summary(world.not_held).published_at is None
    assert (
        b"can be published once the session has been held"
        in triage.get(_staff_url(world.not_held)).get_data()
    )


def test_who_writes_the_summary(world: World) -> None:
    for role in ("observer", "administrator"):
        client = world.client(role)
        assert client.get(_staff_url(world.held)).status_code == 403
        assert _post(client, _staff_url(world.held), {"source": "eu", "statement": "No"}) == 403
        assert _post(client, _staff_url(world.held, "/publish")) == 403
    # The triage officer sits on no northvale desk.
    triage = world.client("triage_officer")
    assert triage.get(_staff_url(world.other_dialogue, slug="northvale")).status_code == 403
    # A session of another dialogue through this one's address: 404.
    assert triage.get(_staff_url(world.other_dialogue)).status_code == 404
