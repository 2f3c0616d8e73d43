"""The inbox in Chromium with JavaScript: the key stays in the tab, envelopes only on the wire.

A case full of canary strings is sent through the intake service to the served demo instance;
then, in the browser, the person signs in with the codename, reads the case back (opened in the
page), adds information, withdraws one person's consent, deletes the case and signs out. Every
request and every inbox answer is recorded: the codename and the canary never leave the page,
and no answer of the server carries the canary.
"""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

import crypto
from portal.db import Database
from portal.models import SubmissionKind, utc_now
from portal.services.contexts import new_public_id
from portal.services.leaky_bucket import locked_bucket
from portal.services.proof_of_work import ChallengePolicy
from portal.services.submissions.submitters import GLOBAL_BUCKET, SignInLimit
from tests.browser.journeys import neighbouring_codename_words
from tests.conftest import DemoInstance, SentSubmission, seal_as_before_per_submission_keys

pytestmark = pytest.mark.browser

CANARY = "CANARY-5e1d0b"
KEY_SEED_ENTRY = "parley.inbox.keySeed"
CASE_FORM = {
    "topics": ["human_rights_defenders"],
    "persons": [
        {
            "name": f"{CANARY} Amina",
            "consent": {"level": "handover_list", "given_by": "person", "risks_explained": True},
        }
    ],
    "situation": f"{CANARY} detained after meeting the EU Delegation.",
    "relation_to_person": "colleague",
}
ADDED = f"{CANARY} moved to another prison."


class Traffic:
    """Every request the page makes, and the bodies of the inbox's answers."""

    def __init__(self, page: Any) -> None:
        self.requests: list[tuple[str, str, str, str]] = []
        self.inbox_answers: list[tuple[str, bytes]] = []
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, request: Any) -> None:
        body = (request.post_data_buffer or b"").decode("utf-8", "replace")
        headers = json.dumps(request.all_headers())
        self.requests.append((request.method, request.url, headers, body))

    def _response(self, response: Any) -> None:
        # A redirect has no body to read (the page it leads to is answered on its own).
        redirect = 300 <= response.status < 400 or response.request.redirected_to is not None
        if "/inbox" in response.url and not redirect:
            self.inbox_answers.append((response.url, response.body()))


def _seed_in_tab(page: Any) -> str | None:
    return page.evaluate("(entry) => window.sessionStorage.getItem(entry)", KEY_SEED_ENTRY)


def _sign_in(page: Any, portal_server: str, codename: str) -> None:
    page.goto(portal_server + "/inbox/sign-in")
    page.fill("#codename", codename)
    page.click("text=Open my inbox")
    page.wait_for_url(portal_server + "/inbox")
    assert _seed_in_tab(page) is not None


def test_sign_in_read_back_add_withdraw_delete_and_sign_out(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    traffic = Traffic(js_page)
    _sign_in(js_page, portal_server, sent.codename)

    js_page.click(f"a[href='/inbox/{sent.public_id}']")
    read_back = js_page.locator("#read-back")
    read_back.get_by_text(CASE_FORM["situation"]).wait_for()
    assert js_page.locator("#sealed-status").is_hidden()
    assert js_page.locator(".person-name").inner_text() == f"{CANARY} Amina"

    js_page.fill("#further-text", ADDED)
    js_page.click("text=Add to this submission")
    js_page.locator("#further-information-list").get_by_text(ADDED).wait_for()
    js_page.reload()
    js_page.locator("#further-information-list").get_by_text(ADDED).wait_for()
    assert js_page.locator("#further-information-list li").count() == 1

    js_page.check("#level-0-internal_only")
    js_page.check("#giver-0-family")
    js_page.check("#risks-0")
    js_page.click("text=Record this consent")
    js_page.locator("#consent-changes li").wait_for()
    assert "As it stands now: EU internal background only" in js_page.inner_text(".consent-as-now")
    assert "Amina: EU internal background only" in js_page.inner_text("#consent-changes")

    js_page.click("text=Delete for good")
    assert js_page.url.startswith(portal_server + f"/inbox/{sent.public_id}")
    js_page.check("#understood")
    js_page.click("text=Delete for good")
    js_page.wait_for_url(portal_server + "/inbox")
    assert "You deleted this submission on" in js_page.inner_text("#submissions")
    assert js_page.locator(f"a[href='/inbox/{sent.public_id}']").count() == 0

    js_page.click("text=Sign out")
    js_page.wait_for_url(re.compile(r"/inbox/sign-in\?signed_out=1$"))
    assert "You have signed out." in js_page.inner_text("main")
    assert js_page.evaluate("() => window.sessionStorage.length") == 0

    _assert_nothing_leaked(traffic, sent.codename)


def _assert_nothing_leaked(traffic: Traffic, codename: str) -> None:
    """No request holds the codename, two neighbouring words of it or the canary; no answer
    holds the canary.

    In headers only the whole codename is looked for: a browser's own header values can hold a
    word of the list without anything having leaked.
    """
    urls = [url for _method, url, _headers, _body in traffic.requests]
    assert any(url.endswith("/inbox/sign-in/login-secret") for url in urls)
    assert any(url.endswith("/sealed-further-information") for url in urls)
    assert any(url.endswith("/sealed-consent") for url in urls)
    assert not any(
        method == "POST" and url.endswith("/inbox/sign-in")
        for method, url, _headers, _body in traffic.requests
    )
    for _method, url, headers, body in traffic.requests:
        for text in (url, headers, body):
            assert CANARY.lower() not in text.lower()
            assert codename.lower() not in text.lower()
        for text in (url, body):
            assert not neighbouring_codename_words(codename).search(text), url
    assert any(url.endswith("/sealed") for url, _body in traffic.inbox_answers)
    for url, body in traffic.inbox_answers:
        assert CANARY.encode() not in body, url


def test_no_form_to_add_information_without_the_module_or_the_key(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    """A page that cannot seal offers nothing to type into: no plain post can leave it."""
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    _sign_in(js_page, portal_server, sent.codename)
    address = f"{portal_server}/inbox/{sent.public_id}"
    js_page.goto(address)
    js_page.locator("#further-information-form").wait_for()

    new_tab = js_page.context.new_page()
    new_tab.goto(address)
    new_tab.get_by_text("sign in again in this tab").wait_for()
    assert new_tab.locator("#further-information-form, textarea").count() == 0
    assert new_tab.locator("#read-back").inner_text() == ""
    new_tab.close()

    js_page.route("**/static/js/inbox.mjs", lambda route: route.abort())
    js_page.reload()
    js_page.wait_for_load_state("networkidle")
    expect(js_page.locator("#sealed-status")).to_be_visible()
    assert js_page.locator("#further-information-form, textarea").count() == 0
    assert js_page.locator("#read-back").inner_text() == ""


def _stranger_key(codename: str) -> bytes:
    return crypto.public_key_bytes(crypto.generate_private_key())


def _key_of_another_submission(codename: str) -> bytes:
    key_seed = crypto.derive_codename_secrets(codename).key_seed
    return crypto.derive_submission_keys(key_seed, new_public_id()).public_key_bytes()


@pytest.mark.parametrize(
    "swapped_key",
    [_stranger_key, _key_of_another_submission],
    ids=["a stranger's key", "the key of another submission of the codename"],
)
def test_the_page_refuses_a_submitter_key_it_does_not_derive_itself(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
    swapped_key: Callable[[str], bytes],
) -> None:
    """A server that hands the tab another key to seal to gets nothing opened and nothing sent.

    The page's HTML is rewritten on its way to the browser, as a tampered server would send it:
    ``data-submitter-key`` names a stranger's key, or a key the same codename gives another
    submission. The tab compares it with the key its own seed derives for this submission's
    public id and stops before fetching or sealing anything.
    """
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    stranger = swapped_key(sent.codename).hex()

    def swap_key(route: Any) -> None:
        response = route.fetch()
        page = re.sub(
            r'data-submitter-key="[0-9a-f]{64}"',
            f'data-submitter-key="{stranger}"',
            response.text(),
        )
        route.fulfill(response=response, body=page)

    _sign_in(js_page, portal_server, sent.codename)
    traffic = Traffic(js_page)
    js_page.route(f"{portal_server}/inbox/{sent.public_id}", swap_key)
    js_page.goto(f"{portal_server}/inbox/{sent.public_id}")

    status = js_page.locator("#sealed-status")
    status.get_by_text("not the one your codename gives").wait_for()
    assert js_page.locator("#further-text").count() == 0
    inbox_calls = [url for _method, url, _h, _b in traffic.requests if "/inbox/" in url]
    assert inbox_calls == [f"{portal_server}/inbox/{sent.public_id}"], inbox_calls
    assert CANARY not in js_page.inner_text("main")


def test_a_submission_sealed_before_per_submission_keys_reads_back_in_the_tab(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    """A row that names the codename's own key is opened with the seed itself, and what is added
    is sealed to that key, which the server accepts for that row."""
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    seal_as_before_per_submission_keys(portal_server_instance.settings, sent)
    _sign_in(js_page, portal_server, sent.codename)
    js_page.goto(f"{portal_server}/inbox/{sent.public_id}")

    js_page.locator("#read-back").get_by_text(CASE_FORM["situation"]).wait_for()
    # Nor signatures, which came later still: the tab says so rather than "could not be verified".
    assert "Sent before signatures" in js_page.inner_text("#sealed-submission")
    assert "could not be verified" not in js_page.inner_text("#sealed-submission")
    js_page.fill("#further-text", ADDED)
    js_page.click("text=Add to this submission")
    js_page.locator("#further-information-list").get_by_text(ADDED).wait_for()
    js_page.reload()
    js_page.locator("#further-information-list").get_by_text(ADDED).wait_for()


def test_while_many_sign_ins_fail_the_page_does_the_proof_of_work_and_signs_in(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    database = Database(portal_server_instance.settings.database_url)
    policy = ChallengePolicy()
    try:
        with database.session() as session:
            # Half-way to the second bit: the first stays asked while the test runs.
            level = policy.calm_failures + policy.failures_per_bit / 2
            locked_bucket(session, GLOBAL_BUCKET, SignInLimit(), utc_now()).level = level
            session.commit()
        traffic = Traffic(js_page)
        answers: list[int] = []
        js_page.on(
            "response",
            lambda response: (
                answers.append(response.status)
                if response.url.endswith("/inbox/sign-in/login-secret")
                else None
            ),
        )

        _sign_in(js_page, portal_server, sent.codename)

        posted = [
            json.loads(body)
            for method, url, _, body in traffic.requests
            if method == "POST" and url.endswith("/inbox/sign-in/login-secret")
        ]
        # Signed in (``_sign_in`` waited for the inbox) at the second post, which carried the
        # proof the first answer asked for.
        assert answers[0] == 429 and len(posted) == 2
        assert "proof" not in posted[0] and set(posted[1]["proof"]) == {"challenge", "nonce"}
    finally:
        with database.session() as session:
            locked_bucket(session, GLOBAL_BUCKET, SignInLimit(), utc_now()).level = 0.0
            session.commit()
        database.dispose()
