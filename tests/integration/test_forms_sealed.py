"""The JavaScript path's endpoint: envelopes sealed by the browser, checked and stored.

Python's ``crypto`` package stands in for the browser module: it reads what the form page hands
the script (``data-*`` attributes), makes a codename, seals the payload and posts the JSON that
``static/js/submit-form.mjs`` posts. Every refusal is checked to store nothing: the row counts
of every table (the sign-in throttle aside) and the storage folder are compared.
"""

import base64
import datetime as dt
import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

import crypto
from crypto.codename import display_wordlist
from portal.blueprints.forms import codename_refusal
from portal.db import app_database
from portal.models import SubmissionKind, SubmissionTopic, utc_now
from portal.services.contexts import new_public_id
from portal.services.leaky_bucket import bucket_level, locked_bucket
from portal.services.proof_of_work import ChallengePolicy
from portal.services.submissions.identities import carries_identities, split_identities
from portal.services.submissions.payload import encode_payload, validate_submission
from portal.services.submissions.provenance import signatures_block
from portal.services.submissions.submitters import (
    GLOBAL_BUCKET,
    SignInLimit,
)
from portal.web.instance import web_instance
from tests.conftest import DemoInstance
from tests.integration.forms_client import (
    OpenedForm,
    desk_private_key,
    identity_private_key,
    open_form,
    open_in_full,
    open_payload,
    open_session_url,
    row_counts,
    storage_listing,
    stored_submission,
)
from tests.proof_of_work_support import solve

SEALED_URL = "/sealed-submissions"
DATA_ATTRIBUTE = re.compile(r' data-([\w-]+)="([^"]*)"')

FORMS: dict[SubmissionKind, tuple[str, dict[str, Any]]] = {
    SubmissionKind.AGENDA_INPUT: (
        "agenda-input",
        {"situation": "Shrinking civic space.", "topics": ["freedom_of_expression"]},
    ),
    SubmissionKind.INDIVIDUAL_CASE: (
        "individual-case",
        {
            "situation": "Held without charge.",
            "relation_to_person": "colleague",
            "persons": [
                {
                    "name": "Mira Okonkwo",
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
    ),
    SubmissionKind.REPRISAL_REPORT: (
        "reprisal-report",
        {
            "what_happened": "Passport confiscated.",
            "when": "last week",
            "link_to_engagement": "Spoke at a side event.",
            "urgency": "urgent",
        },
    ),
    SubmissionKind.SEMINAR_RECOMMENDATIONS: (
        "seminar-recommendations",
        {
            "seminar": "Civil society seminar",
            "recommendations": [
                {"text": "Free the journalists.", "addressee": "Government", "topic": "rule_of_law"}
            ],
        },
    ),
}


@dataclass
class BrowserSubmission:
    """What the stand-in browser sealed and is about to post."""

    form: OpenedForm
    payload: dict[str, Any]
    codename: str
    body: dict[str, Any]


def _form_url(app: Flask, kind: SubmissionKind) -> str:
    path = FORMS[kind][0]
    if kind is SubmissionKind.REPRISAL_REPORT:
        return "/dialogues/valdoria/reprisal-report"
    return open_session_url(app, path)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal_in_browser(
    client: FlaskClient,
    url: str,
    kind: SubmissionKind,
    *,
    codename: str | None = None,
    recipients: Callable[[bytes, bytes], list[bytes]] = lambda desk, own: [desk, own],
    context: Callable[[str], str] = lambda given: given,
) -> BrowserSubmission:
    """Do what the form's script does, from the form page at ``url``.

    ``codename`` given: an existing submitter; else a new one. ``recipients`` and ``context``
    let a test seal the envelope as a faulty or hostile browser would; ``own`` is the key the
    submission's public id derives to, which the browser also sends as ``submission_key``.
    """
    form = open_form(client, url)
    data = {name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(form.html)}
    new = codename is None
    codename = crypto.generate_codename("en") if codename is None else codename
    secrets = crypto.derive_codename_secrets(codename)
    own_key = crypto.derive_submission_keys(secrets.key_seed, form.hidden["public_id"])
    payload = validate_submission(FORMS[kind][1], kind)
    sealed_payload, identities = split_identities(payload, kind)
    if "identity-key" not in data:
        sealed_payload = payload
    desk_signing_key = bytes.fromhex(data["desk-signing-key"]) or None
    sealed_payload = {
        **sealed_payload,
        "signatures": signatures_block(own_key.signing_public_key(), desk_signing_key, None),
    }
    envelope = crypto.seal_envelope(
        encode_payload(sealed_payload),
        recipients(bytes.fromhex(data["desk-key"]), own_key.public_key_bytes()),
        context(data["context"]),
    )
    body: dict[str, Any] = {
        "dialogue": data["dialogue"],
        "session": int(data["session"]) if data["session"] else None,
        "kind": data["kind"],
        "public_id": form.hidden["public_id"],
        "envelope": _b64(envelope),
        "signature": _b64(crypto.sign_item(own_key.signing_seed, data["context"], envelope)),
        "submission_key": _b64(own_key.public_key_bytes()),
        "signing_key": _b64(own_key.signing_public_key()),
        "login_secret": _b64(secrets.login_secret),
        "owner_tag_key": _b64(crypto.owner_tag_key(secrets.key_seed)),
        "new_submitter": new,
        "topics": payload["topics"],
        "urgent": payload.get("urgency") == "urgent",
    }
    if "identity-key" in data:
        identities_envelope = crypto.seal_envelope(
            encode_payload(identities),
            [bytes.fromhex(data["identity-key"]), own_key.public_key_bytes()],
            data["identities-context"],
        )
        body["identities_envelope"] = _b64(identities_envelope)
        body["identities_signature"] = _b64(
            crypto.sign_item(own_key.signing_seed, data["identities-context"], identities_envelope)
        )
    if new:
        body["public_key"] = _b64(secrets.public_key_bytes())
    return BrowserSubmission(form, payload, codename, body)


def signed_again(submission: BrowserSubmission, envelope: bytes) -> None:
    """Put ``envelope`` in the request, signed as the browser signs it (for tests that seal
    their own content)."""
    secrets = crypto.derive_codename_secrets(submission.codename)
    public_id = submission.body["public_id"]
    seed = crypto.derive_submission_keys(secrets.key_seed, public_id).signing_seed
    data = {
        name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(submission.form.html)
    }
    submission.body["envelope"] = _b64(envelope)
    submission.body["signature"] = _b64(crypto.sign_item(seed, data["context"], envelope))


def post_sealed(
    client: FlaskClient, submission: BrowserSubmission, **headers: str
) -> tuple[int, dict[str, Any]]:
    token = {"X-CSRFToken": submission.form.hidden["csrf_token"], **headers}
    response = client.post(SEALED_URL, json=submission.body, headers=token)
    return response.status_code, response.get_json()


def test_form_hands_the_script_its_public_sealing_data(app: Flask, client: FlaskClient) -> None:
    url = open_session_url(app, "individual-case")
    form = open_form(client, url)
    data = dict(DATA_ATTRIBUTE.findall(form.html))
    session_id = url.split("/")[4]
    public_id = form.hidden["public_id"]
    assert data["context"] == (
        f"parley submission v2|dialogue:valdoria|session:{session_id}|kind:individual_case"
        f"|submission:{public_id}|item:{public_id}|position:0|direction:to desk"
    )
    assert data["sealed-url"] == SEALED_URL and data["kind"] == "individual_case"
    assert data["codename-words-url"] == "/codename-words/en.txt"
    assert re.fullmatch(r"[0-9a-f]{64}", data["desk-key"])
    assert re.fullmatch(r"[0-9a-f]{64}", data["desk-signing-key"])
    assert '<script type="module" src="/static/js/submit-form.mjs">' in form.html


@pytest.mark.parametrize("kind", list(SubmissionKind))
def test_each_kind_is_stored_sealed_for_a_new_submitter(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance, kind: SubmissionKind
) -> None:
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    before = row_counts(app)

    status, answer = post_sealed(client, sent)

    assert status == 200, answer
    assert answer == {"ok": True, "next": "/inbox/sign-in"}
    after = row_counts(app)
    assert after["submissions"] == before["submissions"] + 1
    assert after["submitters"] == before["submitters"] + 1
    submission = stored_submission(app, sent.form.hidden["public_id"])
    desk_key = desk_private_key(app, writable_demo_instance, "valdoria")
    codename = crypto.derive_codename_secrets(sent.codename)
    own_key = crypto.derive_submission_keys(codename.key_seed, submission.public_id)
    assert submission.submitter_public_key == own_key.public_key_bytes()
    assert submission.submitter_public_key != codename.public_key_bytes()
    tag_key = crypto.owner_tag_key(codename.key_seed)
    assert (submission.owner_tag, submission.submitter_id) == (crypto.owner_tag(tag_key, 0), None)
    identity_key = identity_private_key(app, writable_demo_instance, "valdoria")
    named_desk_key = bytes.fromhex(dict(DATA_ATTRIBUTE.findall(sent.form.html))["desk-signing-key"])
    signed = {
        **sent.payload,
        "signatures": signatures_block(own_key.signing_public_key(), named_desk_key, None),
    }
    assert open_in_full(submission, desk_key, identity_key) == signed
    assert open_in_full(submission, own_key.private_key()) == signed
    assert submission.signing_public_key == own_key.signing_public_key()
    # The persons' names travel only in the identities envelope, which the desk key does not open.
    persons = open_payload(submission, desk_key).get("persons", [])
    assert (submission.identity is not None) is carries_identities(kind)
    assert all("name" not in person for person in persons)
    with pytest.raises(crypto.DecryptionError):
        open_payload(submission, codename.private_key())
    assert submission.topic_tags == sent.payload["topics"]
    assert submission.urgent is (kind is SubmissionKind.REPRISAL_REPORT)


def test_a_new_submitters_agenda_input_is_checked_in_one_read_and_stored_in_few_statements(
    app: Flask, client: FlaskClient
) -> None:
    """The destination, whether the form's id is taken and the sign-in gauge come in one read;
    then the submitter, the submission and its topic rows: each statement costs the server. On
    PostgreSQL the three inserts are one statement, each feeding the next."""
    kind = SubmissionKind.AGENDA_INPUT
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    assert sent.payload["topics"]
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = app_database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert post_sealed(client, sent)[0] == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)

    starts = [" ".join(statement.split()[:3]) for statement in statements]
    assert starts[0] == "SELECT dialogues.id, dialogues.slug,"
    inserts = ["INSERT INTO submitters", "INSERT INTO submissions", "INSERT INTO submission_topics"]
    if engine.dialect.name == "postgresql":
        assert starts[1:] == ["WITH preceding AS"]
        assert [statements[1].index(insert) for insert in inserts] == sorted(
            statements[1].index(insert) for insert in inserts
        )
    else:
        assert starts[1:] == inserts
    stored = stored_submission(app, sent.form.hidden["public_id"])
    assert (stored.gender_specific_risk, stored.risk_hold, stored.women_hrd) == (False,) * 3
    with Session(engine) as session:
        rows = session.execute(
            select(SubmissionTopic.topic, SubmissionTopic.dialogue_id).where(
                SubmissionTopic.submission_id == stored.id
            )
        ).all()
    assert sorted(rows) == [(topic, stored.dialogue_id) for topic in sorted(stored.topic_tags)]
    assert stored.topic_tags == sorted(sent.payload["topics"])


def test_existing_submitter_signs_in_with_the_login_secret_only(
    app: Flask, client: FlaskClient
) -> None:
    first = seal_in_browser(
        client, _form_url(app, SubmissionKind.REPRISAL_REPORT), SubmissionKind.REPRISAL_REPORT
    )
    assert post_sealed(client, first)[0] == 200
    kind = SubmissionKind.AGENDA_INPUT
    second = seal_in_browser(client, _form_url(app, kind), kind, codename=first.codename.upper())
    assert "public_key" not in second.body
    before = row_counts(app)

    status, answer = post_sealed(client, second)

    assert status == 200, answer
    assert row_counts(app)["submitters"] == before["submitters"]
    stored = [stored_submission(app, sent.form.hidden["public_id"]) for sent in (first, second)]
    # Found through the codename's owner tags, 0 then 1; no column names the submitter.
    tag_key = crypto.owner_tag_key(crypto.derive_codename_secrets(first.codename).key_seed)
    assert [submission.owner_tag for submission in stored] == [
        crypto.owner_tag(tag_key, 0),
        crypto.owner_tag(tag_key, 1),
    ]
    assert [submission.submitter_id for submission in stored] == [None, None]
    keys = {bytes(submission.submitter_public_key) for submission in stored}
    assert len(keys) == 2
    assert crypto.derive_codename_secrets(first.codename).public_key_bytes() not in keys


def test_wrong_codename_gets_the_generic_refusal_and_stores_nothing(
    app: Flask, client: FlaskClient
) -> None:
    kind = SubmissionKind.INDIVIDUAL_CASE
    sent = seal_in_browser(client, _form_url(app, kind), kind, codename=crypto.generate_codename())
    before = row_counts(app)

    status, answer = post_sealed(client, sent)

    assert status == 403
    assert answer == {
        "error": "This codename does not open an inbox. Check each word and try again."
    }
    assert row_counts(app) == before


def _sign_in_bucket_level(app: Flask) -> float:
    with app_database(app).session() as session:
        return bucket_level(session, GLOBAL_BUCKET, SignInLimit(), utc_now())


def _register_again(app: Flask, client: FlaskClient) -> tuple[int, dict[str, Any]]:
    """Register as new, in a second form, a codename that an earlier submission registered."""
    kind = SubmissionKind.AGENDA_INPUT
    first = seal_in_browser(client, _form_url(app, kind), kind)
    assert post_sealed(client, first)[0] == 200
    again = seal_in_browser(client, _form_url(app, kind), kind, codename=first.codename)
    secrets = crypto.derive_codename_secrets(first.codename)
    again.body.update(new_submitter=True, public_key=_b64(secrets.public_key_bytes()))
    return post_sealed(client, again)


def test_registering_a_taken_codename_is_refused_as_a_wrong_one_and_counted(
    app: Flask, client: FlaskClient
) -> None:
    kind = SubmissionKind.INDIVIDUAL_CASE
    wrong = seal_in_browser(client, _form_url(app, kind), kind, codename=crypto.generate_codename())
    level_before = _sign_in_bucket_level(app)
    wrong_answer = post_sealed(client, wrong)
    # The bucket leaks from the moment its level is read until the moment it is read again:
    # the clock runs over both reads, so that a slow step between them is counted as drained.
    started = time.monotonic()
    level_after_wrong = _sign_in_bucket_level(app)
    before = row_counts(app)

    taken_answer = _register_again(app, client)

    refused = (403, {"error": str(codename_refusal())})
    assert taken_answer == wrong_answer == refused
    assert level_after_wrong == pytest.approx(level_before + 1, abs=0.5)
    level_after_taken = _sign_in_bucket_level(app)
    drained = SignInLimit().leak_per_second * (time.monotonic() - started)
    assert level_after_wrong + 1 - drained - 0.05 <= level_after_taken <= level_after_wrong + 1
    after = row_counts(app)
    assert after["submitters"] == before["submitters"] + 1  # the first registration only
    assert after["submissions"] == before["submissions"] + 1


def test_under_pressure_registration_asks_for_a_proof_of_work_that_cannot_tell_taken_ones(
    app: Flask, client: FlaskClient
) -> None:
    kind = SubmissionKind.AGENDA_INPUT
    first = seal_in_browser(client, _form_url(app, kind), kind)
    assert post_sealed(client, first)[0] == 200
    fresh = seal_in_browser(client, _form_url(app, kind), kind)
    taken = seal_in_browser(client, _form_url(app, kind), kind, codename=first.codename)
    taken.body.update(new_submitter=True, public_key=fresh.body["public_key"])
    _set_sign_in_bucket(app, ChallengePolicy().calm_failures + 1)
    try:
        before = row_counts(app)
        asked = [post_sealed(client, fresh), post_sealed(client, taken)]
        assert row_counts(app) == before
        for sent, (_, answer) in zip((fresh, taken), asked, strict=True):
            bound = base64.b64decode(sent.body["login_secret"])
            sent.body["proof"] = solve(answer["challenge"], bound)
        answered = [post_sealed(client, fresh)[0], post_sealed(client, taken)]
    finally:
        _set_sign_in_bucket(app, 0)

    assert [status for status, _ in asked] == [429, 429]
    assert asked[0][1]["error"] == asked[1][1]["error"]
    assert answered == [200, (403, {"error": str(codename_refusal())})]


def _set_sign_in_bucket(app: Flask, level: float) -> None:
    with app_database(app).session() as session:
        locked_bucket(session, GLOBAL_BUCKET, SignInLimit(), utc_now()).level = level
        session.commit()


def _closed_session_id(client: FlaskClient) -> int:
    page = client.get("/dialogues/elbaria-local").get_data(as_text=True)
    return int(re.search(r"/dialogues/elbaria-local/sessions/(\d+)", page)[1])


def _other_key() -> bytes:
    return crypto.public_key_bytes(crypto.generate_private_key())


def _seal_to_the_codename_key(sent: BrowserSubmission) -> None:
    """Seal the submission to the codename's key and name that key: what the rows stored before
    per-submission keys did, which a new submission may no longer do."""
    data = {name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(sent.form.html)}
    codename_key = crypto.derive_codename_secrets(sent.codename).public_key_bytes()
    envelope = crypto.seal_envelope(
        encode_payload(sent.payload),
        [bytes.fromhex(data["desk-key"]), codename_key],
        data["context"],
    )
    sent.body.update(envelope=_b64(envelope), submission_key=_b64(codename_key))


# Each refusal: the kind of form, how the stand-in browser goes wrong, the status expected.
REFUSALS: dict[str, tuple[SubmissionKind, dict[str, Any], Callable[..., None], int]] = {
    "forged envelope": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.update(envelope=_b64(b"PRLY" + bytes(400))),
        400,
    ),
    "truncated envelope": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.update(
            envelope=_b64(base64.b64decode(sent.body["envelope"])[:-20])
        ),
        400,
    ),
    "envelope not base64": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(envelope="not base64!"),
        400,
    ),
    "another dialogue's context": (
        SubmissionKind.REPRISAL_REPORT,
        {"context": lambda given: given.replace("dialogue:valdoria", "dialogue:elbaria-local")},
        lambda sent, client: None,
        400,
    ),
    "desk missing from the recipients": (
        SubmissionKind.INDIVIDUAL_CASE,
        {"recipients": lambda desk, own: [_other_key(), own]},
        lambda sent, client: None,
        400,
    ),
    "sealed to the codename's own key": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: _seal_to_the_codename_key(sent),
        400,
    ),
    "envelope sealed to another key than the one sent": (
        SubmissionKind.AGENDA_INPUT,
        {"recipients": lambda desk, own: [desk, _other_key()]},
        lambda sent, client: None,
        400,
    ),
    "submission key missing": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.pop("submission_key"),
        400,
    ),
    "submission key of the wrong size": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(submission_key=_b64(bytes(31))),
        400,
    ),
    "only the submitter as recipient": (
        SubmissionKind.REPRISAL_REPORT,
        {"recipients": lambda desk, own: [own]},
        lambda sent, client: None,
        400,
    ),
    "closed consultation": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(
            dialogue="elbaria-local", session=_closed_session_id(client)
        ),
        409,
    ),
    "frozen dialogue": (
        SubmissionKind.REPRISAL_REPORT,
        {},
        lambda sent, client: sent.body.update(dialogue="marenland"),
        409,
    ),
    "unknown dialogue": (
        SubmissionKind.REPRISAL_REPORT,
        {},
        lambda sent, client: sent.body.update(dialogue="nowhere"),
        404,
    ),
    "unknown dialogue, with a session": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(dialogue="nowhere"),
        404,
    ),
    "unknown session": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(session=2**31 - 1),
        404,
    ),
    "session number too wide for an id": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(session=2**40),
        404,
    ),
    "another dialogue's session": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(dialogue="elbaria-local"),
        409,
    ),
    "urgent agenda input": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(urgent=True),
        400,
    ),
    "unknown topic": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(topics=["weather"]),
        400,
    ),
    "owner tag key missing": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.pop("owner_tag_key"),
        400,
    ),
    "owner tag key of the wrong size": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(owner_tag_key=_b64(bytes(31))),
        400,
    ),
    "login secret of the wrong size": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(login_secret=_b64(bytes(16))),
        400,
    ),
    "missing field": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.pop("public_id"),
        400,
    ),
    # The persons' names must come sealed apart, to the identity key, and only where asked for.
    "names not sealed apart": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.pop("identities_envelope"),
        400,
    ),
    "names sealed to the desk key": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.update(identities_envelope=sent.body["envelope"]),
        400,
    ),
    "names for a kind without persons": (
        SubmissionKind.AGENDA_INPUT,
        {},
        lambda sent, client: sent.body.update(identities_envelope=sent.body["envelope"]),
        400,
    ),
    "names without their signature": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.pop("identities_signature"),
        400,
    ),
    "names signed by another key": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.update(identities_signature=sent.body["signature"]),
        400,
    ),
    "names that are not base64": (
        SubmissionKind.INDIVIDUAL_CASE,
        {},
        lambda sent, client: sent.body.update(identities_envelope="***"),
        400,
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_are_clear_and_store_nothing(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance, case: str
) -> None:
    kind, sealing, spoil, expected_status = REFUSALS[case]
    sent = seal_in_browser(client, _form_url(app, kind), kind, **sealing)
    spoil(sent, client)
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    status, answer = post_sealed(client, sent)

    assert status == expected_status, answer
    assert isinstance(answer["error"], str) and answer["error"]
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_replayed_public_id_is_refused(app: Flask, client: FlaskClient) -> None:
    kind = SubmissionKind.SEMINAR_RECOMMENDATIONS
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    assert post_sealed(client, sent)[0] == 200
    before = row_counts(app)

    status, answer = post_sealed(client, sent)

    assert status == 409
    assert "already been sent" in answer["error"]
    assert row_counts(app) == before


def test_only_a_refusal_signs_the_session_cookie_again(app: Flask, client: FlaskClient) -> None:
    """After a refusal the page stays and may post again, so the session's idle clock restarts;
    once stored, the page offers only links, and the answer sets no cookie."""
    kind = SubmissionKind.SEMINAR_RECOMMENDATIONS
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    token = {"X-CSRFToken": sent.form.hidden["csrf_token"]}

    stored = client.post(SEALED_URL, json=sent.body, headers=token)
    refused = client.post(SEALED_URL, json=sent.body, headers=token)

    assert (stored.status_code, refused.status_code) == (200, 409)
    assert "Set-Cookie" not in stored.headers
    assert "session=" in refused.headers["Set-Cookie"]


@pytest.mark.parametrize("unusable", ["self-chosen", "expired"])
def test_an_id_the_portal_did_not_issue_or_that_expired_is_refused_with_410(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance, unusable: str
) -> None:
    kind = SubmissionKind.REPRISAL_REPORT
    issuer = web_instance(app).submission_ids
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    sent.body["public_id"] = (
        new_public_id()
        if unusable == "self-chosen"
        else issuer.issue(utc_now() - dt.timedelta(hours=issuer.lifetime_hours + 2))
    )
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    status, answer = post_sealed(client, sent)

    assert status == 410
    assert "this form has expired" in answer["error"]
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_missing_csrf_token_is_refused_in_json(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    kind = SubmissionKind.REPRISAL_REPORT
    sent = seal_in_browser(client, _form_url(app, kind), kind)
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    response = client.post(SEALED_URL, json=sent.body)

    assert response.status_code == 403
    assert "expired" in response.get_json()["error"]
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_codename_word_lists_are_served_as_shown(client: FlaskClient) -> None:
    for language in crypto.LANGUAGES:
        response = client.get(f"/codename-words/{language}.txt")
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        words = response.get_data(as_text=True).split("\n")[:-1]
        assert tuple(words) == display_wordlist(language)
    assert client.get("/codename-words/xx.txt").status_code == 404
