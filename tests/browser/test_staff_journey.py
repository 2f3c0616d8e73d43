"""Acceptance, the staff side end to end: a new triage officer from account to message.

An administrator creates a triage officer, who enrols TOTP, signs in, reads the short fingerprint
of their key to an existing desk member, who types it (a wrong reading is refused) and grants
the desk, opens a submission made through the public form in the same test, triages it,
sends a message, and the submitter reads it in the inbox.

Every actor has a browser context of their own. The served demo instance is shared by the
session; the new account has a unique e-mail address, so the test adds to it without depending
on (or disturbing) anything else. TOTP codes are single-use per 30-second step: whenever an
account signs in again, the test waits for a step it has not used yet.
"""

import base64
import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

import crypto
from tests.browser.journeys import (
    fill_individual_case,
    open_session_form,
    send_and_keep_codename,
    sign_in_staff,
    totp_step,
)
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

CONTACT_LABEL = "The EU Delegation may write to me through my private inbox on this portal"


def test_new_triage_officer_triages_and_writes_to_a_submitter(
    contexts: Any, portal_server: str, portal_server_instance: DemoInstance
) -> None:
    server = portal_server
    accounts = demo_credentials(portal_server_instance.credentials_file)
    admin, member = accounts["administrator"], accounts["triage_officer"]
    assert "valdoria" in member.dialogues
    marker = f"STAFF-JOURNEY-{uuid.uuid4().hex[:10]}"
    message = f"{marker} message: is it safe to name the prison?"
    officer_email = f"officer-{uuid.uuid4().hex[:10]}@example.org"
    officer_name = f"Officer {marker}"
    officer_passphrase = f"violet harbour {uuid.uuid4().hex[:8]} lantern quietly"

    # 1. The submitter sends an individual case through the public form, contact allowed.
    submitter = contexts(javascript=False)
    public_id = open_session_form(submitter, server, "/individual-case")
    fill_individual_case(submitter, marker)
    submitter.get_by_label(CONTACT_LABEL).check()
    codename = send_and_keep_codename(submitter)

    # 2. The administrator creates the triage officer and reads the one-time passphrase.
    administrator = contexts()
    sign_in_staff(
        administrator,
        server,
        admin.email,
        admin.password,
        crypto.totp_secret_from_base32(admin.totp_secret),
    )
    administrator.goto(server + "/admin/staff")
    administrator.fill("#email", officer_email)
    administrator.fill("#display_name", officer_name)
    administrator.select_option("#role", "triage_officer")
    administrator.get_by_role("button", name="Create the account").click()
    expect(administrator.get_by_role("heading", name="Account created")).to_be_visible()
    assert officer_email in administrator.inner_text("dl.facts")
    one_time = administrator.inner_text("code.one-time-passphrase").strip()
    assert len(one_time) >= 12
    administrator.goto(server + "/admin/staff")
    row = administrator.locator("tr", has_text=officer_email)
    assert "Not yet" in row.inner_text(), "a new account is not enrolled yet"

    # 3. The officer signs in with it, chooses a passphrase and enrols the authenticator app.
    officer = contexts()
    sign_in_staff(officer, server, officer_email, one_time, None)
    expect(officer.get_by_role("heading", name="Choose your passphrase")).to_be_visible()
    officer.fill("#new_passphrase", officer_passphrase)
    officer.fill("#confirm_passphrase", officer_passphrase)
    officer.get_by_role("button", name="Save and continue").click()
    expect(officer.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    qr = officer.locator("img.totp-qr").get_attribute("src")
    prefix = "data:image/svg+xml;base64,"
    assert qr.startswith(prefix), qr[:60]
    assert b"<svg" in base64.b64decode(qr[len(prefix) :]), "the QR code is an SVG image"
    officer_secret = crypto.totp_secret_from_base32(officer.inner_text("code.totp-secret"))
    enrolled_at = time.time()
    officer.fill("#code", crypto.totp_code(officer_secret, enrolled_at))
    officer.get_by_role("button", name="Confirm and finish").click()
    officer.wait_for_url(server + "/staff/")
    # Signed in, on no desk yet: the key is granted by a member.
    officer.get_by_role("button", name=f"Sign out ({officer_name})").click()
    officer.wait_for_url("**/staff/sign-in?signed_out=1")
    assert "You have signed out." in officer.inner_text("main")

    # ... and signs in again with the new passphrase and a fresh code (not the enrolment's step).
    officer_step = sign_in_staff(
        officer,
        server,
        officer_email,
        officer_passphrase,
        officer_secret,
        after_step=totp_step(enrolled_at),
    )
    assert officer_step > totp_step(enrolled_at)
    officer.wait_for_url(server + "/staff/")
    assert officer.locator("a[href='/staff/dialogues/valdoria/queue']").count() == 0

    # The officer reads the short fingerprint of their key from their account page ...
    officer.goto(server + "/staff/account")
    read_out = officer.inner_text("p.short-fingerprint code").strip()
    assert len(read_out.replace(" ", "")) == 30 and read_out.replace(" ", "").isdigit()

    # 4. ... and an existing member of valdoria's desk, hearing it, adds them and grants the key.
    desk_member = contexts()
    sign_in_staff(
        desk_member,
        server,
        member.email,
        member.password,
        crypto.totp_secret_from_base32(member.totp_secret),
    )
    desk_member.goto(server + "/staff/desks/valdoria")
    by_email = desk_member.locator("form", has=desk_member.locator("#grant-email"))
    by_email.locator("#grant-email").fill(officer_email)
    by_email.get_by_role("button", name="Next: confirm their key").click()
    expect(desk_member.get_by_role("heading", name=f"Confirm {officer_name}'s key")).to_be_visible()
    assert read_out not in desk_member.inner_text("main"), "the digits come from the colleague"
    desk_member.get_by_label(f"The 30 digits {officer_name} read to you").fill("1" * 30)
    desk_member.get_by_role("button", name="Confirm and grant the key").click()
    assert "not the fingerprint" in desk_member.inner_text("main"), "a wrong reading is refused"
    desk_member.get_by_label(f"The 30 digits {officer_name} read to you").fill(read_out)
    desk_member.get_by_role("button", name="Confirm and grant the key").click()
    desk_member.wait_for_url(server + "/staff/desks/valdoria")
    assert f"{officer_name}'s key is confirmed and they now hold" in desk_member.inner_text("main")
    member_row = desk_member.locator("#members ~ .table-wrap tr", has_text=officer_email)
    assert "Holds the key" in member_row.inner_text()

    # 5. The officer opens the queue and the submission, and reads the marker.
    officer.goto(server + "/staff/")
    officer.click("a[href='/staff/dialogues/valdoria/queue']")
    officer.wait_for_url(server + "/staff/dialogues/valdoria/queue")
    officer.click(f"a[href='/staff/submissions/{public_id}']")
    officer.wait_for_url(server + f"/staff/submissions/{public_id}")
    main = officer.inner_text("main")
    assert f"{marker} detained" in main, "the officer reads what the submitter sent"
    assert f"{marker} person" in main
    assert "The desk may contact the submitter through the portal" in main

    # 6. Triage: themes, a low risk, accept.
    topics = officer.locator("form#topics")
    topics.locator("input[value='human_rights_defenders']").check()
    topics.locator("input[value='rule_of_law']").check()
    topics.get_by_role("button", name="Save the themes").click()
    officer.wait_for_url(server + f"/staff/submissions/{public_id}*")
    assert "Rule of law" in officer.inner_text("#metadata")

    risk = officer.locator("form#risk-form")
    risk.locator("input[name='level'][value='low']").check()
    risk.get_by_role("button", name="Record the assessment").click()
    officer.wait_for_url(server + f"/staff/submissions/{public_id}*")
    assert officer.locator("#refusal").count() == 0, officer.inner_text("#refusal")
    assert officer.inner_text("#risk").startswith("Low")

    officer.locator("form#decision").get_by_role("button", name="Accept").click()
    officer.wait_for_url(server + f"/staff/submissions/{public_id}*")
    assert officer.locator("#refusal").count() == 0, officer.inner_text("#refusal")
    assert officer.inner_text("#state").strip() == "Accepted"

    # 7. The officer writes to the submitter.
    officer.fill("#message-text", message)
    officer.get_by_role("button", name="Send to the submitter").click()
    officer.locator("#message-thread").get_by_text(message).wait_for()
    assert officer_name in officer.inner_text("#message-thread")

    # 8. The submitter signs in with the codename and reads the message.
    submitter.goto(server + "/inbox/sign-in")
    submitter.fill("#codename", codename)
    submitter.click("text=Open my inbox")
    submitter.wait_for_url(server + "/inbox")
    submitter.click(f"a[href='/inbox/{public_id}']")
    thread = submitter.locator("#message-thread")
    thread.get_by_text(message).wait_for()
    assert "From the desk" in thread.inner_text()
    assert f"{marker} detained" in submitter.inner_text("main")
