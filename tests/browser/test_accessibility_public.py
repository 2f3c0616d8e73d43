"""axe-core finds nothing to fault on the public and inbox pages (issue 13, acceptance 2).

Every page reachable by links from the front page and from a signed-in inbox is checked in
English, Arabic and French, with JavaScript and without; so are the pages a submission passes
through (a form refused for a missing field, the codename page, a wrong retype, the receipt),
which no link reaches. axe-core runs its default rules (WCAG 2.x A and AA, best practices) and
WCAG 2.2's target size.
"""

from typing import Any

import pytest
from flask import Flask

from tests.browser.journeys import sign_in_inbox
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
from tests.conftest import SentSubmission

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
def test_public_and_inbox_pages_have_no_axe_violation(
    chromium: Any,
    portal_server: str,
    served_app: Flask,
    sent_case: SentSubmission,
    javascript: bool,
) -> None:
    source = axe_source()
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
        sign_in_inbox(page, portal_server, sent_case.codename)
        inbox = discover_pages(page, served_app, portal_server, ["/inbox"], within=("/inbox",))
        assert any(sent_case.public_id in url for url in inbox), inbox
        problems += survey(page, inbox, source, LOCALES, TARGET_SIZE)
    print(f"axe-core checked {len(public) + len(inbox)} public and inbox pages", *public, *inbox)
    assert not problems, f"{len(problems)} axe-core violations:\n" + "\n".join(problems)
