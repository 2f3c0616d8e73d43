"""A message from the desk read and answered in the JavaScript inbox, with envelopes only on the
wire.

The desk's message is sent through the service to the served demo instance, as the triage
officer of ``valdoria``; in Chromium the submitter signs in with the codename, sees on the inbox
that the desk wrote, reads the message (opened in the page) and answers it (sealed in the page).
The desk then reads the answer with its own key. Every request and inbox answer is recorded: the
canary texts of both messages never cross the network in the clear.
"""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

import crypto
from portal.db import Database
from portal.models import StaffUser, Submission, SubmissionKind, utc_now
from portal.services.staff.reading import StaffReader, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import open_checked
from portal.services.submissions.messages import send_desk_message, thread_for_desk
from tests.browser.test_inbox_js import Traffic, _sign_in
from tests.conftest import DemoInstance, SentSubmission
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

CANARY = "CANARY-7c41aa"
AGENDA_FORM = {
    "topics": ["freedom_of_expression"],
    "situation": f"{CANARY} journalists detained.",
    "contact_through_portal": True,
}
ASKED = f"{CANARY} which prison, if it is safe to say?"
ANSWERED = f"{CANARY} the northern one, since March."


def _as_triage_officer(instance: DemoInstance, public_id: str, act: Callable[..., Any]) -> Any:
    """Run ``act(session, signed_in, submission)`` as the demo triage officer, and commit."""
    account = demo_credentials(instance.credentials_file)["triage_officer"]
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            user = session.scalars(select(StaffUser).where(StaffUser.email == account.email)).one()
            key = crypto.unwrap_private_key(user.personal_private_key_wrapped, account.password)
            signed_in = SignedInStaff(user, "test", crypto.private_key_bytes(key))
            submission = session.scalars(
                select(Submission).where(Submission.public_id == public_id)
            ).one()
            result = act(session, signed_in, submission)
            session.commit()
            return result
    finally:
        database.dispose()


def _send(session: Any, signed_in: SignedInStaff, submission: Submission) -> None:
    now = utc_now()
    opened = open_submission_for_staff(session, signed_in, submission, now=now)
    send_desk_message(session, signed_in, opened, {"text": ASKED}, now=now)


def _thread(session: Any, signed_in: SignedInStaff, submission: Submission) -> list[str | None]:
    reader = StaffReader(session, signed_in)
    anchors = open_checked(submission, reader.open_json).anchors
    return [entry.text for entry in thread_for_desk(session, submission, reader, anchors)]


def test_a_desk_message_is_read_and_answered_in_the_page(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )
    _as_triage_officer(portal_server_instance, sent.public_id, _send)

    traffic = Traffic(js_page)
    _sign_in(js_page, portal_server, sent.codename)
    assert "1 message from the desk" in js_page.inner_text("#messages")
    js_page.click(f"#messages a[href='/inbox/{sent.public_id}#messages']")
    thread = js_page.locator("#message-thread")
    thread.get_by_text(ASKED).wait_for()
    assert "From the desk" in thread.inner_text()

    js_page.fill("#message-text", ANSWERED)
    js_page.click("text=Send to the desk")
    thread.get_by_text(ANSWERED).wait_for()
    js_page.reload()
    thread.get_by_text(ANSWERED).wait_for()
    assert js_page.locator("#message-thread li").count() == 2
    assert "You wrote" in js_page.locator("#message-thread li").nth(1).inner_text()

    assert _as_triage_officer(portal_server_instance, sent.public_id, _thread) == [ASKED, ANSWERED]

    urls = [url for _method, url, _headers, _body in traffic.requests]
    assert any(url.endswith(f"/inbox/{sent.public_id}/sealed-message") for url in urls)
    assert not any(
        method == "POST" and url.endswith(f"/inbox/{sent.public_id}/messages")
        for method, url, _headers, _body in traffic.requests
    )
    for _method, url, headers, body in traffic.requests:
        for text in (url, headers, body):
            assert CANARY.lower() not in text.lower(), url
            assert sent.codename.lower() not in text.lower(), url
    assert any(url.endswith("/sealed") for url, _body in traffic.inbox_answers)
    for url, body in traffic.inbox_answers:
        assert CANARY.encode() not in body, url
