"""Steps a submitter takes in the browser, shared by the browser tests of the forms and inbox.

Each step works with JavaScript on and off: the pages are the same HTML, and the script only
changes how the form is sent (sealed in the page, or posted plainly).
"""

import re
from typing import Any

import pytest
from playwright.sync_api import expect

import crypto


def open_session_form(page: Any, portal_server: str, link_to: str) -> str:
    """Follow the links from valdoria's page to the form ending in ``link_to``; its public id."""
    page.goto(portal_server + "/dialogues/valdoria")
    sessions = page.locator("a[href*='/dialogues/valdoria/sessions/']")
    for href in [link.get_attribute("href") for link in sessions.all()]:
        page.goto(portal_server + href)
        if page.locator(f"a[href$='{link_to}']").count():
            page.locator(f"a[href$='{link_to}']").first.click()
            # Module scripts, and every module they import, run before the load event: until
            # then "Send" may still post the form as it would without JavaScript.
            page.wait_for_load_state()
            return page.locator("input[name='public_id']").input_value()
    pytest.fail(f"no session of valdoria links to {link_to}")


def keep_codename(page: Any) -> str:
    """On the codename page, retype the two words asked for; the codename the page showed."""
    words = page.locator("#codename li").all_inner_texts()
    assert len(words) == crypto.CODENAME_WORDS
    for field in page.locator("input[id^='retype-word-']").all():
        position = int(re.search(r"\d+", field.get_attribute("id"))[0])
        field.fill(words[position - 1])
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="You have written it down")).to_be_visible()
    return " ".join(words)


def send_and_keep_codename(page: Any) -> str:
    """Send the form, wait for the codename page (sealing can take a moment), and keep it."""
    page.get_by_role("button", name="Send").click()
    heading = page.get_by_role("heading", name="Received: this is your codename")
    heading.wait_for(timeout=30_000)
    return keep_codename(page)


def fill_named_person(page: Any, row: int, name: str) -> None:
    """Name a person in row ``row`` who may be raised by name, with the family's consent."""
    person = page.locator(f"#field-persons-{row}")
    person.get_by_label("Name", exact=True).fill(name)
    person.get_by_label("raised with the government by name").check()
    person.get_by_label("Their family").check()
    person.get_by_label("The risks of being named were explained").check()


def fill_individual_case(page: Any, text: str) -> None:
    """Every text field of the individual case starts with ``text``; one person is named."""
    page.get_by_label("What happened to them").fill(f"{text} detained")
    page.get_by_label("Where", exact=True).fill(f"{text} place")
    page.get_by_label("When (dates").fill(f"{text} dates")
    page.get_by_label("How you know the person").fill(f"{text} colleague")
    page.get_by_label("Earlier referrals").fill(f"{text} referrals")
    fill_named_person(page, 1, f"{text} person")
    page.get_by_label("Human-rights defenders").check()
    page.get_by_label("This concerns a woman human-rights defender").check()
