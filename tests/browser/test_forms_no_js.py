"""The individual case and reprisal report in Chromium with JavaScript switched off.

A person fills in a form, attaches a file, receives a codename, and proves they wrote it down by
retyping the two words the page asks for: all with plain HTML forms, as in Tor Browser's
"Safest" mode.
"""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.journeys import keep_codename, open_session_form

pytestmark = pytest.mark.browser


def test_individual_case_without_javascript(page: Any, portal_server: str, tmp_path: Path) -> None:
    attachment = tmp_path / "statement.txt"
    attachment.write_text("signed statement\n")
    open_session_form(page, portal_server, "/individual-case")
    page.get_by_label("What happened to them").fill("Detained after a press conference.")
    page.get_by_label("How you know the person").fill("colleague")
    person = page.locator("#field-persons-0")
    person.get_by_label("Name", exact=True).fill("A. Defender")
    person.get_by_label("raised with the government by name").check()
    person.get_by_label("Their family").check()
    person.get_by_label("The risks of being named were explained").check()
    page.get_by_label("Human-rights defenders").check()
    page.get_by_role("button", name="Add more rows").click()
    assert page.locator("#field-persons-0-name").input_value() == "A. Defender"
    expect(page.locator("#field-persons-5-name")).to_be_visible()
    page.get_by_label("Files (optional)").set_input_files(str(attachment))
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="Received: this is your codename")).to_be_visible()
    assert "1 file is attached." in page.content()
    keep_codename(page)


def test_reprisal_report_without_javascript(page: Any, portal_server: str) -> None:
    open_session_form(page, portal_server, "/reprisal-report")
    page.locator("#field-what_happened").fill("Travel ban after speaking at the UN.")
    page.locator("#field-when").fill("yesterday")
    page.get_by_role("button", name="Send").click()
    assert page.locator("#field-link_to_engagement").get_attribute("aria-invalid") == "true"
    assert page.locator("#field-what_happened").input_value().startswith("Travel ban")

    page.get_by_label("How it is linked to engaging").fill("Side event at the Council.")
    page.get_by_label("Urgent: someone is in danger now").check()
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="Received: this is your codename")).to_be_visible()
    keep_codename(page)
