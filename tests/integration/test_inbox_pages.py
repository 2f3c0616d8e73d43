"""The submitter's inbox without JavaScript, through the Flask test client on both databases.

Submissions are sent through the intake service under a new codename (``send_under_new_codename``);
everything after that goes through the pages as a browser without JavaScript would use them.
"""

import base64
import datetime as dt
import re
import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from portal.blueprints.quick_exit import QUICK_EXIT_URL
from portal.db import app_database
from portal.models import (
    ConsentChange,
    Submission,
    SubmissionKind,
    SubmitterSession,
    utc_now,
)
from portal.services.leaky_bucket import bucket_level, locked_bucket
from portal.services.submissions.inbox_web_sessions import SessionLifetime
from portal.services.submissions.submitters import (
    GLOBAL_BUCKET,
    WORK_BUCKET,
    DerivationBudget,
    SignInLimit,
)
from portal.web.instance import web_instance
from tests.conftest import SentSubmission, seal_as_before_per_submission_keys

CASE_FORM = {
    "topics": ["human_rights_defenders", "detention_and_fair_trial"],
    "contact_through_portal": True,
    "women_hrd": True,
    "persons": [
        {
            "name": "Amina Defender",
            "consent": {"level": "raise_by_name", "given_by": "family", "risks_explained": True},
        },
        {
            "name": "Boris Witness",
            "consent": {"level": "handover_list", "given_by": "person", "risks_explained": True},
        },
    ],
    "place": "Northern prison",
    "situation": "Detained since March after speaking to the UN rapporteur.",
    "dates": "March 2026 onwards",
    "relation_to_person": "colleague",
    "earlier_referrals": "Working Group on Arbitrary Detention, 2025",
}
REFUSED = "This codename does not open an inbox"
ENDED = "Your inbox session has ended"

Send = Callable[..., SentSubmission]


@pytest.fixture
def sent(inbox_app: Flask, send_under_new_codename: Send) -> SentSubmission:
    """An individual case, sent under a codename of its own."""
    return send_under_new_codename(
        web_instance(inbox_app).settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )


def _csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, url
    return match.group(1)


def _signed_in(app: Flask, codename: str) -> FlaskClient:
    client = app.test_client()
    token = _csrf_token(client, "/inbox/sign-in")
    response = client.post("/inbox/sign-in", data={"codename": codename, "csrf_token": token})
    assert response.status_code == 302 and response.location == "/inbox"
    return client


def _post(client: FlaskClient, page: str, action: str, data: dict) -> tuple[int, str]:
    response = client.post(action, data={**data, "csrf_token": _csrf_token(client, page)})
    return response.status_code, response.get_data(as_text=True)


def _count(app: Flask, model: type) -> int:
    with app_database(app).session() as session:
        return session.scalar(select(func.count()).select_from(model))


def _cookie_session(app: Flask, client: FlaskClient) -> dict:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def _cookie_values(value: object) -> list[object]:
    """Every value a session cookie holds, however deep, without the names of its fields."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _cookie_values(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _cookie_values(item)]
    return [value]


def test_signing_in_keeps_only_a_ticket_in_the_cookie(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    rows = _count(inbox_app, SubmitterSession)
    client = _signed_in(inbox_app, sent.codename.upper())

    cookie = _cookie_session(inbox_app, client)
    assert set(cookie["inbox"]) == {"reference", "key"}
    # The ticket's values are random text, which may hold a short word by chance: a word kept
    # as such would stand alone between the values' quotes, spaces or punctuation. Only values
    # are searched: the cookie's field names are the portal's own, and "key" is a codename word.
    tokens = {
        token.lower()
        for value in _cookie_values(cookie)
        for token in re.findall(r"[^\s'\"{}\[\]:,]+", str(value))
    }
    assert not tokens & set(sent.codename.lower().split())
    assert _count(inbox_app, SubmitterSession) == rows + 1
    page = client.get("/inbox")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert re.findall(r"<title>(.*?)</title>", page.get_data(as_text=True)) == ["Consultations"]


def _gauge(app: Flask) -> float:
    with app_database(app).session() as session:
        return bucket_level(session, GLOBAL_BUCKET, SignInLimit(), utc_now())


def _set_bucket(app: Flask, name: str, level: float) -> None:
    with app_database(app).session() as session:
        locked_bucket(session, name, SignInLimit(), utc_now()).level = level
        session.commit()


def test_a_wrong_or_malformed_codename_gets_one_answer_and_only_the_wrong_one_counts(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = inbox_app.test_client()
    # The gauge drains from the moment it is first read until it is read again: the clock runs
    # over both reads, so that a slow derivation between them is counted as drained.
    started = time.monotonic()
    before = _gauge(inbox_app)
    wrong = " ".join(reversed(sent.codename.split()))
    answers = set()
    for attempt in (wrong, "not a codename"):
        status, page = _post(client, "/inbox/sign-in", "/inbox/sign-in", {"codename": attempt})
        assert status == 400 and REFUSED in page and attempt not in page
        answers.add(re.sub(r'value="[^"]+"', "", page))
    assert len(answers) == 1
    after = _gauge(inbox_app)
    drained = SignInLimit().leak_per_second * (time.monotonic() - started)
    # One failure counted (the malformed codename is refused before any work): one unit added.
    assert before + 1 - drained - 0.05 <= after <= before + 1
    assert client.get("/inbox").location == "/inbox/sign-in"


def test_a_full_failure_gauge_locks_nobody_out(inbox_app: Flask, sent: SentSubmission) -> None:
    _set_bucket(inbox_app, GLOBAL_BUCKET, SignInLimit().capacity)
    try:
        _signed_in(inbox_app, sent.codename)
    finally:
        _set_bucket(inbox_app, GLOBAL_BUCKET, 0.0)


def test_a_spent_derivation_budget_says_busy_and_when_to_try_again(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    _set_bucket(inbox_app, WORK_BUCKET, DerivationBudget().capacity)
    try:
        client = inbox_app.test_client()
        token = _csrf_token(client, "/inbox/sign-in")
        response = client.post(
            "/inbox/sign-in", data={"codename": sent.codename, "csrf_token": token}
        )
        assert response.status_code == 503
        # One more second of deriving fits once half a second a second has drained.
        assert 1 <= int(response.headers["Retry-After"]) <= 2
        assert "try again in a moment" in response.get_data(as_text=True)
        assert client.get("/inbox").location == "/inbox/sign-in"
    finally:
        _set_bucket(inbox_app, WORK_BUCKET, 0.0)


def test_the_inbox_lists_the_submission_and_has_no_messages_yet(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    page = _signed_in(inbox_app, sent.codename).get("/inbox").get_data(as_text=True)

    assert f'href="/inbox/{sent.public_id}">Individual case</a>' in page
    assert "Republic of Valdoria" in page and "Received</td>" in page
    assert "No messages or debrief notices have arrived yet" in page


def test_read_back_shows_exactly_what_was_sent(inbox_app: Flask, sent: SentSubmission) -> None:
    page = _signed_in(inbox_app, sent.codename).get(f"/inbox/{sent.public_id}")
    text = page.get_data(as_text=True)

    assert page.status_code == 200
    for key in ("place", "situation", "dates", "relation_to_person", "earlier_referrals"):
        assert f'<dd class="written">{sent.form[key]}</dd>' in text, key
    for person in sent.form["persons"]:
        assert f">{person['name']}</h3>" in text
    assert "Detention and fair trial and Human-rights defenders" in text
    assert "May be raised by name in the session (given by: Their family)" in text


def test_further_information_and_consent_changes_round_trip(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page = f"/inbox/{sent.public_id}"

    status, _ = _post(client, page, f"{page}/further-information", {"text": "He was moved."})
    assert status == 302
    status, text = _post(client, page, f"{page}/further-information", {"text": "   "})
    assert status == 400 and "Write what you want to add" in text
    withdraw = {"person": "1", "level": "internal_only", "given_by": "person"}
    status, text = _post(client, page, f"{page}/consent", withdraw)
    assert status == 400 and "risks were explained" in text
    status, _ = _post(client, page, f"{page}/consent", {**withdraw, "risks_explained": "yes"})
    assert status == 302
    status, text = _post(client, page, f"{page}/consent", {**withdraw, "person": "7"})
    assert status == 400 and "Choose one of the people" in text

    text = client.get(page).get_data(as_text=True)
    assert '<p class="written">He was moved.</p>' in text
    assert "As it stands now: EU internal background only" in text
    assert "Boris Witness: EU internal background only" in text
    assert text.count("As it stands now: May be raised by name") == 1


def test_a_submission_sealed_before_per_submission_keys_reads_and_takes_additions(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    """A row that names the codename's own key opens with it, and what is added to it is sealed
    to that key, which the row names."""
    seal_as_before_per_submission_keys(web_instance(inbox_app).settings, sent)
    client = _signed_in(inbox_app, sent.codename)
    page = f"/inbox/{sent.public_id}"

    text = client.get(page).get_data(as_text=True)
    assert f'<dd class="written">{sent.form["situation"]}</dd>' in text
    status, _ = _post(client, page, f"{page}/further-information", {"text": "Released."})
    assert status == 302
    assert '<p class="written">Released.</p>' in client.get(page).get_data(as_text=True)
    with app_database(inbox_app).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.public_id)
        ).one()
        [added] = submission.further_information
        own = crypto.derive_codename_secrets(sent.codename).public_key_bytes()
        assert submission.submitter_public_key == own
        assert crypto.key_id(own) in crypto.inspect_envelope(added.envelope).key_ids


def test_deleting_needs_confirmation_then_leaves_a_tombstone(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page = f"/inbox/{sent.public_id}"

    status, text = _post(client, page, f"{page}/delete", {})
    assert status == 400 and "cannot be undone" in text
    status, _ = _post(client, page, f"{page}/delete", {"understood": "yes"})
    assert status == 302

    with app_database(inbox_app).session() as session:
        assert (
            session.scalars(
                select(Submission).where(Submission.public_id == sent.public_id)
            ).first()
            is None
        )
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "You deleted this submission on" in inbox and f"/inbox/{sent.public_id}" not in inbox
    assert client.get(page).status_code == 404


def test_another_submitters_submission_is_not_found(
    inbox_app: Flask, sent: SentSubmission, send_under_new_codename: Send
) -> None:
    other = send_under_new_codename(
        web_instance(inbox_app).settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    client = _signed_in(inbox_app, other.codename)
    theirs, own = f"/inbox/{sent.public_id}", f"/inbox/{other.public_id}"
    changes = _count(inbox_app, ConsentChange)

    assert client.get(theirs).status_code == 404
    assert client.get("/inbox/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/inbox/not-an-id").status_code == 404
    for action, data in (
        ("further-information", {"text": "x"}),
        ("consent", {"person": "0", "level": "internal_only", "given_by": "person"}),
        ("delete", {"understood": "yes"}),
    ):
        assert _post(client, own, f"{theirs}/{action}", data)[0] == 404
    assert _count(inbox_app, ConsentChange) == changes
    assert _signed_in(inbox_app, sent.codename).get(theirs).status_code == 200


def test_a_post_without_a_csrf_token_is_refused(inbox_app: Flask, sent: SentSubmission) -> None:
    client = _signed_in(inbox_app, sent.codename)

    assert client.post("/inbox/sign-in", data={"codename": sent.codename}).status_code == 400
    further = client.post(f"/inbox/{sent.public_id}/further-information", data={"text": "x"})
    assert further.status_code == 400
    assert client.post("/inbox/sign-out").status_code == 400


def test_a_forged_or_missing_key_sends_back_to_sign_in(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    with client.session_transaction() as cookie:
        real = dict(cookie["inbox"])
        forged_key = base64.urlsafe_b64encode(crypto.new_symmetric_key()).decode()
        cookie["inbox"] = {**real, "key": forged_key}

    response = client.get(f"/inbox/{sent.public_id}")
    assert response.location == "/inbox/sign-in?ended=1"
    assert ENDED in client.get(response.location).get_data(as_text=True)
    with client.session_transaction() as cookie:
        assert "inbox" not in cookie
        cookie["inbox"] = {"reference": real["reference"]}
    assert client.get("/inbox").location == "/inbox/sign-in"
    with client.session_transaction() as cookie:
        cookie["inbox"] = real
    assert client.get("/inbox").status_code == 200


def test_an_idle_or_expired_session_ends_and_its_row_goes(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    database = app_database(inbox_app)
    long_ago = dt.datetime.now(dt.UTC) - SessionLifetime().absolute
    for column in ("last_used_at", "expires_at"):
        client = _signed_in(inbox_app, sent.codename)
        reference = _cookie_session(inbox_app, client)["inbox"]["reference"]
        with database.session() as session:
            row = session.scalars(
                select(SubmitterSession).where(SubmitterSession.reference == reference)
            ).one()
            setattr(row, column, long_ago)
            session.commit()

        assert client.get("/inbox").location == "/inbox/sign-in?ended=1", column
        with database.session() as session:
            assert (
                session.scalars(
                    select(SubmitterSession).where(SubmitterSession.reference == reference)
                ).first()
                is None
            )


def test_signing_out_deletes_the_row_and_empties_the_cookie(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    reference = _cookie_session(inbox_app, client)["inbox"]["reference"]

    status, _ = _post(client, "/inbox", "/inbox/sign-out", {})
    assert status == 302

    with app_database(inbox_app).session() as session:
        assert (
            session.scalars(
                select(SubmitterSession).where(SubmitterSession.reference == reference)
            ).first()
            is None
        )
    with client.session_transaction() as cookie:
        assert "inbox" not in cookie
    assert client.get("/inbox").location == "/inbox/sign-in"


def _session_row_exists(app: Flask, reference: str) -> bool:
    with app_database(app).session() as session:
        found = session.scalars(
            select(SubmitterSession.id).where(SubmitterSession.reference == reference)
        ).first()
    return found is not None


def _with_cookie(app: Flask, cookie_value: str) -> FlaskClient:
    """A new browser holding a copy of a cookie taken earlier (someone who kept it)."""
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_value)
    return client


def test_the_quick_exit_link_signs_the_inbox_out_before_leaving(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page = client.get("/inbox").get_data(as_text=True)
    assert '<a class="quick-exit" href="/quick-exit"' in page
    assert f'data-neutral-url="{QUICK_EXIT_URL}"' in page
    kept = client.get_cookie(inbox_app.config["SESSION_COOKIE_NAME"]).value
    reference = _cookie_session(inbox_app, client)["inbox"]["reference"]

    response = client.get("/quick-exit")

    assert response.status_code == 303 and response.location == QUICK_EXIT_URL
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert not _session_row_exists(inbox_app, reference)
    with client.session_transaction() as cookie:
        assert "inbox" not in cookie
    assert _with_cookie(inbox_app, kept).get("/inbox").location == "/inbox/sign-in?ended=1"


def test_the_quick_exit_beacon_signs_out_only_with_the_csrf_token(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page = client.get("/inbox").get_data(as_text=True)
    token = re.search(r'class="quick-exit"[^>]* data-csrf-token="([^"]+)"', page)
    assert token is not None
    kept = client.get_cookie(inbox_app.config["SESSION_COOKIE_NAME"]).value
    reference = _cookie_session(inbox_app, client)["inbox"]["reference"]

    assert client.post("/quick-exit").status_code == 400
    assert _session_row_exists(inbox_app, reference)
    assert client.get("/inbox").status_code == 200

    assert client.post("/quick-exit", data={"csrf_token": token.group(1)}).status_code == 204
    assert not _session_row_exists(inbox_app, reference)
    assert _with_cookie(inbox_app, kept).get("/inbox").location == "/inbox/sign-in?ended=1"


def test_quick_exit_without_an_inbox_goes_straight_out_and_changes_nothing(
    inbox_app: Flask,
) -> None:
    client = inbox_app.test_client()
    page = client.get("/inbox/sign-in").get_data(as_text=True)
    assert f'<a class="quick-exit" href="{QUICK_EXIT_URL}" rel="noreferrer"' in page
    rows = _count(inbox_app, SubmitterSession)

    response = client.get("/quick-exit")

    assert response.status_code == 303 and response.location == QUICK_EXIT_URL
    assert _count(inbox_app, SubmitterSession) == rows
