"""Keyboard-only journeys (issue 13, acceptance 3): a submission from its form to the retyped
codename, each other kind of form (its check boxes, radio buttons and menus) up to the codename,
and an inbox visit (sign in, read, add information, delete), with JavaScript and
without, using only Tab, Shift+Tab, Enter, Space and typing.

Once on the first page, nothing is clicked or filled by the test: it presses keys. At every stop
of the focus it checks that the focus is visible (an outline or a ring is drawn), and after a
refused step it checks that the refusal is announced (focus on the error summary or the refused
field, which carries role=alert, or is described by an alert).
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from portal.models import SubmissionKind
from tests.browser.journeys import open_session_form
from tests.browser.page_survey import REPRISAL, browsing
from tests.browser.test_accessibility_public import CASE
from tests.conftest import DemoInstance, SentSubmission

pytestmark = pytest.mark.browser

# How the focused element looks: what draws its focus, and what names it in a failure message.
FOCUS_STYLE = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    visible: outlined || style.boxShadow !== 'none',
    name: `<${element.tagName.toLowerCase()} id="${element.id}" class="${element.className}">`,
  };
}"""

# Where the page says what was refused: an alert at the focus, or described by one.
ANNOUNCED = """() => {
  const element = document.activeElement;
  if (element.closest('[role=alert]') || element.getAttribute('role') === 'alert') return true;
  const described = (element.getAttribute('aria-describedby') || '').split(' ');
  return described.some((id) => document.getElementById(id)?.getAttribute('role') === 'alert');
}"""

MOST_STOPS = 120


def focus_on(page: Any, selector: str, key: str = "Tab") -> None:
    """Press ``key`` until ``selector`` has the focus, checking that each stop shows it (past
    the page's last stop, the focus leaves the page for the browser, then comes back on top)."""
    for _ in range(MOST_STOPS):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS_STYLE)
        if focus["name"].startswith("<body"):
            continue
        assert focus["visible"], f"focus is not visible on {focus['name']} at {page.url}"
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    pytest.fail(f"{MOST_STOPS} presses of {key} never reached {selector} on {page.url}")


def type_into(page: Any, selector: str, text: str) -> None:
    focus_on(page, selector)
    page.keyboard.type(text)


def choose(page: Any, group: str, selector: str) -> None:
    """Check the radio button ``selector`` of the group named ``group``: Tab into the group,
    then the arrow keys, as radio buttons are chosen from the keyboard."""
    focus_on(page, f"input[type='radio'][name='{group}']")
    for _ in range(MOST_STOPS):
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            break
        page.keyboard.press("ArrowDown")
    expect(page.locator(selector)).to_be_checked()


def tick(page: Any, selector: str) -> None:
    focus_on(page, selector)
    page.keyboard.press("Space")
    expect(page.locator(selector)).to_be_checked()


def pick(page: Any, selector: str, value: str) -> None:
    """Choose ``value`` in the menu ``selector`` as a keyboard does: focus it, then the arrow
    keys, which move a closed menu's choice on."""
    focus_on(page, selector)
    for _ in range(MOST_STOPS):
        if page.locator(selector).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    pytest.fail(f"the arrow keys never chose {value} in {selector}")


def assert_refusal_announced(page: Any) -> None:
    focus = page.evaluate(FOCUS_STYLE)
    assert page.evaluate(ANNOUNCED), f"the refusal is not announced at {focus['name']}"


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_a_submission_by_keyboard_alone(
    chromium: Any, portal_server: str, javascript: bool
) -> None:
    with browsing(chromium, javascript=javascript) as page:
        open_session_form(page, portal_server, "/reprisal-report")
        type_into(page, "#field-what_happened", REPRISAL["what_happened"])
        focus_on(page, "button[value='send']")
        page.keyboard.press("Enter")
        expect(page.locator("#field-link_to_engagement")).to_have_attribute("aria-invalid", "true")
        assert_refusal_announced(page)

        # From the summary, the link to the missing field takes the focus there.
        focus_on(page, "#error-summary a[href='#field-link_to_engagement']")
        page.keyboard.press("Enter")
        expect(page.locator("#field-link_to_engagement")).to_be_focused()
        page.keyboard.type(REPRISAL["link_to_engagement"])
        type_into(page, "#field-when", REPRISAL["when"])
        focus_on(page, "button[value='send']")
        page.keyboard.press("Enter")

        page.locator("#codename li").first.wait_for(timeout=30_000)
        words = page.locator("#codename li").all_inner_texts()
        fields = page.locator("input[id^='retype-word-']").all()
        positions = [int(re.search(r"\d+", field.get_attribute("id"))[0]) for field in fields]
        # A wrong retype first: the page says so, and the check is offered again.
        for position in positions:
            type_into(page, f"#retype-word-{position}", "wrong")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="These words don't match")).to_be_visible()
        for position in positions:
            type_into(page, f"#retype-word-{position}", words[position - 1])
        focus_on(page, ".retype-check button")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="You have written it down")).to_be_visible()


def test_an_individual_case_by_keyboard_alone(chromium: Any, portal_server: str) -> None:
    """The longest form, with its radio buttons and check boxes, sent without JavaScript."""
    with browsing(chromium, javascript=False) as page:
        open_session_form(page, portal_server, "/individual-case")
        type_into(page, "#field-persons-0-name", "A. Defender")
        choose(
            page,
            page.locator("#field-persons-0-consent-level-raise_by_name").get_attribute("name"),
            "#field-persons-0-consent-level-raise_by_name",
        )
        choose(
            page,
            page.locator("#field-persons-0-consent-given_by-family").get_attribute("name"),
            "#field-persons-0-consent-given_by-family",
        )
        tick(page, "#field-persons-0-consent-risks_explained")
        type_into(page, "#field-situation", "Detained after a press conference.")
        type_into(page, "#field-relation_to_person", "colleague")
        tick(page, "#field-topics-human_rights_defenders")
        focus_on(page, "button[value='send']")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Received: this is your codename")).to_be_visible()


def fill_agenda_input(page: Any) -> None:
    type_into(page, "#field-situation", "Civic space is shrinking.")
    tick(page, "#field-topics-rule_of_law")


def fill_seminar_recommendations(page: Any) -> None:
    type_into(page, "#field-seminar", "Seminar, Brussels, 3 March")
    type_into(page, "#field-recommendations-0-text", "Release the detained journalists.")
    type_into(page, "#field-recommendations-0-addressee", "Government")
    pick(page, "#field-recommendations-0-topic", "freedom_of_expression")


@pytest.mark.parametrize(
    ("form", "fill", "javascript"),
    [
        pytest.param("/agenda-input", fill_agenda_input, True, id="agenda-input-js"),
        pytest.param(
            "/seminar-recommendations", fill_seminar_recommendations, False, id="seminar-no-js"
        ),
    ],
)
def test_the_other_forms_by_keyboard_alone(
    chromium: Any,
    portal_server: str,
    form: str,
    fill: Callable[[Any], None],
    javascript: bool,
) -> None:
    """The agenda input with its required theme check box, and the seminar's recommendations
    with their menu of themes, each sent in one of the two ways."""
    with browsing(chromium, javascript=javascript) as page:
        open_session_form(page, portal_server, form)
        fill(page)
        focus_on(page, "button[value='send']")
        page.keyboard.press("Enter")
        page.locator("#codename li").first.wait_for(timeout=30_000)
        expect(page.get_by_role("heading", name="Received: this is your codename")).to_be_visible()


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_an_inbox_visit_by_keyboard_alone(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
    javascript: bool,
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE
    )
    with browsing(chromium, javascript=javascript) as page:
        page.goto(portal_server + "/inbox/sign-in")
        type_into(page, "#codename", "wrong " + sent.codename)
        page.keyboard.press("Enter")
        expect(page.locator("#codename-error")).to_be_visible()
        expect(page.locator("#codename")).to_be_focused()
        assert_refusal_announced(page)

        # The refused field is cleared and focused: type the codename again and sign in.
        page.keyboard.type(sent.codename)
        page.keyboard.press("Enter")
        expect(page).to_have_url(portal_server + "/inbox")
        focus_on(page, f"a[href='/inbox/{sent.public_id}']")
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_contain_text("Amina Defender")

        type_into(page, "#further-text", "She was moved to another prison.")
        focus_on(page, "#further-information-form button")
        page.keyboard.press("Enter")
        expect(page.locator("#further-information ~ ol")).to_contain_text("another prison")

        focus_on(page, "#understood")
        page.keyboard.press("Space")
        expect(page.locator("#understood")).to_be_checked()
        focus_on(page, "#understood ~ button, form:has(#understood) button")
        page.keyboard.press("Shift+Tab")
        expect(page.locator("#understood")).to_be_focused()
        focus_on(page, "form:has(#understood) button")
        page.keyboard.press("Enter")
        expect(page).to_have_url(portal_server + "/inbox")
        expect(page.locator("#submissions")).to_contain_text("You deleted this submission on")
