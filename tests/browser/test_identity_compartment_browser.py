"""Acceptance 3: a desk member not named on a case sees no name of it; a named member does.

A submitter sends an individual case through the form with JavaScript, naming one person with a
canary name that appears nowhere else in what they send. On valdoria's desk the demo triage
officer (who holds the identity key) names the demo co-chair on the case; a second co-chair made
for this test, on the same desk and holding the same desk key, is not named. Each reads the case
in a browser of their own, while every network response of their page is kept: the unnamed member
finds the canary neither in the page, nor in any response, nor in the bundle the desk's export
page gives them; the named member reads it on the page.

Staff sessions are opened as the sign-in page would open them (``sign_in_client``) and their
cookie handed to the browser, so that the test spends no TOTP step; sign-in has tests of its own.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import Dialogue, StaffRole
from portal.services.desks.keys import current_desk_key, grant_desk_access
from portal.services.desks.membership import RecoveryKeys
from portal.services.staff.accounts import create_staff_user
from portal.web.instance import app_secrets
from tests.browser.journeys import (
    fill_individual_case,
    fill_named_person,
    open_session_form,
    send_and_keep_codename,
)
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials, sign_in_client

pytestmark = pytest.mark.browser

PASSPHRASE = "a passphrase for the unnamed co-chair of this test"


@pytest.fixture
def staff_browser(
    chromium: Any, portal_server: str, portal_server_instance: DemoInstance
) -> Iterator[Any]:
    """``open(email, passphrase)``: a page signed in as that account, and every response body
    its pages received, as text."""
    app = create_app(portal_server_instance.settings)
    opened = []

    def open_as(email: str, passphrase: str) -> tuple[Any, list[str]]:
        client = app.test_client()
        sign_in_client(app, client, email, passphrase)
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        context = chromium.new_context()
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": portal_server}])
        opened.append(context)
        page = context.new_page()
        bodies: list[str] = []
        page.on("response", lambda response: bodies.append(_body(response)))
        return page, bodies

    yield open_as
    for context in opened:
        context.close()


def _body(response: Any) -> str:
    try:
        return response.body().decode("utf-8", "replace")
    except Exception:
        return ""


def _unnamed_co_chair(instance: DemoInstance) -> str:
    """A co-chair on valdoria's desk holding its current desk key; their e-mail address."""
    app = create_app(instance.settings)
    email = f"unnamed-{uuid.uuid4().hex[:10]}@example.org"
    with app.app_context(), app_database(app).session() as session:
        user = create_staff_user(
            session,
            email=email,
            display_name=f"Unnamed {email[:18]}",
            role=StaffRole.CO_CHAIR,
            passphrase=PASSPHRASE,
            at_rest_key=app_secrets().at_rest_key,
            must_change_passphrase=False,
        ).user
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        desk_key = current_desk_key(session, dialogue)
        recovery = RecoveryKeys(crypto.import_recovery_key(instance.recovery_key))
        grant_desk_access(
            session,
            desk_key=desk_key,
            desk_private_key=recovery.open(session, desk_key),
            member=user,
            granted_by=None,
        )
        session.commit()
    return email


def test_only_the_named_member_sees_the_name_in_page_responses_and_export(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    staff_browser: Any,
) -> None:
    server = portal_server
    canary = f"Canary{uuid.uuid4().hex[:12]}"
    other = f"CASE-{uuid.uuid4().hex[:8]}"
    accounts = demo_credentials(portal_server_instance.credentials_file)
    triage, named = accounts["triage_officer"], accounts["co_chair"]
    unnamed_email = _unnamed_co_chair(portal_server_instance)

    # The submitter names one person with the canary, sealed in the browser.
    submitter_context = chromium.new_context()
    submitter = submitter_context.new_page()
    public_id = open_session_form(submitter, server, "/individual-case")
    fill_individual_case(submitter, other)
    fill_named_person(submitter, 1, canary)
    send_and_keep_codename(submitter)
    submitter_context.close()
    case_url = f"{server}/staff/submissions/{public_id}"

    # The triage officer reads the name and names the demo co-chair on the case.
    officer, _ = staff_browser(triage.email, triage.password)
    officer.goto(case_url)
    expect(officer.locator("ol.persons")).to_contain_text(canary)
    names_form = officer.locator("#name-readers")
    names_form.get_by_label("Demo Co-chair").check()
    names_form.get_by_role("button", name="Name them").click()
    officer.wait_for_load_state()
    expect(officer.locator("#names")).to_be_visible()

    # The unnamed member reads the case by number, and nothing of theirs carries the name.
    reader, responses = staff_browser(unnamed_email, PASSPHRASE)
    reader.goto(case_url)
    expect(reader.locator("ol.persons")).to_contain_text("Person 1")
    expect(reader.locator("#names-sealed")).to_be_visible()
    assert other in reader.inner_text("main"), "the case itself is read"
    assert canary not in reader.content()
    reader.goto(f"{server}/staff/dialogues/valdoria/queue")
    reader.goto(f"{server}/staff/dialogues/valdoria/export")
    with reader.expect_download() as download:
        reader.get_by_role("button", name="Download the bundle").click()
    bundle = download.value.path().read_bytes()
    assert canary.encode() not in bundle
    assert responses and not [body for body in responses if canary in body]

    # The named member reads the name.
    member, member_responses = staff_browser(named.email, named.password)
    member.goto(case_url)
    expect(member.locator("ol.persons")).to_contain_text(canary)
    assert any(canary in body for body in member_responses)
