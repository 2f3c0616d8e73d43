"""Steps a submitter takes in the browser, shared by the browser tests of the forms and inbox,
and a staff member's sign-in with a TOTP code, shared by the staff journeys.

Each submitter's step works with JavaScript on and off: the pages are the same HTML, and the
script only changes how the form is sent (sealed in the page, or posted plainly).
"""

import itertools
import re
import time
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


def sign_in_inbox(page: Any, server: str, codename: str) -> None:
    """Open the inbox of ``codename`` from the sign-in page, and wait until it shows."""
    page.goto(server + "/inbox/sign-in")
    page.fill("#codename", codename)
    page.get_by_role("button", name="Open my inbox").click()
    expect(page).to_have_url(server + "/inbox")


BY_NAME = "raised with the government by name"
ON_THE_LIST = "written list of cases handed"
WITHOUT_THE_NAME = "raised with the government, without the name"


def fill_named_person(page: Any, row: int, name: str, consent: str = BY_NAME) -> None:
    """Name a person in row ``row`` with the family's consent; ``consent`` is part of the label
    of the level chosen (by name, unless told otherwise)."""
    person = page.locator(f"#field-persons-{row}")
    person.get_by_label("Name", exact=True).fill(name)
    person.get_by_label(consent).check()
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


TOTP_PERIOD = 30
REFUSED = "These details do not open a staff account"


def totp_step(at: float) -> int:
    return int(at // TOTP_PERIOD)


def wait_for_totp_step_after(step: int) -> None:
    """Sleep until the TOTP step after ``step`` has begun (a code of ``step`` is spent)."""
    while totp_step(time.time()) <= step:
        time.sleep(max(0.05, (step + 1) * TOTP_PERIOD - time.time() + 0.05))


def sign_in_staff(
    page: Any, server: str, email: str, passphrase: str, secret: bytes | None, after_step: int = -1
) -> int:
    """Sign in on /staff/sign-in; the TOTP step whose code was used (-1 without a code).

    A code is only made in a step after ``after_step``. Should the code be refused anyway (another
    test of the session may have spent this step of a shared demo account), it is tried once more
    in the next step.
    """
    for attempt in range(2):
        wait_for_totp_step_after(after_step)
        page.goto(server + "/staff/sign-in")
        page.fill("#email", email)
        page.fill("#passphrase", passphrase)
        now = time.time()
        code = "" if secret is None else crypto.totp_code(secret, now)
        page.fill("#code", code)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if page.locator("#sign-in-error").count():
            error = page.inner_text("main")
            assert REFUSED in error, error
            assert secret is not None and attempt == 0, f"sign-in of {email} refused: {error}"
            after_step = totp_step(now)
            continue
        return -1 if secret is None else totp_step(now)
    raise AssertionError("unreachable")


def neighbouring_codename_words(codename: str) -> re.Pattern[str]:
    """Any two neighbouring words of ``codename``, as whole words, with any short separator.

    What a leak check looks for in request bodies and addresses: a single word alone proves
    nothing, since the list holds words such as ``true`` or ``key`` that JSON bodies and the
    portal's own addresses (``inbox-key.mjs``) contain without anything having leaked.
    """
    words = [re.escape(word) for word in codename.split(" ")]
    pairs = [
        rf"\b{first}(?:\W|%20){{1,3}}{second}\b" for first, second in itertools.pairwise(words)
    ]
    return re.compile("|".join(pairs), re.IGNORECASE)
