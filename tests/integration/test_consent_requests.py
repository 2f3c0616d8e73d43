"""Consent asked again for a new round (``rounds.consent_requests``), on both databases.

A case is sent to the open session of ``valdoria`` and recorded as raised there; a later
session then opens its consultation, which asks its submitter to confirm again. The answers go
through the inbox pages, without JavaScript (the server seals) and with it (the test seals, as
``inbox.mjs`` does); the desk's reading is played by the recovery key's grant of the desk key,
and the round's rule (``round_consent.persons_in_round``) then gives what was confirmed.
"""

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.db import app_database
from portal.models import (
    AuditEvent,
    CaseOutcome,
    ConsentChange,
    ConsentRequest,
    DeskKey,
    DeskKeyGrant,
    Dialogue,
    DialogueSession,
    HowRaised,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.desks.keys import open_desk_key_grant
from portal.services.dialogues.dialogue_sessions import (
    close_consultation,
    has_been_held,
    open_consultation,
)
from portal.services.rounds.consent_requests import (
    RoundAlreadyHeldError,
    ask_again,
)
from portal.services.rounds.round_consent import persons_in_round
from portal.services.submissions.inbox import open_checked
from portal.services.submissions.payload import ConsentLevel, decode_payload
from portal.web.instance import web_instance
from tests.conftest import INBOX_DIALOGUE_SLUG, DemoInstance, PlainInstance, SentSubmission
from tests.integration import test_inbox_sealed as sealed
from tests.integration.test_inbox_pages import CASE_FORM, Send, _csrf_token, _signed_in
from tests.staff_sessions_support import demo_credentials, sign_in_client

REPRISAL_FORM = {
    "what_happened": "Questioned for three days after meeting the EU delegation.",
    "when": "May 2026",
    "link_to_engagement": "spoke at the civil society seminar",
    "urgency": "urgent",
    "persons": [
        {
            "name": "Chen Organiser",
            "consent": {"level": "raise_by_name", "given_by": "person", "risks_explained": True},
        }
    ],
}
ASKED = "The EU asks you to confirm how far it may go with your case in the session of"


@dataclass
class Rounds:
    """The app of an instance whose ``valdoria`` has an open consultation, its database, and
    the instance's recovery key (which plays the desk's reading)."""

    app: Flask
    recovery_key: str

    def database(self) -> Session:
        return app_database(self.app).session()

    def send(self, send: Send, kind: SubmissionKind = SubmissionKind.INDIVIDUAL_CASE) -> Any:
        form = REPRISAL_FORM if kind is SubmissionKind.REPRISAL_REPORT else CASE_FORM
        return send(web_instance(self.app).settings, kind, form)

    def raise_in_open_session(self, *sent: SentSubmission) -> None:
        """Record each submission as raised during an item of the session open now."""
        with self.database() as session:
            staff = _recorder(session)
            open_session = _open_session(session)
            for one in sent:
                session.add(
                    CaseOutcome(
                        session_id=open_session.id,
                        submission_id=_submission(session, one.public_id).id,
                        how_raised=HowRaised.DURING_ITEM,
                        recorded_by_id=staff.id,
                    )
                )
            session.commit()

    def next_round(self) -> int:
        """A new session after every other, whose consultation opens (asking again) and then
        closes, so that new submissions still go to the session open now."""
        now = utc_now()
        with self.database() as session:
            dialogue = _dialogue(session)
            latest = max(item.date for item in dialogue.sessions)
            new = DialogueSession(
                dialogue_id=dialogue.id,
                date=latest + dt.timedelta(days=100),
                place=SessionPlace.VIDEO,
                state=SessionState.PLANNED,
            )
            session.add(new)
            session.flush()
            session.refresh(dialogue)
            open_consultation(session, new, now=now, closes_at=now + dt.timedelta(days=10))
            close_consultation(session, new)
            session.commit()
            return new.id

    def case_asked_again(self, send: Send) -> tuple[SentSubmission, int]:
        """A case raised in the session open now, and the next round, which asks again."""
        sent = self.send(send)
        self.raise_in_open_session(sent)
        return sent, self.next_round()

    def request(self, public_id: str, round_id: int) -> ConsentRequest | None:
        with self.database() as session:
            return session.scalars(
                select(ConsentRequest)
                .join(Submission)
                .where(Submission.public_id == public_id, ConsentRequest.session_id == round_id)
            ).first()

    def changes(self) -> int:
        with self.database() as session:
            return session.scalar(select(func.count()).select_from(ConsentChange))

    def levels(self, public_id: str, round_id: int) -> list[ConsentLevel | None]:
        """What the round's rule gives each person, as the desk reads the submission."""
        recovery = crypto.import_recovery_key(self.recovery_key)
        with self.database() as session:
            submission = _submission(session, public_id)

            def opener(envelope: bytes, desk_key: DeskKey, context: str) -> dict[str, Any]:
                grant = session.scalars(
                    select(DeskKeyGrant).where(
                        DeskKeyGrant.desk_key_id == desk_key.id,
                        DeskKeyGrant.recovery_key_id.is_not(None),
                    )
                ).one()
                key = open_desk_key_grant(grant, recovery)
                return decode_payload(crypto.open_envelope(envelope, key, context))

            opened = open_checked(submission, opener)
            round_session = session.get(DialogueSession, round_id)
            assert round_session is not None
            persons = persons_in_round(session, opened, submission, round_session)
            return [person.level for person in persons]


@pytest.fixture
def rounds(inbox_app: Flask, plain_instance: PlainInstance) -> Iterator[Rounds]:
    yield Rounds(inbox_app, plain_instance.recovery_key)


def _dialogue(session: Session) -> Dialogue:
    return session.scalars(select(Dialogue).where(Dialogue.slug == INBOX_DIALOGUE_SLUG)).one()


def _open_session(session: Session) -> DialogueSession:
    return next(
        item for item in _dialogue(session).sessions if item.state is SessionState.CONSULTATION_OPEN
    )


def _submission(session: Session, public_id: str) -> Submission:
    return session.scalars(select(Submission).where(Submission.public_id == public_id)).one()


def _recorder(session: Session) -> StaffUser:
    """The co-chair who records outcomes (a row only: nobody signs in with it)."""
    found = session.scalars(select(StaffUser).where(StaffUser.email == "recorder@test.invalid"))
    return found.first() or _new_recorder(session)


def _new_recorder(session: Session) -> StaffUser:
    user = StaffUser(
        email="recorder@test.invalid",
        display_name="Recorder",
        role=StaffRole.CO_CHAIR,
        login_hash="x",
        personal_public_key=crypto.public_key_bytes(crypto.generate_private_key()),
        personal_private_key_wrapped=b"x",
        totp_secret_sealed=b"x",
        must_change_passphrase=False,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def _consent_post(
    client: Any, public_id: str, person: int, level: str, round_id: object
) -> tuple[int, str]:
    page = f"/inbox/{public_id}"
    data = {
        "person": str(person),
        "level": level,
        "given_by": "family",
        "risks_explained": "yes",
        "round": str(round_id),
        "csrf_token": _csrf_token(client, page),
    }
    response = client.post(f"{page}/consent", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_opening_a_round_asks_only_cases_taken_up_before_and_once(
    rounds: Rounds, send_under_new_codename: Send
) -> None:
    raised = rounds.send(send_under_new_codename)
    reprisal = rounds.send(send_under_new_codename, SubmissionKind.REPRISAL_REPORT)
    not_raised = rounds.send(send_under_new_codename)
    declined = rounds.send(send_under_new_codename)
    rounds.raise_in_open_session(raised, reprisal, declined)
    with rounds.database() as session:
        _submission(session, declined.public_id).state = SubmissionState.DECLINED
        session.commit()

    round_id = rounds.next_round()

    today = utc_now().date()
    for asked in (raised, reprisal):
        request = rounds.request(asked.public_id, round_id)
        assert request is not None
        assert (request.requested_on, request.answered_on) == (today, None)
    assert rounds.request(not_raised.public_id, round_id) is None
    assert rounds.request(declined.public_id, round_id) is None
    with rounds.database() as session:
        made = session.scalar(select(func.count()).where(ConsentRequest.session_id == round_id))
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "consent_request.created",
                AuditEvent.object_id == str(round_id),
            )
        ).one()
        assert event.details == {"count": made}
        # Asking again adds nothing.
        assert ask_again(session, session.get(DialogueSession, round_id), today=today) == 0
        assert (
            session.scalar(select(func.count()).where(ConsentRequest.session_id == round_id))
            == made
        )


def test_a_confirmation_without_javascript_answers_the_request(
    rounds: Rounds, send_under_new_codename: Send
) -> None:
    sent, round_id = rounds.case_asked_again(send_under_new_codename)
    assert rounds.levels(sent.public_id, round_id) == [ConsentLevel.INTERNAL_ONLY] * 2

    client = _signed_in(rounds.app, sent.codename)
    index = client.get("/inbox").get_data(as_text=True)
    assert ASKED in index
    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert page.count(f'name="round" value="{round_id}"') == 2
    assert "background only until you confirm" in page

    changes = rounds.changes()
    status, _page = _consent_post(client, sent.public_id, 0, "raise_without_name", round_id)
    assert status == 302
    assert rounds.changes() == changes + 1
    request = rounds.request(sent.public_id, round_id)
    assert request is not None and request.answered_on == utc_now().date()
    assert rounds.levels(sent.public_id, round_id) == [
        ConsentLevel.RAISE_WITHOUT_NAME,
        ConsentLevel.INTERNAL_ONLY,
    ]
    assert ASKED not in client.get("/inbox").get_data(as_text=True)
    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert "Confirmed for the session of" in page
    # The second person may still be confirmed while the round is ahead.
    assert _consent_post(client, sent.public_id, 1, "handover_list", round_id)[0] == 302
    assert rounds.levels(sent.public_id, round_id) == [
        ConsentLevel.RAISE_WITHOUT_NAME,
        ConsentLevel.HANDOVER_LIST,
    ]
    with rounds.database() as session:
        submission = _submission(session, sent.public_id)
        answers = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "consent_request.answered",
                AuditEvent.object_id == str(submission.id),
            )
        ).all()
        assert [event.details for event in answers] == [{"session_id": round_id}] * 2


def test_a_round_not_open_for_this_submission_is_refused_without_javascript(
    rounds: Rounds, send_under_new_codename: Send
) -> None:
    other = rounds.send(send_under_new_codename)
    asked, round_id = rounds.case_asked_again(send_under_new_codename)
    changes = rounds.changes()

    client = _signed_in(rounds.app, other.codename)
    for round_value in (round_id, "not-a-session", 99999999999, 0):
        status, page = _consent_post(client, other.public_id, 0, "handover_list", round_value)
        assert status == 400, round_value
        assert "Nothing was changed" in page
    assert rounds.changes() == changes

    # Once the round is held, its request is closed.
    with rounds.database() as session:
        session.get(DialogueSession, round_id).state = SessionState.HELD
        session.commit()
    client = _signed_in(rounds.app, asked.codename)
    assert ASKED not in client.get("/inbox").get_data(as_text=True)
    assert _consent_post(client, asked.public_id, 0, "handover_list", round_id)[0] == 400
    assert rounds.changes() == changes
    request = rounds.request(asked.public_id, round_id)
    assert request is not None and request.answered_on is None
    with rounds.database() as session, pytest.raises(RoundAlreadyHeldError):
        ask_again(session, session.get(DialogueSession, round_id), today=utc_now().date())


def _sealed_confirmation(
    client: Any, sent: SentSubmission, level: str, sealed_round: int, beside: object
) -> int:
    """Seal a confirmation of person 0 as ``inbox.mjs`` does and post it with ``beside``."""
    page_url = f"/inbox/{sent.public_id}"
    page = client.get(page_url).get_data(as_text=True)
    data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', page))
    recipients = [bytes.fromhex(data["desk-key"]), bytes.fromhex(data["submitter-key"])]
    context = data["consent-change-context"]
    change = {
        "format": "parley-consent-change-v1",
        "person": 0,
        "consent": {"level": level, "given_by": "person", "risks_explained": True},
        "round": sealed_round,
    }
    secrets = crypto.derive_codename_secrets(sent.codename)
    seed = crypto.derive_submission_keys(secrets.key_seed, sent.public_id).signing_seed
    envelope = crypto.seal_envelope(json.dumps(change).encode(), recipients, context)
    body = {
        "envelope": base64.b64encode(envelope).decode(),
        "signature": base64.b64encode(crypto.sign_item(seed, context, envelope)).decode(),
        "round": beside,
    }
    return sealed._post_json(
        client, f"{page_url}/sealed-consent", body, sealed._token(client, page_url)
    )[0]


def test_a_confirmation_sealed_in_the_browser_answers_the_request(
    rounds: Rounds, send_under_new_codename: Send
) -> None:
    other = rounds.send(send_under_new_codename)
    sent, round_id = rounds.case_asked_again(send_under_new_codename)
    client = sealed._signed_in(rounds.app, sent.codename)
    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert f'data-round="{round_id}"' in page and ASKED in page
    changes = rounds.changes()

    for beside in (round_id + 1000, "7", True, 0):
        assert _sealed_confirmation(client, sent, "handover_list", round_id, beside) == 400
    assert rounds.changes() == changes
    other_client = sealed._signed_in(rounds.app, other.codename)
    assert _sealed_confirmation(other_client, other, "handover_list", round_id, round_id) == 400
    assert rounds.changes() == changes

    assert _sealed_confirmation(client, sent, "raise_by_name", round_id, round_id) == 200
    assert rounds.changes() == changes + 1
    request = rounds.request(sent.public_id, round_id)
    assert request is not None and request.answered_on == utc_now().date()
    assert rounds.levels(sent.public_id, round_id) == [
        ConsentLevel.RAISE_BY_NAME,
        ConsentLevel.INTERNAL_ONLY,
    ]


def test_deleting_a_submission_deletes_its_requests(
    rounds: Rounds, send_under_new_codename: Send
) -> None:
    sent, round_id = rounds.case_asked_again(send_under_new_codename)
    assert rounds.request(sent.public_id, round_id) is not None
    with rounds.database() as session:
        submission_id = _submission(session, sent.public_id).id

    client = _signed_in(rounds.app, sent.codename)
    page = f"/inbox/{sent.public_id}"
    response = client.post(
        f"{page}/delete", data={"understood": "yes", "csrf_token": _csrf_token(client, page)}
    )
    assert response.status_code == 302
    with rounds.database() as session:
        left = select(func.count()).where(ConsentRequest.submission_id == submission_id)
        assert session.scalar(left) == 0


def test_the_desk_page_counts_and_asks_again_for_a_session_not_yet_held(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    co_chair = demo_credentials(writable_demo_instance.credentials_file)["co_chair"]
    client = app.test_client()
    sign_in_client(app, client, co_chair.email, co_chair.password)
    with app_database(app).session() as session:
        sessions = _dialogue(session).sessions
        held = next(item.id for item in sessions if item.state is SessionState.FOLLOW_UP)
        ahead = next(item.id for item in sessions if not has_been_held(item))
    page = f"/staff/dialogues/{INBOX_DIALOGUE_SLUG}/sessions/{ahead}/consent-requests"

    shown = client.get(page).get_data(as_text=True)
    assert "Ask contributors of earlier rounds to confirm again" in shown
    token = _csrf_token(client, page)
    response = client.post(page, data={"csrf_token": token})
    assert response.status_code == 302 and response.location == page
    assert "Nobody new to ask" in client.get(page).get_data(as_text=True)

    held_page = page.replace(f"/sessions/{ahead}/", f"/sessions/{held}/")
    assert "can no longer be asked" in client.get(held_page).get_data(as_text=True)
    refused = client.post(held_page, data={"csrf_token": token})
    assert refused.status_code == 400
    assert "too late to ask" in refused.get_data(as_text=True)
    other = page.replace(f"/{INBOX_DIALOGUE_SLUG}/", "/marenland/")
    assert client.get(other).status_code in (403, 404)
