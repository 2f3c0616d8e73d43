"""axe-core finds nothing to fault on the public and inbox pages (issue 13, acceptance 2).

Every page reachable by links from the front page and from a signed-in inbox is checked in
English, Arabic and French, with JavaScript and without; so are the pages a submission passes
through (a form refused for a missing field, the codename page, a wrong retype, the receipt),
which no link reaches. axe-core runs its default rules (WCAG 2.x A and AA, best practices) and
WCAG 2.2's target size.
"""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from portal.models import SubmissionKind
from tests.browser.page_survey import (
    LOCALES,
    TARGET_SIZE,
    axe_source,
    axe_violations,
    browsing,
    discover_pages,
    survey,
    walk_submission,
)
from tests.conftest import DemoInstance, SentSubmission

pytestmark = pytest.mark.browser

CASE = {
    "topics": ["human_rights_defenders"],
    "persons": [
        {
            "name": "Amina Defender",
            "consent": {"level": "handover_list", "given_by": "person", "risks_explained": True},
        }
    ],
    "situation": "Detained after meeting the EU Delegation.",
    "relation_to_person": "colleague",
}


def sign_in_inbox(page: Any, server: str, codename: str) -> None:
    page.goto(server + "/inbox/sign-in")
    page.fill("#codename", codename)
    page.get_by_role("button", name="Open my inbox").click()
    expect(page).to_have_url(server + "/inbox")


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_public_and_inbox_pages_have_no_axe_violation(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    send_under_new_codename: Callable[..., SentSubmission],
    javascript: bool,
) -> None:
    source = axe_source()
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE
    )
    with browsing(chromium, javascript=javascript) as page:
        public = discover_pages(
            page, served_app, portal_server, ["/", "/dialogues/valdoria", "/inbox/sign-in"]
        )
        assert len(public) >= 6, public
        problems = survey(page, public, source, LOCALES, TARGET_SIZE)
        for locale in LOCALES:
            walk_submission(
                page,
                portal_server,
                locale,
                lambda shown: problems.extend(axe_violations(shown, source, TARGET_SIZE)),
            )
    with browsing(chromium, javascript=javascript) as page:
        sign_in_inbox(page, portal_server, sent.codename)
        inbox = discover_pages(page, served_app, portal_server, ["/inbox"], within=("/inbox",))
        assert any(sent.public_id in url for url in inbox), inbox
        problems += survey(page, inbox, source, LOCALES, TARGET_SIZE)
    print(f"axe-core checked {len(public) + len(inbox)} public and inbox pages", *public, *inbox)
    assert not problems, f"{len(problems)} axe-core violations:\n" + "\n".join(problems)
