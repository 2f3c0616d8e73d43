"""The message thread through the pages, on both databases: the desk sends from the staff side,
the submitter reads and answers without JavaScript and with it (the browser's part played by
``crypto``, as in ``test_inbox_sealed``).
"""

import base64
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import (
    AuditEvent,
    DeskMessage,
    MessageAuthor,
    StaffUser,
    Submission,
    SubmissionKind,
)
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_desk_message_context,
)
from portal.services.desks.keys import current_desk_key
from portal.services.staff.reading import StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import open_checked
from portal.services.submissions.messages import MESSAGE_FORMAT, thread_for_desk
from portal.services.submissions.messages import reply_context as context_of_reply
from portal.services.submissions.payload import encode_payload
from portal.web.instance import web_instance
from tests.conftest import DemoInstance, SentSubmission, csrf_token_for
from tests.integration.test_inbox_sealed import _login, _signed_in
from tests.staff_sessions_support import StaffCredentials, demo_credentials, sign_in_client

AGENDA_FORM = {
    "topics": ["freedom_of_expression"],
    "situation": "Journalists detained in the capital.",
    "contact_through_portal": True,
}
ASKED = "Could you tell us which prison, if it is safe to do so?"
ANSWERED = "The northern one, since March."
ANSWERED_IN_BROWSER = "And a lawyer visited on Friday."
CONTACT_REFUSED = "did not agree to be contacted through the portal"

Send = Callable[..., SentSubmission]


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Iterator[Flask]:
    yield create_app(writable_demo_instance.settings)


@pytest.fixture(scope="module")
def staff(writable_demo_instance: DemoInstance) -> dict[str, StaffCredentials]:
    return demo_credentials(writable_demo_instance.credentials_file)


def _send(app: Flask, send_under_new_codename: Send, form: dict) -> SentSubmission:
    settings = web_instance(app).settings
    return send_under_new_codename(settings, SubmissionKind.AGENDA_INPUT, form)


def _staff_client(app: Flask, account: StaffCredentials) -> FlaskClient:
    client = app.test_client()
    sign_in_client(app, client, account.email, account.password)
    return client


def _desk_post(client: FlaskClient, public_id: str, text: str) -> tuple[int, str, str]:
    response = client.post(
        f"/staff/submissions/{public_id}/messages",
        data={"text": text, "csrf_token": csrf_token_for(client)},
    )
    return response.status_code, response.location or "", response.get_data(as_text=True)


def _csrf(client: FlaskClient, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match is not None, url
    return match.group(1)


def _submitter_client(app: Flask, codename: str) -> FlaskClient:
    client = app.test_client()
    token = _csrf(client, "/inbox/sign-in")
    response = client.post("/inbox/sign-in", data={"codename": codename, "csrf_token": token})
    assert response.status_code == 302
    return client


def _messages(app: Flask, public_id: str) -> list[DeskMessage]:
    with app_database(app).session() as session:
        submission = session.scalars(select(Submission).where(Submission.public_id == public_id))
        return list(submission.one().messages)


def _desk_thread(app: Flask, account: StaffCredentials, public_id: str) -> list[str | None]:
    with app_database(app).session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.email == account.email)).one()
        key = crypto.unwrap_private_key(user.personal_private_key_wrapped, account.password)
        signed_in = SignedInStaff(user, "test", crypto.private_key_bytes(key))
        submission = session.scalars(
            select(Submission).where(Submission.public_id == public_id)
        ).one()
        reader = StaffReader(session, signed_in)
        anchors = open_checked(submission, reader.open_json).anchors
        return [entry.text for entry in thread_for_desk(session, submission, reader, anchors)]


def test_the_desk_writes_and_the_submitter_answers_without_javascript(
    app: Flask, staff: dict[str, StaffCredentials], send_under_new_codename: Send
) -> None:
    sent = _send(app, send_under_new_codename, AGENDA_FORM)
    desk = _staff_client(app, staff["triage_officer"])
    status, location, _body = _desk_post(desk, sent.public_id, ASKED)
    assert status == 302 and location.endswith(f"/staff/submissions/{sent.public_id}#messages")
    [message] = _messages(app, sent.public_id)
    assert message.written_by is MessageAuthor.DESK and ASKED.encode() not in message.envelope

    submitter = _submitter_client(app, sent.codename)
    index = submitter.get("/inbox").get_data(as_text=True)
    assert "1 message from the desk" in index
    assert f'/inbox/{sent.public_id}#messages"' in index
    page = submitter.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert ASKED.replace("'", "&#39;") in page and "From the desk" in page

    token = _csrf(submitter, f"/inbox/{sent.public_id}")
    empty = submitter.post(
        f"/inbox/{sent.public_id}/messages", data={"text": " ", "csrf_token": token}
    )
    assert empty.status_code == 400 and "Write your message" in empty.get_data(as_text=True)
    answered = submitter.post(
        f"/inbox/{sent.public_id}/messages", data={"text": ANSWERED, "csrf_token": token}
    )
    assert answered.status_code == 302
    assert answered.location == f"/inbox/{sent.public_id}#messages"
    page = submitter.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert "You wrote" in page and ANSWERED in page

    assert _desk_thread(app, staff["co_chair"], sent.public_id) == [ASKED, ANSWERED]
    staff_page = desk.get(f"/staff/submissions/{sent.public_id}").get_data(as_text=True)
    assert 'id="message-thread"' in staff_page, "the staff page does not include the thread"
    assert ANSWERED in staff_page and 'id="message-form"' in staff_page


def test_the_desk_cannot_write_to_who_did_not_agree_and_roles_are_checked(
    app: Flask, staff: dict[str, StaffCredentials], send_under_new_codename: Send
) -> None:
    sent = _send(app, send_under_new_codename, {**AGENDA_FORM, "contact_through_portal": False})
    desk = _staff_client(app, staff["co_chair"])
    status, _location, body = _desk_post(desk, sent.public_id, ASKED)
    assert status == 400 and CONTACT_REFUSED in body
    for role in ("administrator", "observer"):
        status, _location, _body = _desk_post(
            _staff_client(app, staff[role]), sent.public_id, ASKED
        )
        assert status == 403, role
    assert _desk_post(desk, "x" * 22, ASKED)[0] == 404
    assert _messages(app, sent.public_id) == []

    agreed = _send(app, send_under_new_codename, AGENDA_FORM)
    status, _location, body = _desk_post(desk, agreed.public_id, "   ")
    assert status == 400 and "Write the message" in body
    assert _messages(app, agreed.public_id) == []

    # The submitter who did not agree may still write to the desk.
    submitter = _submitter_client(app, sent.codename)
    page = submitter.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert 'id="message-form"' in page
    token = _csrf(submitter, f"/inbox/{sent.public_id}")
    answered = submitter.post(
        f"/inbox/{sent.public_id}/messages", data={"text": ANSWERED, "csrf_token": token}
    )
    assert answered.status_code == 302
    assert _desk_thread(app, staff["co_chair"], sent.public_id) == [ANSWERED]
    staff_page = desk.get(f"/staff/submissions/{sent.public_id}").get_data(as_text=True)
    assert CONTACT_REFUSED in staff_page and 'id="message-form"' not in staff_page


def test_with_javascript_only_envelopes_move(
    app: Flask, staff: dict[str, StaffCredentials], send_under_new_codename: Send
) -> None:
    sent = _send(app, send_under_new_codename, AGENDA_FORM)
    desk = _staff_client(app, staff["triage_officer"])
    assert _desk_post(desk, sent.public_id, ASKED)[0] == 302

    secrets = crypto.derive_codename_secrets(sent.codename)
    client = app.test_client()
    assert _login(client, secrets.login_secret, crypto.owner_tag_key(secrets.key_seed))[0] == 200
    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert ASKED not in page
    reply_id = re.search(r'data-reply-id="([^"]+)"', page)[1]
    reply_context = re.search(r'data-reply-context="([^"]+)"', page)[1].replace("&#34;", '"')
    desk_key = bytes.fromhex(re.search(r'data-desk-key="([^"]+)"', page)[1])
    own_key = crypto.derive_submission_keys(secrets.key_seed, sent.public_id)
    assert re.search(r'data-submitter-key="([^"]+)"', page)[1] == own_key.public_key_bytes().hex()
    reply_url = re.search(r'data-reply-url="([^"]+)"', page)[1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]

    sealed = client.get(f"/inbox/{sent.public_id}/sealed").get_json()
    [message] = sealed["messages"]
    assert message["written_by"] == "desk" and message["sent_on"]
    opened = crypto.open_envelope(
        base64.b64decode(message["envelope"]), own_key.private_key(), message["context"]
    )
    assert encode_payload({"format": MESSAGE_FORMAT, "text": ASKED}) == opened

    with app_database(app).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.public_id)
        ).one()
        assert reply_context == context_of_reply(submission, reply_id)
        recipients = (desk_key, own_key.public_key_bytes())
    plaintext = encode_payload({"format": MESSAGE_FORMAT, "text": ANSWERED_IN_BROWSER})
    assert message["signature"] is not None

    def post(public_id: str, envelope: bytes, context: str = reply_context) -> int:
        signature = crypto.sign_item(own_key.signing_seed, context, envelope)
        body = {
            "public_id": public_id,
            "envelope": base64.b64encode(envelope).decode(),
            "signature": base64.b64encode(signature).decode(),
        }
        return client.post(reply_url, json=body, headers={"X-CSRFToken": token}).status_code

    wrong_context = crypto.seal_envelope(plaintext, recipients, reply_context + "x")
    assert post(reply_id, wrong_context, reply_context + "x") == 400
    envelope = crypto.seal_envelope(plaintext, recipients, reply_context)
    assert post("x" * 22, envelope) == 400  # sealed for another id than the one posted
    assert post(reply_id, envelope) == 200
    assert post(reply_id, envelope) == 400  # the same reply twice
    # A session whose key the browser holds may not post plaintext.
    plain = client.post(
        f"/inbox/{sent.public_id}/messages", data={"text": ANSWERED, "csrf_token": token}
    )
    assert plain.status_code == 400
    assert _desk_thread(app, staff["triage_officer"], sent.public_id) == [
        ASKED,
        ANSWERED_IN_BROWSER,
    ]


FORGED = "Please send us your full name and address."


def _forge_desk_message(app: Flask, public_id: str) -> None:
    """What someone who can write rows does: seal a "desk" message to the stored public keys and
    sign it with a key of their own, written beside the desk key (a swapped desk signing key)."""
    writer_seed = crypto.private_key_bytes(crypto.generate_private_key())  # 32 random bytes
    with app_database(app).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == public_id)
        ).one()
        desk_key = current_desk_key(session, submission.dialogue)
        desk_key.signing_public_key = crypto.signing_public_key(writer_seed)
        message_id = new_public_id()
        context = signed_desk_message_context(
            SubmissionAddress.of(submission), message_id, 1, Direction.TO_SUBMITTER
        )
        envelope = crypto.seal_envelope(
            encode_payload({"format": MESSAGE_FORMAT, "text": FORGED}),
            recipient_keys(desk_key, submission.submitter_public_key),
            context,
        )
        submission.messages.append(
            DeskMessage(
                public_id=message_id,
                written_by=MessageAuthor.DESK,
                desk_key_id=desk_key.id,
                sent_on=submission.received_on,
                envelope=envelope,
                position=1,
                signature=crypto.sign_item(writer_seed, context, envelope),
            )
        )
        session.commit()


def _unverified_events(app: Flask) -> list[dict]:
    with app_database(app).session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.unverified"))
        return [event.details for event in events]


def test_a_forged_desk_message_is_refused_on_both_sides_without_javascript(
    app: Flask, staff: dict[str, StaffCredentials], send_under_new_codename: Send
) -> None:
    sent = _send(app, send_under_new_codename, AGENDA_FORM)
    _forge_desk_message(app, sent.public_id)
    before = len(_unverified_events(app))

    page = _submitter_client(app, sent.codename).get(f"/inbox/{sent.public_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This item could not be verified." in text and FORGED not in text
    desk = _staff_client(app, staff["triage_officer"])
    staff_page = desk.get(f"/staff/submissions/{sent.public_id}").get_data(as_text=True)
    assert "This item could not be verified." in staff_page and FORGED not in staff_page
    # With JavaScript the tab checks it; the server records what it can check without opening.
    browser = _signed_in(app, sent.codename)
    assert browser.get(f"/inbox/{sent.public_id}/sealed").status_code == 200
    assert _unverified_events(app)[before:] == [{"item": "message"}] * 3
