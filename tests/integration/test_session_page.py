"""The public session page: what the consultation is for, the forms, who reads, the desk key."""

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.db import app_database
from portal.locales import LANGUAGES
from portal.models import DeskKey, Dialogue, DialogueSession, DialogueStatus, SessionState
from tests.conftest import DemoInstance
from tests.integration.test_translations import _catalogue_fragments, _visible_text

BRUSSELS = ZoneInfo("Europe/Brussels")
ONION_HOST = "a" * 55 + "d.onion"


def _session_where(app: Flask, *conditions: object) -> tuple[Dialogue, DialogueSession]:
    with Session(app_database(app).engine) as session:
        row = session.execute(
            select(Dialogue, DialogueSession).join(DialogueSession).where(*conditions)
        ).first()
        assert row is not None
        return row[0], row[1]


def _page(app: Flask, dialogue: Dialogue, dialogue_session: DialogueSession) -> str:
    response = app.test_client().get(f"/dialogues/{dialogue.slug}/sessions/{dialogue_session.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(page: str, element_id: str) -> str:
    return page.split(f'id="{element_id}"')[1].split("</dl>")[0]


def test_open_session_page_shows_the_window_in_utc_and_brussels_time(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(
        demo_app, DialogueSession.state == SessionState.CONSULTATION_OPEN
    )
    closes = dialogue_session.consultation_closes_at
    assert closes is not None

    page = _page(demo_app, dialogue, dialogue_session)

    status = page.split('id="consultation-status"')[1].split("</dd>")[0]
    assert "Open" in status
    assert f'<time datetime="{closes.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"' in status
    assert "data-local-label=" in status
    assert f"{closes.astimezone(dt.UTC):%H:%M} UTC" in status
    assert f"{closes.astimezone(BRUSSELS):%H:%M} Brussels time" in status
    assert page.count("Accepted now") == 4


def test_fingerprint_shown_is_the_current_desk_key(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(demo_app, Dialogue.slug == "valdoria")
    with Session(app_database(demo_app).engine) as session:
        desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).one()

    desk = _section(_page(demo_app, dialogue, dialogue_session), "desk-key")

    fingerprint = crypto.fingerprint(desk_key.public_key)
    assert f'<code class="fingerprint" dir="ltr">{fingerprint}</code>' in desk
    assert desk_key.key_id.hex() in desk


def test_page_explains_purpose_forms_readers_and_what_the_server_sees(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(demo_app, Dialogue.slug == "valdoria")

    page = _page(demo_app, dialogue, dialogue_session)

    for heading in (
        "What the consultation is for",
        "What you can send",
        "Who will read what you send",
        "What the server can and cannot see",
        "Check the desk key before you send",
    ):
        assert f"<h2>{heading}</h2>" in page
    forms = _section(page, "forms")
    for form in ("Agenda input", "Individual case", "Reprisal report", "Seminar recommendations"):
        assert f"<dt>{form}</dt>" in forms
    assert "administrators manage accounts and dialogues but cannot read" in page
    assert "decrypted on the server for the length of that one request" in page
    assert f"portal dialogue fingerprint {dialogue.slug}" in page


def test_dialogue_page_links_to_each_session_page(demo_app: Flask) -> None:
    dialogue, _ = _session_where(demo_app, Dialogue.slug == "valdoria")
    with Session(app_database(demo_app).engine) as session:
        ids = session.scalars(
            select(DialogueSession.id).where(DialogueSession.dialogue_id == dialogue.id)
        ).all()

    page = demo_app.test_client().get(f"/dialogues/{dialogue.slug}").get_data(as_text=True)

    for session_id in ids:
        assert f'href="/dialogues/{dialogue.slug}/sessions/{session_id}"' in page


def test_session_of_another_dialogue_or_unknown_is_not_found(demo_app: Flask) -> None:
    _, other_session = _session_where(demo_app, Dialogue.slug == "northvale")
    client = demo_app.test_client()

    assert client.get(f"/dialogues/valdoria/sessions/{other_session.id}").status_code == 404
    assert client.get("/dialogues/valdoria/sessions/999999").status_code == 404
    assert client.get("/dialogues/no-such-dialogue/sessions/1").status_code == 404


def test_frozen_dialogue_session_accepts_nothing(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(demo_app, Dialogue.status == DialogueStatus.FROZEN)

    page = _page(demo_app, dialogue, dialogue_session)

    assert "This dialogue is frozen" in page
    assert "Accepted now" not in page
    assert page.count("Not accepted now") == 4


def test_closed_consultation_still_accepts_reprisal_reports(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(
        demo_app, DialogueSession.state == SessionState.CONSULTATION_CLOSED
    )

    forms = _section(_page(demo_app, dialogue, dialogue_session), "forms")

    reprisal = forms.split("<dt>Reprisal report</dt>")[1].split("<dt>")[0]
    assert "Accepted now" in reprisal
    assert forms.count("Not accepted now") == 3


def test_each_accepted_form_is_linked(demo_app: Flask) -> None:
    dialogue, dialogue_session = _session_where(
        demo_app, DialogueSession.state == SessionState.CONSULTATION_OPEN
    )

    page = _page(demo_app, dialogue, dialogue_session)

    base = f"/dialogues/{dialogue.slug}"
    for href in (
        f"{base}/sessions/{dialogue_session.id}/agenda-input",
        f"{base}/sessions/{dialogue_session.id}/individual-case",
        f"{base}/reprisal-report",
        f"{base}/sessions/{dialogue_session.id}/seminar-recommendations",
    ):
        assert f'<a href="{href}">Open the form</a>' in page


def test_onion_address_is_shown_only_when_configured(
    demo_app: Flask, demo_instance: DemoInstance
) -> None:
    dialogue, dialogue_session = _session_where(demo_app, Dialogue.slug == "valdoria")
    path = f"/dialogues/{dialogue.slug}/sessions/{dialogue_session.id}"
    onion_app = create_app(
        dataclasses.replace(demo_instance.settings, onion_origin=f"http://{ONION_HOST}")
    )

    assert "onion" not in _page(demo_app, dialogue, dialogue_session)
    assert f"http://{ONION_HOST}{path}" in _page(onion_app, dialogue, dialogue_session)


@pytest.mark.parametrize("slug", ["valdoria", "marenland", "elbaria-local", "northvale"])
def test_session_pages_show_only_catalogued_strings_and_data(demo_app: Flask, slug: str) -> None:
    fragments = _catalogue_fragments()
    dialogue, dialogue_session = _session_where(demo_app, Dialogue.slug == slug)
    command = f"portal dialogue fingerprint {slug}"

    for text in _visible_text(_page(demo_app, dialogue, dialogue_session)):
        # The language switch names each language in itself, from the locale table.
        named = {dialogue.partner, command} | {
            language.self_name for language in LANGUAGES.values()
        }
        is_data = text in named or any(c.isdigit() for c in text)
        assert is_data or text.replace(dialogue.partner, "").strip() in fragments, text
