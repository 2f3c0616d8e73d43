"""The four forms in Chromium with JavaScript: sealed in the page, envelopes only on the wire.

Each form is filled in, sent, its new codename shown by the page and retyped; then the stored
envelope is opened in Python with the desk key (through the demo instance's recovery-key grant)
and compared with what was typed. One test records every request the page makes while a form
full of canary strings is sent, and finds neither the canary nor the codename in any of them.
The browser's own checks of a form are compared with the server's on the same inputs.
"""

import json
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

import crypto
from portal.instance import InstanceFolder
from portal.models import SubmissionKind, Topic
from portal.services.submissions.kinds import as_json, declaration
from portal.services.submissions.payload import PayloadError, validate_submission
from tests.browser.journeys import (
    fill_individual_case,
    neighbouring_codename_words,
    open_session_form,
    send_and_keep_codename,
)
from tests.conftest import DemoInstance
from tests.integration.forms_client import (
    desk_private_key,
    identity_private_key,
    open_in_full,
    stored_submission,
)

pytestmark = pytest.mark.browser

PAYLOAD_MODULE = "/static/js/sealed-submission.mjs"


def _stored_payload(
    app: Flask, instance: DemoInstance, public_id: str, codename: str
) -> dict[str, Any]:
    submission = stored_submission(app, public_id)
    # The desk side: the payload with its persons' names, which only the identity key opens.
    payload = open_in_full(
        submission,
        desk_private_key(app, instance, "valdoria"),
        identity_private_key(app, instance, "valdoria"),
    )
    key_seed = crypto.derive_codename_secrets(codename).key_seed
    # Sealed to the key the page derived for this submission, which is what the row names.
    own = crypto.derive_submission_keys(key_seed, submission.public_id)
    assert submission.submitter_public_key == own.public_key_bytes()
    own_key = own.private_key()
    assert open_in_full(submission, own_key) == payload
    # Signed in the page with the signing key derived beside it, which it names inside.
    signatures = payload.pop("signatures")
    assert signatures["submission_key"] == own.signing_public_key().hex()
    # And the recovery signing key the page names from the instance folder, a certifier of
    # later desk keys it will accept.
    recorded = InstanceFolder(instance.settings.instance_dir).load_recovery_signing_key()
    assert signatures["format"] == "parley-signatures-v2"
    assert signatures["recovery_key"] == recorded.hex()
    assert submission.signing_public_key == own.signing_public_key()
    assert submission.signature is not None
    return payload


def test_individual_case_with_javascript(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Case")
    codename = send_and_keep_codename(js_page)
    expect(js_page.get_by_role("link", name="Sign in to your inbox")).to_be_visible()

    payload = _stored_payload(served_app, portal_server_instance, public_id, codename)
    assert payload == validate_submission(
        {
            "situation": "Case detained",
            "place": "Case place",
            "dates": "Case dates",
            "relation_to_person": "Case colleague",
            "earlier_referrals": "Case referrals",
            "persons": [
                {
                    "name": "Case person",
                    "consent": {
                        "level": "raise_by_name",
                        "given_by": "family",
                        "risks_explained": True,
                    },
                }
            ],
            "topics": ["human_rights_defenders"],
            "women_hrd": True,
        },
        SubmissionKind.INDIVIDUAL_CASE,
    )
    assert stored_submission(served_app, public_id).topic_tags == ["human_rights_defenders"]


def test_reprisal_report_with_javascript_checks_fields_first(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    public_id = open_session_form(js_page, portal_server, "/reprisal-report")
    sealed_posts: list[str] = []
    js_page.on(
        "request",
        lambda request: sealed_posts.append(request.url) if request.method == "POST" else None,
    )
    js_page.locator("#field-what_happened").fill("Travel ban after the UN.")
    js_page.locator("#field-when").fill("yesterday")
    js_page.get_by_role("button", name="Send").click()
    assert js_page.locator("#field-link_to_engagement").get_attribute("aria-invalid") == "true"
    expect(js_page.locator("#error-summary a[href='#field-link_to_engagement']")).to_be_visible()
    assert js_page.locator("#field-what_happened").input_value() == "Travel ban after the UN."
    assert sealed_posts == []

    js_page.get_by_label("How it is linked to engaging").fill("Side event at the Council.")
    js_page.get_by_label("Urgent: someone is in danger now").check()
    codename = send_and_keep_codename(js_page)

    payload = _stored_payload(served_app, portal_server_instance, public_id, codename)
    assert payload["urgency"] == "urgent" and payload["persons"] == []
    assert payload["link_to_engagement"] == "Side event at the Council."
    assert stored_submission(served_app, public_id).urgent


def test_agenda_input_with_javascript(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    public_id = open_session_form(js_page, portal_server, "/agenda-input")
    js_page.get_by_label("The situation as you see it").fill("  Shrinking civic space.  ")
    js_page.get_by_label("Your sources").fill("Local monitors")
    js_page.get_by_label("Rule of law").check()
    js_page.get_by_label("Freedom of expression").check()
    codename = send_and_keep_codename(js_page)

    payload = _stored_payload(served_app, portal_server_instance, public_id, codename)
    assert payload["situation"] == "Shrinking civic space."
    assert payload["sources"] == "Local monitors"
    assert payload["topics"] == ["freedom_of_expression", "rule_of_law"]


def test_seminar_recommendations_with_javascript_and_rows_added_in_the_page(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    public_id = open_session_form(js_page, portal_server, "/seminar-recommendations")
    js_page.get_by_label("The seminar (title, place, date)").fill("Seminar, Brussels")
    first = js_page.locator("#field-recommendations-0")
    first.get_by_label("Recommendation", exact=True).fill("Free the journalists.")
    first.get_by_label("Addressed to").fill("Government")
    first.get_by_label("Agenda theme").select_option("freedom_of_expression")
    js_page.get_by_role("button", name="Add more rows").click()
    added = js_page.locator("#field-recommendations-7")
    assert js_page.locator("input[name='recommendation_rows']").input_value() == "10"
    added.get_by_label("Recommendation", exact=True).fill("Ratify the protocol.")
    added.get_by_label("Addressed to").fill("Parliament")
    added.get_by_label("Agenda theme").select_option("multilateral_engagement")
    codename = send_and_keep_codename(js_page)

    payload = _stored_payload(served_app, portal_server_instance, public_id, codename)
    assert payload["recommendations"] == [
        {
            "text": "Free the journalists.",
            "addressee": "Government",
            "topic": "freedom_of_expression",
        },
        {
            "text": "Ratify the protocol.",
            "addressee": "Parliament",
            "topic": "multilateral_engagement",
        },
    ]


def test_no_plaintext_or_codename_leaves_the_page(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    """Every request while a form of canaries is sent: bodies, addresses and headers.

    In bodies and addresses every two neighbouring words of the codename are looked for, joined
    by any separator (space, ``+``, ``%20``, ``-``...); in headers the whole codename is. A single
    word alone proves nothing: the list holds words such as ``true`` that every JSON body and
    some header values (``same-origin``...) contain without anything having leaked.
    """
    canary = "CANARY-7f3a9c"
    requests: list[Any] = []
    js_page.on("request", lambda request: requests.append(request))
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, canary)
    codename = send_and_keep_codename(js_page)

    assert any(request.url.endswith("/sealed-submissions") for request in requests)
    for request in requests:
        body = (request.post_data_buffer or b"").decode("utf-8", "replace")
        headers = json.dumps(request.all_headers())
        for text in (body, request.url, headers):
            assert canary.lower() not in text.lower()
            assert codename.lower() not in text.lower()
        for text in (body, request.url):
            assert not neighbouring_codename_words(codename).search(text)
    payload = _stored_payload(served_app, portal_server_instance, public_id, codename)
    assert payload["situation"] == f"{canary} detained"


def test_browser_checks_agree_with_the_server(crypto_page: Any) -> None:
    """The same inputs, checked by ``sealed-submission.mjs`` and by ``validate_submission``."""
    crypto_page.evaluate(f"async () => {{ window.checks = await import('{PAYLOAD_MODULE}'); }}")
    person = {"name": "A", "consent": {"level": "", "given_by": "family", "risks_explained": False}}
    inputs = [
        (SubmissionKind.AGENDA_INPUT, {"situation": "  ", "topics": []}),
        (SubmissionKind.AGENDA_INPUT, {"situation": "ok", "topics": ["rule_of_law", "weather"]}),
        (SubmissionKind.AGENDA_INPUT, {"situation": "x" * 20_001, "topics": ["children"]}),
        (SubmissionKind.INDIVIDUAL_CASE, {"situation": "x", "relation_to_person": "y"}),
        (SubmissionKind.INDIVIDUAL_CASE, {"situation": "x", "persons": [person, {}]}),
        (SubmissionKind.REPRISAL_REPORT, {"what_happened": "x", "urgency": "soon"}),
        (SubmissionKind.SEMINAR_RECOMMENDATIONS, {"seminar": "s", "recommendations": []}),
        (
            SubmissionKind.SEMINAR_RECOMMENDATIONS,
            {"seminar": "s", "recommendations": [{"text": "t", "addressee": "", "topic": "x"}]},
        ),
    ]
    for kind, data in inputs:
        browser = crypto_page.evaluate(
            "([data, declared]) => window.checks.validateSubmission(data, declared).errors",
            [data, as_json(declaration(kind))],
        )
        with pytest.raises(PayloadError) as refused:
            validate_submission(data, kind)
        assert browser == refused.value.errors, (kind, data)
    valid = {"situation": " fine ", "topics": ["rule_of_law", "children", "children"]}
    browser_payload = crypto_page.evaluate(
        "([data, declared]) => window.checks.validateSubmission(data, declared)",
        [valid, as_json(declaration(SubmissionKind.AGENDA_INPUT))],
    )
    assert browser_payload == {
        "payload": validate_submission(valid, SubmissionKind.AGENDA_INPUT),
        "errors": {},
    }
    topics = as_json(declaration(SubmissionKind.AGENDA_INPUT))["common"][0]
    assert topics["choices"] == [str(topic) for topic in Topic]
