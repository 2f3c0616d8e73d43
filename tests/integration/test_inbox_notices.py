"""Notices in the submitter's inbox and the desk's thread, on both databases: a debrief or
progress notice sent by the service (``notices.send_notice``) is opened and shown on the page
without JavaScript and handed out sealed for the one with it; one that is forged, unsigned or
moved to another submission is shown as unverified and its words are nowhere; new items are
marked, first, and stop being new once a page showed them.
"""

import datetime as dt
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.db import app_database
from portal.models import (
    ActionOwner,
    ActionState,
    CaseOutcome,
    DeskMessage,
    FollowUpAction,
    FollowUpActionLink,
    HowRaised,
    MessagePurpose,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.rounds.staff_markdown import render
from portal.services.staff.reading import StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.notice_format import notice_payload
from portal.services.submissions.notices import send_notice
from portal.timefmt import long_date
from portal.web.instance import web_instance
from tests.conftest import DemoInstance, SentSubmission
from tests.integration.forms_client import (
    case_fields,
    codename_in,
    open_form,
    open_session_url,
    post_form,
)
from tests.integration.test_inbox_sealed import _signed_in as _signed_in_with_javascript
from tests.integration.test_messages_pages import Send, _csrf, _staff_client, _submitter_client
from tests.staff_sessions_support import StaffCredentials, demo_credentials

AGENDA_FORM = {
    "topics": ["freedom_of_expression"],
    "situation": "Journalists detained in the capital.",
    "contact_through_portal": False,
}
DEBRIEF = "Raised **detention of journalists**; the partner promised a review."
DEBRIEF_SHOWN = "Raised <strong>detention of journalists</strong>; the partner promised a review."
PROGRESS = "The review has started."
UNVERIFIED = "This item could not be verified."
SITE_INBOX_LINK = '<a class="site-inbox-link" href="{href}">Your inbox</a>'


@pytest.fixture(scope="module")
def desk(writable_demo_instance: DemoInstance) -> StaffCredentials:
    return demo_credentials(writable_demo_instance.credentials_file)["triage_officer"]


@pytest.fixture
def sent(app: Flask, send_under_new_codename: Send) -> SentSubmission:
    settings = web_instance(app).settings
    return send_under_new_codename(settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM)


def send(
    app: Flask,
    account: StaffCredentials,
    public_id: str,
    purpose: MessagePurpose = MessagePurpose.DEBRIEF,
    text: str = DEBRIEF,
) -> tuple[str, dt.date]:
    """Send a notice on ``public_id`` through the service, as the debrief and roadmap do; its
    public id and the date of the session it names (the submission's own)."""
    with app_database(app).session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.email == account.email)).one()
        key = crypto.unwrap_private_key(user.personal_private_key_wrapped, account.password)
        signed_in = SignedInStaff(user, "test", crypto.private_key_bytes(key))
        submission = _submission(session, public_id)
        session_id = submission.session_id if purpose is MessagePurpose.DEBRIEF else None
        payload = notice_payload(purpose, session_id, None, render(text))
        reader = StaffReader(session, signed_in)
        message = send_notice(session, reader, user, submission, payload, now=utc_now())
        session.commit()
        return message.public_id, submission.session.date


def _submission(session: Session, public_id: str) -> Submission:
    return session.scalars(select(Submission).where(Submission.public_id == public_id)).one()


def _notice_row(app: Flask, public_id: str) -> DeskMessage:
    with app_database(app).session() as session:
        return session.scalars(select(DeskMessage).where(DeskMessage.public_id == public_id)).one()


def _tamper(app: Flask, public_id: str, **columns: object) -> None:
    with app_database(app).session() as session:
        row = session.scalars(select(DeskMessage).where(DeskMessage.public_id == public_id)).one()
        for name, value in columns.items():
            setattr(row, name, value)
        session.commit()


def _page(client: FlaskClient, public_id: str) -> str:
    response = client.get(f"/inbox/{public_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_debrief_is_opened_headed_and_shown_without_javascript(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    _notice_id, session_date = send(app, desk, sent.public_id)
    submitter = _submitter_client(app, sent.codename)

    page = _page(submitter, sent.public_id)
    assert f"Debrief of the session on {_long_date(app, session_date)}" in page
    assert DEBRIEF_SHOWN in page
    assert "a message this page cannot show" not in page


def test_progress_is_headed_as_the_roadmap_and_the_desk_sees_what_it_sent(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    send(app, desk, sent.public_id, MessagePurpose.PROGRESS, PROGRESS)

    page = _page(_submitter_client(app, sent.codename), sent.public_id)
    assert "Progress on the roadmap" in page and f"<p>{PROGRESS}</p>" in page
    staff_page = _staff_client(app, desk).get(f"/staff/submissions/{sent.public_id}")
    staff_text = staff_page.get_data(as_text=True)
    assert "Progress on the roadmap" in staff_text and f"<p>{PROGRESS}</p>" in staff_text


def test_new_items_come_first_marked_and_stop_being_new_once_shown(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    first, _ = send(app, desk, sent.public_id, MessagePurpose.PROGRESS, PROGRESS)
    _tamper(app, first, seen_by_submitter=True)
    second, _ = send(app, desk, sent.public_id)
    submitter = _submitter_client(app, sent.codename)

    index = submitter.get("/inbox").get_data(as_text=True)
    assert "2 messages from the desk" in index and "1 new." in index
    page = _page(submitter, sent.public_id)
    thread = page[page.index('id="message-thread"') :]
    assert thread.count('class="new-marker"') == 1
    assert thread.index("Debrief of the session") < thread.index("Progress on the roadmap")
    assert _notice_row(app, second).seen_by_submitter is True

    again = _page(submitter, sent.public_id)
    assert 'class="new-marker"' not in again
    assert "new." not in submitter.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param({"signature": bytes(64)}, id="forged signature"),
        pytest.param({"signature": None}, id="unsigned"),
        pytest.param("flipped", id="tampered envelope"),
    ],
)
def test_a_forged_or_unsigned_notice_is_shown_unverified_and_never_its_text(
    app: Flask, desk: StaffCredentials, sent: SentSubmission, forgery: object
) -> None:
    notice_id, _ = send(app, desk, sent.public_id)
    if forgery == "flipped":
        envelope = bytearray(_notice_row(app, notice_id).envelope)
        envelope[-1] ^= 1
        _tamper(app, notice_id, envelope=bytes(envelope))
    else:
        _tamper(app, notice_id, **forgery)  # type: ignore[arg-type]

    page = _page(_submitter_client(app, sent.codename), sent.public_id)
    assert UNVERIFIED in page
    assert "detention of journalists" not in page and "Debrief of the session" not in page


def test_a_notice_moved_to_another_submission_is_refused_there(
    app: Flask, desk: StaffCredentials, sent: SentSubmission, send_under_new_codename: Send
) -> None:
    notice_id, _ = send(app, desk, sent.public_id)
    other = send_under_new_codename(
        web_instance(app).settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )
    with app_database(app).session() as session:
        target = _submission(session, other.public_id)
        row = session.scalars(select(DeskMessage).where(DeskMessage.public_id == notice_id)).one()
        row.submission_id = target.id
        session.commit()

    page = _page(_submitter_client(app, other.codename), other.public_id)
    assert "detention of journalists" not in page
    assert UNVERIFIED in page


def test_the_javascript_path_gets_notices_sealed_new_first_and_marks_what_it_showed(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    notice_id, session_date = send(app, desk, sent.public_id)
    client = _signed_in_with_javascript(app, sent.codename)

    sealed = client.get(f"/inbox/{sent.public_id}/sealed").get_json()
    [message] = sealed["messages"]
    assert (message["public_id"], message["new"]) == (notice_id, True)
    assert "detention" not in str(sealed)
    assert session_date.isoformat() in sealed["session_dates"].values()

    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    seen_url = re.search(r'data-seen-url="([^"]+)"', page)
    assert seen_url is not None and "notice_words" not in page and "data-notice-words" in page
    body = {"messages": [notice_id]}
    assert client.post(seen_url.group(1), json=body).status_code == 400  # no CSRF token
    assert _notice_row(app, notice_id).seen_by_submitter is False
    token = {"X-CSRFToken": _csrf(client, f"/inbox/{sent.public_id}")}
    for malformed in ({"messages": "all"}, {"messages": [1]}, {"messages": ["x" * 500]}, []):
        answer = client.post(seen_url.group(1), json=malformed, headers=token)
        assert answer.status_code == 400, malformed
    answer = client.post(seen_url.group(1), json=body, headers=token)
    assert (answer.status_code, answer.get_json()) == (200, {"marked": 1})
    assert client.get(f"/inbox/{sent.public_id}/sealed").get_json()["messages"][0]["new"] is False


def test_seen_marks_nothing_of_another_submission(
    app: Flask, desk: StaffCredentials, sent: SentSubmission, send_under_new_codename: Send
) -> None:
    other = send_under_new_codename(
        web_instance(app).settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )
    others_notice, _ = send(app, desk, other.public_id)
    client = _signed_in_with_javascript(app, sent.codename)
    token = {"X-CSRFToken": _csrf(client, f"/inbox/{sent.public_id}")}

    answer = client.post(
        f"/inbox/{sent.public_id}/seen", json={"messages": [others_notice]}, headers=token
    )
    assert answer.get_json() == {"marked": 0}
    mine_only = client.post(f"/inbox/{other.public_id}/seen", json={"messages": []}, headers=token)
    assert mine_only.status_code == 404
    assert _notice_row(app, others_notice).seen_by_submitter is False
    stranger = app.test_client()
    stranger_token = {"X-CSRFToken": _csrf(stranger, "/inbox/sign-in")}
    url = f"/inbox/{other.public_id}/seen"
    answer = stranger.post(url, json={"messages": [others_notice]}, headers=stranger_token)
    assert answer.status_code == 401
    assert _notice_row(app, others_notice).seen_by_submitter is False


def _long_date(app: Flask, day: dt.date) -> str:
    with app.test_request_context():
        return long_date(day)


def test_every_public_page_links_to_the_inbox_and_staff_pages_do_not(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    with app_database(app).session() as session:
        session_id = _submission(session, sent.public_id).session_id
    visitor = app.test_client()
    for url in ("/", "/dialogues/valdoria", f"/dialogues/valdoria/sessions/{session_id}"):
        page = visitor.get(url)
        assert page.status_code == 200, url
        assert SITE_INBOX_LINK.format(href="/inbox/sign-in") in page.get_data(as_text=True), url
    signed_in = _submitter_client(app, sent.codename).get("/").get_data(as_text=True)
    assert SITE_INBOX_LINK.format(href="/inbox") in signed_in
    staff_home = _staff_client(app, desk).get("/staff/").get_data(as_text=True)
    assert "Desks and sessions" in staff_home and "site-inbox-link" not in staff_home


def test_the_inbox_lists_the_files_attached_by_name_and_true_size(app: Flask) -> None:
    sender = app.test_client()
    form = open_form(sender, open_session_url(app, "individual-case"))
    content = b"minutes of the meeting\n" * 100
    status, html = post_form(
        sender,
        form,
        {**case_fields("files"), "attachments": [(io.BytesIO(content), "minutes.txt")]},
    )
    assert status == 200
    public_id, codename = form.hidden["public_id"], codename_in(html)
    submitter = _submitter_client(app, codename)

    page = _page(submitter, public_id)
    assert f'<span class="written">minutes.txt</span> ({len(content)} bytes)' in page
    sealed = _signed_in_with_javascript(app, codename).get(f"/inbox/{public_id}/sealed")
    [record] = sealed.get_json()["attachments"]
    assert record["signature"] is not None and "minutes" not in str(record)

    with app_database(app).session() as session:
        [attachment] = _submission(session, public_id).attachments
        attachment.signature = bytes(64)
        session.commit()
    forged = _page(submitter, public_id)
    assert "minutes.txt" not in forged
    listed = forged[forged.index('id="attachment-list"') :]
    assert listed.index(UNVERIFIED) < listed.index("</ul>")


def test_a_submission_page_shows_its_path_and_its_history_across_rounds(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    submitter = _submitter_client(app, sent.codename)
    received = _page(submitter, sent.public_id)
    assert '<li class="path-step path-reached" aria-current="step">Received' in received
    assert "You said, we did" not in received

    with app_database(app).session() as session:
        submission = _submission(session, sent.public_id)
        staff = session.scalars(select(StaffUser).where(StaffUser.email == desk.email)).one()
        session.add(
            CaseOutcome(
                session_id=submission.session_id,
                submission=submission,
                how_raised=HowRaised.DURING_ITEM,
                recorded_by=staff,
            )
        )
        action = FollowUpAction(
            dialogue=submission.dialogue,
            title="Review of press detentions",
            owner=ActionOwner.PARTNER,
            due_on=dt.date(2027, 3, 1),
            state=ActionState.IN_PROGRESS,
            created_by=staff,
        )
        action.links.append(FollowUpActionLink(submission=submission))
        session.add(action)
        session.commit()
    _notice_id, session_date = send(app, desk, sent.public_id)

    for client in (submitter, _signed_in_with_javascript(app, sent.codename)):
        page = _page(client, sent.public_id)
        path = _path_of(page)
        assert 'aria-current="step">Follow-up' in path
        assert path.count("path-step path-reached") == 6
        assert f"Session of {_long_date(app, session_date)}: Raised during an agenda item" in path
        assert "Its debrief, with the partner" in path
        assert "Review of press detentions: The partner government, In progress" in path


def test_a_debrief_of_a_case_not_raised_lights_neither_raised_nor_reply(
    app: Flask, desk: StaffCredentials, sent: SentSubmission
) -> None:
    with app_database(app).session() as session:
        submission = _submission(session, sent.public_id)
        staff = session.scalars(select(StaffUser).where(StaffUser.email == desk.email)).one()
        session.add(
            CaseOutcome(
                session_id=submission.session_id,
                submission=submission,
                how_raised=HowRaised.NOT_RAISED,
                recorded_by=staff,
            )
        )
        submission.state = SubmissionState.DEBRIEFED
        session.commit()
    send(app, desk, sent.public_id)

    path = _path_of(_page(_submitter_client(app, sent.codename), sent.public_id))
    assert 'aria-current="step">On the agenda' in path
    assert path.count("path-step path-reached") == 3


def test_a_declined_submission_shows_where_its_path_ended(app: Flask, sent: SentSubmission) -> None:
    with app_database(app).session() as session:
        _submission(session, sent.public_id).state = SubmissionState.DECLINED
        session.commit()

    page = _page(_submitter_client(app, sent.codename), sent.public_id)
    path = _path_of(page)
    assert path.count("path-step path-reached") == 1
    assert "The path ended here: Declined." in path


def _path_of(page: str) -> str:
    """The path section of a submission page."""
    start = page.index('id="path"')
    return page[start : page.index("</section>", start)]
