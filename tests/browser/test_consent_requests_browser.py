"""Consent asked again for a new round, answered in Chromium on each inbox path.

A case is sent to the served demo instance and recorded as raised in the session open now; the
next session's consultation then opens, which asks its submitter to confirm again
(``tests.integration.test_consent_requests.Rounds``). In the browser the person sees the request
in the inbox, confirms one of the two people named for that session, and the desk's reading
then gives that person the level confirmed and leaves the other background only.
"""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from portal.models import utc_now
from portal.services.submissions.payload import ConsentLevel
from tests.conftest import DemoInstance, SentSubmission
from tests.integration.test_consent_requests import ASKED, Rounds

pytestmark = pytest.mark.browser


@pytest.fixture
def rounds(served_app: Flask, portal_server_instance: DemoInstance) -> Rounds:
    return Rounds(served_app, portal_server_instance.recovery_key)


def _sign_in(page: Any, portal_server: str, codename: str) -> None:
    page.goto(portal_server + "/inbox/sign-in")
    page.fill("#codename", codename)
    page.click("text=Open my inbox")
    page.wait_for_url(portal_server + "/inbox")


def _confirm_first_person(page: Any, portal_server: str, sent: SentSubmission) -> None:
    """From the inbox's request to the submission page, confirm person 1 as raised by name."""
    assert ASKED in page.inner_text("#consent-requests")
    page.click(f"#consent-requests a[href^='/inbox/{sent.public_id}']")
    page.locator("#level-0-raise_by_name").wait_for()
    assert ASKED in page.inner_text("#round-request")
    assert "background only until you confirm" in page.inner_text(".person >> nth=0")
    page.check("#level-0-raise_by_name")
    page.check("#giver-0-person")
    page.check("#risks-0")
    page.click(".person >> nth=0 >> button")
    confirmed = page.locator(".person >> nth=0 >> .round-status:not(.round-awaiting)")
    confirmed.wait_for()
    assert confirmed.inner_text().startswith("Confirmed for the session of")
    assert "background only until you confirm" in page.inner_text(".person >> nth=1")


def _check_answered(rounds: Rounds, sent: SentSubmission, round_id: int) -> None:
    request = rounds.request(sent.public_id, round_id)
    assert request is not None and request.answered_on == utc_now().date()
    assert rounds.levels(sent.public_id, round_id) == [
        ConsentLevel.RAISE_BY_NAME,
        ConsentLevel.INTERNAL_ONLY,
    ]


def test_a_confirmation_sealed_in_the_tab(
    js_page: Any,
    portal_server: str,
    rounds: Rounds,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent, round_id = rounds.case_asked_again(send_under_new_codename)
    _sign_in(js_page, portal_server, sent.codename)
    posted: list[str] = []
    js_page.on("request", lambda request: posted.append(request.post_data or ""))

    _confirm_first_person(js_page, portal_server, sent)

    assert any(f'"round":{round_id}' in body and "envelope" in body for body in posted)
    _check_answered(rounds, sent, round_id)


def test_a_confirmation_without_javascript(
    page: Any,
    portal_server: str,
    rounds: Rounds,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent, round_id = rounds.case_asked_again(send_under_new_codename)
    _sign_in(page, portal_server, sent.codename)

    _confirm_first_person(page, portal_server, sent)

    _check_answered(rounds, sent, round_id)
