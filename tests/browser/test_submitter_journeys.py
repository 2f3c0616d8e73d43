"""Acceptance 1, whole journeys: each form from the public pages to the inbox's tombstone.

The form tests stop at the codename and the inbox tests start from a submission made through
the services, so neither proves that what a form stores is what the inbox reads back. Here one
browser context does it all, for each of the four kinds with JavaScript and for the individual
case and reprisal report without it: open the form from the dialogue page, fill it with a
marker unique to the journey, send, keep the codename, sign in with it, read the marker back,
add information, withdraw a named person's consent down to EU internal background (where the
kind names persons), delete with confirmation and see the inbox say so.
"""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal.models import SubmissionKind
from tests.browser.journeys import (
    fill_individual_case,
    fill_named_person,
    open_session_form,
    send_and_keep_codename,
)

pytestmark = pytest.mark.browser

Fill = Callable[[Any, str], str]


def _agenda_input(page: Any, marker: str) -> str:
    page.get_by_label("The situation as you see it").fill(f"{marker} civic space")
    page.get_by_label("Rule of law").check()
    return f"{marker} civic space"


def _individual_case(page: Any, marker: str) -> str:
    fill_individual_case(page, marker)
    return f"{marker} detained"


def _reprisal_report(page: Any, marker: str) -> str:
    page.locator("#field-what_happened").fill(f"{marker} travel ban")
    page.locator("#field-when").fill("yesterday")
    page.get_by_label("How it is linked to engaging").fill("Side event at the Council.")
    fill_named_person(page, 0, f"{marker} person")
    return f"{marker} travel ban"


def _seminar_recommendations(page: Any, marker: str) -> str:
    page.get_by_label("The seminar (title, place, date)").fill("Seminar, Brussels")
    first = page.locator("#field-recommendations-0")
    first.get_by_label("Recommendation", exact=True).fill(f"{marker} free the journalists")
    first.get_by_label("Addressed to").fill("Government")
    first.get_by_label("Agenda theme").select_option("freedom_of_expression")
    return f"{marker} free the journalists"


# Kind: (the end of the form's address, how to fill it, whether it names persons).
KINDS: dict[SubmissionKind, tuple[str, Fill, bool]] = {
    SubmissionKind.AGENDA_INPUT: ("/agenda-input", _agenda_input, False),
    SubmissionKind.INDIVIDUAL_CASE: ("/individual-case", _individual_case, True),
    SubmissionKind.REPRISAL_REPORT: ("/reprisal-report", _reprisal_report, True),
    SubmissionKind.SEMINAR_RECOMMENDATIONS: (
        "/seminar-recommendations",
        _seminar_recommendations,
        False,
    ),
}
JOURNEYS = [
    *[pytest.param(kind, True, id=f"{kind}-js") for kind in KINDS],
    *[
        pytest.param(kind, False, id=f"{kind}-no-js")
        for kind in (SubmissionKind.INDIVIDUAL_CASE, SubmissionKind.REPRISAL_REPORT)
    ],
]


@pytest.fixture
def context_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """One page, JavaScript on or off as the journey's parameter says, for the whole journey."""
    context = chromium.new_context(java_script_enabled=request.node.callspec.params["javascript"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(("kind", "javascript"), JOURNEYS)
def test_submit_sign_in_read_back_add_withdraw_delete(
    context_page: Any, portal_server: str, kind: SubmissionKind, javascript: bool
) -> None:
    page = context_page
    link_to, fill, names_persons = KINDS[kind]
    marker = f"JOURNEY-{uuid.uuid4().hex[:10]}"
    added = f"{marker} added later"

    public_id = open_session_form(page, portal_server, link_to)
    shown = fill(page, marker)
    codename = send_and_keep_codename(page)

    page.goto(portal_server + "/inbox/sign-in")
    page.fill("#codename", codename)
    page.click("text=Open my inbox")
    page.wait_for_url(portal_server + "/inbox")
    page.click(f"a[href='/inbox/{public_id}']")
    page.locator("main").get_by_text(shown).first.wait_for()
    if javascript:
        assert page.locator("#sealed-status").is_hidden()

    page.fill("#further-text", added)
    page.click("text=Add to this submission")
    added_list = "#further-information-list" if javascript else "#further-information ~ ol"
    page.locator(added_list).get_by_text(added).wait_for()

    consent_forms = page.locator("#level-0-internal_only")
    if names_persons:
        assert marker in page.inner_text("main")
        page.check("#level-0-internal_only")
        page.check("#giver-0-family")
        page.check("#risks-0")
        page.click("text=Record this consent")
        page.locator("main").get_by_text(
            "As it stands now: EU internal background only"
        ).first.wait_for()
    else:
        assert consent_forms.count() == 0, f"{kind} names no persons: no consent to withdraw"
        assert page.get_by_text("Record this consent").count() == 0

    page.check("#understood")
    page.click("text=Delete for good")
    page.wait_for_url(portal_server + "/inbox")
    assert "You deleted this submission on" in page.inner_text("#submissions")
    assert page.locator(f"a[href='/inbox/{public_id}']").count() == 0
