"""The inbox in Chromium with JavaScript switched off, as in Tor Browser's "Safest" level.

A case is sent through the intake service to the served demo instance (the public forms arrive
in a later change); everything after that happens in the browser: sign in with the codename, read
the case back, add information, withdraw one person's consent, delete it, sign out.
"""

from typing import Any

import pytest

from tests.conftest import SentSubmission

pytestmark = pytest.mark.browser


def test_sign_in_read_back_add_withdraw_delete_and_sign_out(
    page: Any, portal_server: str, sent_case: SentSubmission
) -> None:
    page.goto(portal_server + "/inbox/sign-in")
    page.fill("#codename", "wrong " + sent_case.codename)
    page.click("text=Open my inbox")
    assert "does not open an inbox" in page.inner_text("main")

    page.fill("#codename", sent_case.codename)
    page.click("text=Open my inbox")
    assert page.url == portal_server + "/inbox"
    page.click(f"a[href='/inbox/{sent_case.public_id}']")
    main = page.inner_text("main")
    assert sent_case.form["situation"] in main and "Amina Defender" in main

    page.fill("#further-text", "She was moved to another prison.")
    page.click("text=Add to this submission")
    assert "She was moved to another prison." in page.inner_text("#further-information ~ ol")

    page.check("#level-0-internal_only")
    page.check("#giver-0-family")
    page.check("#risks-0")
    page.click("text=Record this consent")
    assert "As it stands now: EU internal background only" in page.inner_text("main")

    page.check("#understood")
    page.click("text=Delete for good")
    assert page.url == portal_server + "/inbox"
    assert "You deleted this submission on" in page.inner_text("#submissions")
    assert page.locator(f"a[href='/inbox/{sent_case.public_id}']").count() == 0

    page.click("text=Sign out")
    assert "You have signed out." in page.inner_text("main")
    page.goto(portal_server + "/inbox")
    assert page.url == portal_server + "/inbox/sign-in"
