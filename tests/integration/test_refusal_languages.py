"""The refusals of the JavaScript paths reach the person in the page's language: the services'
own sentences (``portal.translatable``) and the portal's answers alike, in the JSON the browser
modules show. The pseudo catalogue (test_pseudo_locale) makes a translated answer recognisable.
"""

import base64
import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import app_database
from portal.i18n import refusal_text
from portal.locales import SUPPORTED_LOCALES
from portal.models import StaffUser, SubmissionState
from portal.services.dialogues.dialogue_sessions import SessionChangeRefusedError
from portal.services.rounds.record import RecordRefusedError
from portal.services.staff.triage import TriageRefusedError
from portal.services.submissions.submission_ids import SubmissionIdExpiredError
from portal.translatable import translatable
from tests.conftest import DemoInstance
from tests.integration.test_pseudo_locale import CLOSE, OPEN, PSEUDO, write_pseudo_catalogue
from tests.staff_sessions_support import demo_credentials, sign_in_client


@pytest.fixture(scope="module")
def app(
    writable_demo_instance: DemoInstance, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    portal = create_app(writable_demo_instance.settings)
    portal.config["WTF_CSRF_ENABLED"] = False
    folder = tmp_path_factory.mktemp("pseudo-refusals")
    write_pseudo_catalogue(folder)
    portal.extensions["babel"].translation_directories.append(str(folder))
    portal.config["PORTAL_LANGUAGES"] = (*SUPPORTED_LOCALES, PSEUDO)
    yield portal


def _translated(text: str) -> bool:
    return text.startswith(OPEN) and text.endswith(CLOSE)


def test_an_upload_refused_by_the_service_is_answered_in_the_page_language(app: Flask) -> None:
    client = app.test_client()
    expired = client.post(
        f"/uploads?lang={PSEUDO}", json={"submission": "A" * 22, "size": crypto.encrypted_size(1)}
    )
    assert expired.status_code == 410
    assert _translated(expired.get_json()["error"])


def test_the_same_refusal_without_a_chosen_language_is_english(app: Flask) -> None:
    answer = app.test_client().post(
        "/uploads", json={"submission": "A" * 22, "size": crypto.encrypted_size(1)}
    )
    assert answer.get_json()["error"] == str(SubmissionIdExpiredError())


def test_a_malformed_body_gets_a_translated_heading_and_an_english_detail(app: Flask) -> None:
    for url in ("/sealed-submissions", "/inbox/sign-in/login-secret"):
        answer = app.test_client().post(f"{url}?lang={PSEUDO}", json={"kind": 3})
        assert answer.status_code == 400
        body = answer.get_json()
        assert _translated(body["error"]) and body["detail"].isascii()


def test_a_refused_sign_in_is_answered_in_the_page_language(app: Flask) -> None:
    body = {
        "login_secret": base64.b64encode(bytes(32)).decode(),
        "owner_tag_key": base64.b64encode(bytes(32)).decode(),
    }
    answer = app.test_client().post(f"/inbox/sign-in/login-secret?lang={PSEUDO}", json=body)
    assert answer.status_code == 400
    assert _translated(answer.get_json()["error"])


def test_a_marked_sentence_reads_as_english_outside_a_request() -> None:
    text = translatable("attachments may take %(size)s MB in all", size=25)
    assert text == "attachments may take 25 MB in all"
    assert (text.message_id, text.values) == (
        "attachments may take %(size)s MB in all",
        {"size": 25},
    )
    assert str(SubmissionIdExpiredError()).startswith("this form has expired")


def test_a_refusal_a_staff_page_shows_is_in_the_page_language(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    """The administrator cannot take a key holder off a desk: the account's page says why, in the
    page's language, where it would otherwise offer the button."""
    client = app.test_client()
    account = demo_credentials(writable_demo_instance.credentials_file)["administrator"]
    sign_in_client(app, client, account.email, account.password)
    with app_database(app).session() as session:
        holder = session.scalars(
            select(StaffUser).where(StaffUser.email == "triage@demo.parley.invalid")
        ).one()
    page = client.get(f"/admin/staff/{holder.id}?lang={PSEUDO}").get_data(as_text=True)
    reason = "only someone who holds it can take them off the desk"
    assert reason in page
    assert re.search(f"{OPEN}[^{CLOSE}]*{reason}[^{OPEN}]*{CLOSE}", page)


def test_a_stored_state_in_a_refusal_reads_as_its_translated_name(app: Flask) -> None:
    refusal = TriageRefusedError(
        translatable(
            'a submission at "%(state)s" cannot become "%(new_state)s"',
            state=SubmissionState.ACCEPTED,
            new_state=SubmissionState.RECEIVED,
        )
    )
    with app.test_request_context(f"/?lang={PSEUDO}"):
        shown = refusal_text(refusal)
    assert _translated(shown)
    assert f'"{OPEN}Accepted' in shown and f'"{OPEN}Received' in shown
    assert "accepted" in str(refusal), "outside a request it stays the plain English"


def test_a_day_and_a_moment_in_a_refusal_read_as_the_page_language_writes_them(app: Flask) -> None:
    refusal = SessionChangeRefusedError(
        translatable(
            "the new close must be later than the current one, %(close)s; to stop earlier, "
            "close the consultation",
            close=dt.datetime(2026, 12, 26, 16, 0, tzinfo=dt.UTC),
        )
    )
    with app.test_request_context("/?lang=fr"):
        shown = refusal_text(refusal)
        day = refusal_text(
            RecordRefusedError(
                translatable(
                    "%(date)s is still to come; record a session once it has taken place",
                    date=dt.date(2027, 3, 5),
                )
            )
        )
    assert "26 déc. 2026, 16:00 UTC" in shown and "2026-12-26" not in shown
    assert "5 mars 2027" in day and "2027-03-05" not in day
