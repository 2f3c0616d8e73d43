"""A field added to a kind's declaration reaches every place that knows the kind's fields.

The declaration (``portal.services.submissions.kinds``) is the only list of a kind's fields, so
a field added there, here by a test-only extension of the registry, must be validated by the
server, asked for by the form without JavaScript, carried in the page for the browser's checks,
stored when sent, and read back in the submitter's inbox and on the desk's triage page. (The
browser module collecting such a field is shown by tests/js/submit-form.test.mjs.)
"""

import json
import re
from dataclasses import replace

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from portal.models import SubmissionKind
from portal.services.submissions import kinds
from portal.services.submissions.messages import validate_message
from portal.services.submissions.payload import PayloadError, validate_submission
from tests.conftest import DemoInstance
from tests.integration.forms_client import (
    desk_private_key,
    open_form,
    open_payload,
    post_form,
    stored_submission,
)

REPRISAL_URL = "/dialogues/valdoria/reprisal-report"
REPRISAL = {
    "what_happened": "Passport confiscated after speaking at the UN.",
    "when": "last week",
    "link_to_engagement": "Spoke at the Human Rights Council side event.",
    "urgency": "standard",
}
WITNESS = kinds.Field(
    "witness",
    kinds.FieldType.SHORT_TEXT,
    "Who else saw it",
    required=True,
    help="A role, not a name.",
    submitter_label="Who else saw it, as you wrote",
    desk_label="Witness named by the submitter",
)


@pytest.fixture(autouse=True)
def witnessed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reprisal reports ask for a witness, in this module only."""
    declared = kinds.KINDS[SubmissionKind.REPRISAL_REPORT]
    monkeypatch.setitem(
        kinds.KINDS,
        SubmissionKind.REPRISAL_REPORT,
        replace(declared, fields=(*declared.fields, WITNESS)),
    )


def test_the_server_validates_the_added_field() -> None:
    with pytest.raises(PayloadError) as missing:
        validate_submission(REPRISAL, SubmissionKind.REPRISAL_REPORT)
    assert missing.value.errors == {"witness": "is required"}
    with pytest.raises(PayloadError) as too_long:
        validate_submission({**REPRISAL, "witness": "x" * 201}, SubmissionKind.REPRISAL_REPORT)
    assert too_long.value.errors == {"witness": "must be at most 200 characters"}
    payload = validate_submission(
        {**REPRISAL, "witness": " a guard "}, SubmissionKind.REPRISAL_REPORT
    )
    assert list(payload)[-2:] == ["persons", "witness"] and payload["witness"] == "a guard"


def test_the_form_asks_for_it_and_the_page_carries_it(client: FlaskClient) -> None:
    html = open_form(client, REPRISAL_URL).html
    assert re.search(
        r'<input type="text" dir="auto" id="field-witness" name="witness" value="" maxlength="200"',
        html,
    )
    assert '<label for="field-witness">Who else saw it <span class="required">' in html
    assert '<p class="hint" id="field-witness-hint">A role, not a name.</p>' in html
    carried = re.search(
        r'<script type="application/json" id="kind-declaration">(.*?)</script>', html, re.S
    )
    assert carried is not None
    declared = json.loads(carried[1])
    assert declared["kind"] == "reprisal_report"
    assert declared["fields"][-1] == {
        "name": "witness",
        "type": "short_text",
        "label": "Who else saw it",
        "submitter_label": "Who else saw it, as you wrote",
        "desk_label": "Witness named by the submitter",
        "required": True,
        "limit": 200,
        "choices": [],
        "identifying": False,
    }


def test_a_form_without_it_is_refused_and_with_it_stored(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, REPRISAL_URL)
    status, html = post_form(client, form, REPRISAL)
    assert status == 400
    assert 'id="field-witness-error"' in html
    assert 'href="#field-witness">Who else saw it: Fill this in.' in html

    form = open_form(client, REPRISAL_URL)
    status, _ = post_form(client, form, {**REPRISAL, "witness": "a guard"})
    assert status == 200
    submission = stored_submission(app, form.hidden["public_id"])
    payload = open_payload(submission, desk_private_key(app, writable_demo_instance, "valdoria"))
    assert payload["witness"] == "a guard"


@pytest.mark.parametrize(
    ("template", "macro", "words"),
    [
        ("inbox/_payload.html", "payload_fields", "Who else saw it, as you wrote"),
        ("staff/triage/_payload.html", "staff_payload", "Witness named by the submitter"),
    ],
)
def test_the_inbox_and_the_desk_read_it_back(
    app: Flask, template: str, macro: str, words: str
) -> None:
    payload = validate_submission(
        {**REPRISAL, "witness": "a guard"}, SubmissionKind.REPRISAL_REPORT
    )
    source = f'{{% from "{template}" import {macro} %}}{{{{ {macro}(payload, kind) }}}}'
    with app.test_request_context():
        html = render_template_string(source, payload=payload, kind="reprisal_report")
    assert f'<dt>{words}</dt><dd class="written">a guard</dd>' in html


def test_the_page_tells_the_browser_the_ladder_and_the_inbox_limit_the_server_enforces() -> None:
    carried = kinds.as_json(kinds.declaration(SubmissionKind.INDIVIDUAL_CASE))
    assert carried["consent"] == {
        "level": [str(level) for level in kinds.ConsentLevel],
        "given_by": [str(giver) for giver in kinds.ConsentGiver],
    }
    limit = carried["inbox_text_limit"]
    faces = "\U0001f600" * limit
    assert validate_message({"text": faces})["text"] == faces
    with pytest.raises(PayloadError):
        validate_message({"text": "x" * (limit + 1)})
