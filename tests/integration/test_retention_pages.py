"""Retention on the web: administrators set it on a dialogue's page, and the desk is warned on
its sessions page of what will be deleted when, on a demo instance on both databases."""

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import app_database
from portal.models import (
    AuditEvent,
    Dialogue,
    DialogueSession,
    SessionState,
    Submission,
    SubmissionKind,
    utc_now,
)
from portal.services.audit.trail import AuditAction
from portal.services.submissions.inbox import delete_submission
from portal.web.instance import web_instance
from tests.conftest import DemoInstance, csrf_token_for, send_to_valdoria
from tests.desk_world_support import CASE_FORM
from tests.staff_sessions_support import demo_credentials, sign_in_client


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Flask:
    return create_app(writable_demo_instance.settings)


@pytest.fixture
def database(app: Flask) -> Iterator[Session]:
    with app_database(app).session() as session:
        yield session


def _client(app: Flask, instance: DemoInstance, role: str) -> Any:
    client = app.test_client()
    account = demo_credentials(instance.credentials_file)[role]
    sign_in_client(app, client, account.email, account.password)
    return client


def _post_retention(client: Any, days: str, notice: str) -> Any:
    return client.post(
        "/admin/dialogues/valdoria/retention",
        data={"csrf_token": csrf_token_for(client), "days": days, "notice_days": notice},
    )


def test_an_administrator_sets_retention_and_the_desk_is_warned(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")
    listing = admin.get("/admin/dialogues").get_data(as_text=True)
    assert 'href="/admin/dialogues/valdoria"' in listing
    page = admin.get("/admin/dialogues/valdoria").get_data(as_text=True)
    assert "no retention period is set" in page

    refused = _post_retention(admin, "0", "30")
    assert refused.status_code == 400
    assert "a retention period is 1 to 3650 days" in refused.get_data(as_text=True)
    assert _post_retention(admin, "5", "20").status_code == 400

    saved = _post_retention(admin, "1", "30")
    assert saved.status_code == 302
    dialogue = database.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
    assert (dialogue.retention_days, dialogue.retention_notice_days) == (1, 30)
    event = database.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DIALOGUE_RETENTION_SET)
    ).one()
    assert event.actor_staff_user_id is not None

    # A case of the dialogue's session in follow-up: it is due 30 days from today, the notice.
    sent = send_to_valdoria(
        writable_demo_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    in_follow_up = database.scalars(
        select(DialogueSession).where(
            DialogueSession.dialogue_id == dialogue.id,
            DialogueSession.state == SessionState.FOLLOW_UP,
        )
    ).one()
    submission = database.scalars(
        select(Submission).where(Submission.public_id == sent.public_id)
    ).one()
    submission.session_id = in_follow_up.id
    database.commit()

    desk_page = _client(app, writable_demo_instance, "co_chair").get(
        "/staff/dialogues/valdoria/sessions"
    )
    text = desk_page.get_data(as_text=True)
    assert desk_page.status_code == 200
    assert 'role="alert">1 submission(s) of the session of' in text
    assert "retention period ends then" in text
    assert "deleted 1 days after the session reached follow-up" in text
    hub = _client(app, writable_demo_instance, "co_chair").get(
        f"/staff/dialogues/valdoria/sessions/{in_follow_up.id}"
    )
    assert 'id="session-deletion"' in hub.get_data(as_text=True)
    assert admin.get("/admin/dialogues/valdoria").get_data(as_text=True).count("<td>1</td>") == 1


def test_the_inbox_says_the_retention_period_deleted_a_submission(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    sent = send_to_valdoria(
        writable_demo_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    found = database.scalars(select(Submission).where(Submission.public_id == sent.public_id)).one()
    delete_submission(
        database, web_instance(app).storage, found, today=utc_now().date(), past_retention=True
    )
    database.commit()

    client = app.test_client()
    client.post(
        "/inbox/sign-in",
        data={"codename": sent.codename, "csrf_token": csrf_token_for(client)},
    )
    page = client.get("/inbox").get_data(as_text=True)

    assert "the period for which the dialogue keeps submissions ended" in page
    assert "You deleted this submission" not in page
