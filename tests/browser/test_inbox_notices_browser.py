"""Notices read in the JavaScript inbox: a debrief the desk sent through the service is opened,
checked and shown in the page, headed by its session, and marked new until the page has shown
it; a forged one and an unsigned one are shown as unverified with none of their words; HTML
that reached the page in a validly signed notice is rebuilt through the allow-list, so nothing
of a script, a handler or a link survives.

The notices are sent to the served demo instance as its triage officer (``_as_triage_officer``
of ``test_messages_js``); the forged ones are then tampered with in the database, as a writer of
rows could.
"""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from portal.db import Database
from portal.models import DeskMessage, MessagePurpose, SubmissionKind, utc_now
from portal.services.rounds.staff_markdown import render
from portal.services.staff.reading import StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.notice_format import NOTICE_FORMAT, notice_payload
from portal.services.submissions.notices import send_notice
from tests.browser.journeys import fill_individual_case, open_session_form, send_and_keep_codename
from tests.browser.test_inbox_js import _sign_in
from tests.browser.test_messages_js import _as_triage_officer
from tests.conftest import DemoInstance, SentSubmission

pytestmark = pytest.mark.browser

AGENDA_FORM = {"topics": ["freedom_of_expression"], "situation": "Journalists detained."}
DEBRIEF = "The partner **promised a review** of the detentions."
FORGED = "Forged words that must never show."
UNSIGNED = "Unsigned words that must never show."
HOSTILE_HTML = (
    "<p onclick=\"window.pwned = 'click'\">Kept <em>emphasis</em></p>"
    "<script>window.pwned = 'script'</script>"
    "<img src=x onerror=\"window.pwned = 'image'\">"
    "<a href=\"javascript:window.pwned = 'link'\">link text</a>"
    "<style>body { display: none }</style><h4 style='color:red'>A heading</h4>"
)
UNVERIFIED = "This item could not be verified."


@pytest.fixture
def sent(
    portal_server_instance: DemoInstance, send_under_new_codename: Callable[..., SentSubmission]
) -> SentSubmission:
    """An agenda input sent to the served instance under a new codename."""
    return send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )


def _sender(text: str | None, html: str | None = None) -> Callable[..., str]:
    """An act for ``_as_triage_officer`` that sends one debrief notice and gives its public id:
    ``text`` as Markdown through ``notice_payload``, or ``html`` sealed exactly as given."""

    def act(session: Any, signed_in: SignedInStaff, submission: Any) -> str:
        if html is None:
            payload = notice_payload(
                MessagePurpose.DEBRIEF, submission.session_id, None, render(text or "")
            )
        else:  # what only a tampered writer would seal: the page must clean it itself
            payload = {
                "format": NOTICE_FORMAT,
                "purpose": "debrief",
                "session": submission.session_id,
                "action": None,
                "html": html,
            }
        reader = StaffReader(session, signed_in)
        sent = send_notice(session, reader, signed_in.user, submission, payload, now=utc_now())
        return sent.public_id

    return act


def _tamper(instance: DemoInstance, public_id: str, signature: bytes | None) -> None:
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            row = session.scalars(
                select(DeskMessage).where(DeskMessage.public_id == public_id)
            ).one()
            row.signature = signature
            session.commit()
    finally:
        database.dispose()


def _three_notices(instance: DemoInstance, sent: SentSubmission) -> None:
    """A debrief on ``sent``, then a forged one (signature replaced) and an unsigned one."""
    send = lambda act: _as_triage_officer(instance, sent.public_id, act)  # noqa: E731
    send(_sender(DEBRIEF))
    forged = send(_sender(FORGED))
    unsigned = send(_sender(UNSIGNED))
    _tamper(instance, forged, bytes(64))
    _tamper(instance, unsigned, None)


def _shown_thread(page: Any, public_id: str, *, javascript: bool) -> Any:
    """From the inbox, which counts three new items, to the submission's thread, once shown."""
    assert "3 new." in page.inner_text("#messages")
    page.click(f"#messages a[href='/inbox/{public_id}#messages']")
    thread = page.locator("#message-thread")
    thread.locator(".notice-heading").first.wait_for()
    if javascript:
        page.locator("#sealed-status").wait_for(state="hidden")
    return thread


def _assert_one_debrief_and_two_refused(thread: Any) -> None:
    debrief = thread.locator("li", has=thread.page.locator(".notice-heading"))
    assert debrief.count() == 1
    assert debrief.locator(".notice-heading").inner_text().startswith("Debrief of the session on")
    assert debrief.locator(".notice-text strong").inner_text() == "promised a review"
    assert thread.locator(".unverified-item").count() == 2
    text = thread.inner_text()
    assert FORGED not in text and UNSIGNED not in text
    assert thread.locator(".new-marker").count() == 3


def test_a_debrief_is_read_in_the_page_and_forged_or_unsigned_ones_are_refused(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    sent: SentSubmission,
) -> None:
    _three_notices(portal_server_instance, sent)

    _sign_in(js_page, portal_server, sent.codename)
    thread = _shown_thread(js_page, sent.public_id, javascript=True)
    _assert_one_debrief_and_two_refused(thread)

    js_page.reload()
    thread.locator(".notice-heading").first.wait_for()
    js_page.locator("#sealed-status").wait_for(state="hidden")
    assert thread.locator(".new-marker").count() == 0
    js_page.goto(portal_server + "/inbox")
    assert "new." not in js_page.inner_text("#messages")


def test_the_same_without_javascript(
    page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    sent: SentSubmission,
) -> None:
    _three_notices(portal_server_instance, sent)

    page.goto(portal_server + "/")
    page.get_by_role("link", name="Your inbox").click()
    page.fill("#codename", sent.codename)
    page.click("text=Open my inbox")
    thread = _shown_thread(page, sent.public_id, javascript=False)
    _assert_one_debrief_and_two_refused(thread)

    page.reload()
    assert thread.locator(".new-marker").count() == 0


def test_notice_html_is_rebuilt_through_the_allow_list_in_the_page(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    sent: SentSubmission,
) -> None:
    _as_triage_officer(portal_server_instance, sent.public_id, _sender(None, HOSTILE_HTML))

    _sign_in(js_page, portal_server, sent.codename)
    js_page.goto(f"{portal_server}/inbox/{sent.public_id}")
    shown = js_page.locator("#message-thread .notice-text")
    shown.wait_for()
    shown.locator("p").click()

    assert shown.evaluate("(node) => node.innerHTML") == (
        "<p>Kept <em>emphasis</em></p>link text<h4>A heading</h4>"
    )
    assert js_page.evaluate("() => window.pwned") is None
    survivors = "#message-thread [onclick], #message-thread a, #message-thread img"
    assert js_page.locator(survivors).count() == 0


def test_the_end_of_the_javascript_form_leads_to_the_inbox_which_lists_the_files(
    js_page: Any, portal_server: str
) -> None:
    notes = b"Notes on the hearing.\n" * 50
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Files")
    js_page.get_by_label("Files (optional)").set_input_files(
        [{"name": "notes.txt", "mimeType": "text/plain", "buffer": notes}]
    )
    codename = send_and_keep_codename(js_page)

    js_page.get_by_role("link", name="Sign in to your inbox").click()
    js_page.wait_for_url(portal_server + "/inbox/sign-in")
    _sign_in(js_page, portal_server, codename)
    js_page.goto(f"{portal_server}/inbox/{public_id}")
    listed = js_page.locator("#attachment-list li")
    listed.first.wait_for()
    assert listed.all_inner_texts() == [f"notes.txt ({len(notes)} bytes)"]
