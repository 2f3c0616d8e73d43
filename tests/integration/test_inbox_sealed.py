"""The inbox's JSON endpoints for JavaScript: a login secret in, envelopes out, envelopes in.

The browser's part is played here by ``crypto``: it derives the secrets from the codename, opens
what the server hands out and seals what it adds, exactly as ``inbox.mjs`` does in the page.
"""

import base64
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from portal.db import app_database
from portal.models import (
    ConsentChange,
    FurtherInformation,
    SignInThrottle,
    SubmissionKind,
    SubmitterSession,
    utc_now,
)
from portal.services.contexts import SUBMITTER_SESSION_PURPOSE
from portal.services.leaky_bucket import locked_bucket
from portal.services.proof_of_work import ChallengePolicy
from portal.services.submissions.submitters import GLOBAL_BUCKET, SignInLimit
from portal.web.instance import web_instance
from tests.conftest import SentSubmission, seal_as_before_per_submission_keys
from tests.integration.test_inbox_pages import CASE_FORM, REFUSED, Send, _cookie_session
from tests.proof_of_work_support import solve

LOGIN = "/inbox/sign-in/login-secret"


@pytest.fixture
def sent(inbox_app: Flask, send_under_new_codename: Send) -> SentSubmission:
    return send_under_new_codename(
        web_instance(inbox_app).settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )


def _token(client: FlaskClient, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True))
    assert match is not None
    return match.group(1)


def _post_json(client: FlaskClient, url: str, body: dict, token: str | None) -> tuple[int, dict]:
    headers = {} if token is None else {"X-CSRFToken": token}
    response = client.post(url, json=body, headers=headers)
    return response.status_code, response.get_json()


def _login(
    client: FlaskClient, secret: bytes, owner_tag_key: bytes = bytes(32)
) -> tuple[int, dict]:
    body = {
        "login_secret": base64.b64encode(secret).decode(),
        "owner_tag_key": base64.b64encode(owner_tag_key).decode(),
    }
    return _post_json(client, LOGIN, body, _token(client, "/inbox/sign-in"))


def _signed_in(app: Flask, codename: str) -> FlaskClient:
    client = app.test_client()
    secrets = crypto.derive_codename_secrets(codename)
    status, answer = _login(client, secrets.login_secret, crypto.owner_tag_key(secrets.key_seed))
    assert (status, answer) == (200, {"next": "/inbox"})
    return client


def _count(app: Flask, model: type) -> int:
    with app_database(app).session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_login_secret_opens_a_session_whose_row_holds_no_key(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    secrets = crypto.derive_codename_secrets(sent.codename)
    client = _signed_in(inbox_app, sent.codename)
    assert client.get("/inbox").status_code == 200

    ticket = _cookie_session(inbox_app, client)["inbox"]
    with app_database(inbox_app).session() as session:
        row = session.scalars(select(SubmitterSession)).one()
        key = base64.urlsafe_b64decode(ticket["key"])
        box = crypto.open_box(key, row.sealed_key, SUBMITTER_SESSION_PURPOSE)
        assert box == crypto.owner_tag_key(secrets.key_seed)
    private_key = crypto.private_key_bytes(secrets.private_key())
    assert private_key not in row.sealed_key and secrets.login_secret not in row.sealed_key


def test_a_tag_key_not_of_the_codename_reaches_none_of_its_submissions(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    """A browser that sends a wrong tag key with its login secret hides its own submissions;
    nothing it can send reaches another person's (see ``owner_tags``)."""
    secrets = crypto.derive_codename_secrets(sent.codename)
    client = inbox_app.test_client()
    assert _login(client, secrets.login_secret, crypto.new_symmetric_key())[0] == 200

    assert sent.public_id not in client.get("/inbox").get_data(as_text=True)
    assert client.get(f"/inbox/{sent.public_id}/sealed").status_code == 404
    assert client.get(f"/inbox/{sent.public_id}").status_code == 404
    assert sent.public_id in _signed_in(inbox_app, sent.codename).get("/inbox").get_data(
        as_text=True
    )
    assert _login(client, secrets.login_secret, bytes(31))[0] == 400


def test_a_wrong_login_secret_gets_the_one_answer_and_counts(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = inbox_app.test_client()
    status, answer = _login(client, bytes(32))
    assert status == 400 and answer["error"].startswith(REFUSED)
    with app_database(inbox_app).session() as session:
        assert session.get(SignInThrottle, "global").level == pytest.approx(1, abs=0.1)
    assert _login(client, bytes(5))[0] == 400
    assert client.get(f"/inbox/{sent.public_id}/sealed").status_code == 401


def test_under_pressure_a_proof_of_work_is_asked_and_a_solved_one_signs_in_once(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    database = app_database(inbox_app)
    with database.session() as session:
        # Half-way to the second bit: the first stays asked while the test runs.
        policy = ChallengePolicy()
        locked_bucket(session, GLOBAL_BUCKET, SignInLimit(), utc_now()).level = (
            policy.calm_failures + policy.failures_per_bit / 2
        )
        session.commit()
    try:
        secrets = crypto.derive_codename_secrets(sent.codename)
        client = inbox_app.test_client()
        body = {
            "login_secret": base64.b64encode(secrets.login_secret).decode(),
            "owner_tag_key": base64.b64encode(crypto.owner_tag_key(secrets.key_seed)).decode(),
        }
        token = _token(client, "/inbox/sign-in")
        asked = client.post(LOGIN, json=body, headers={"X-CSRFToken": token})
        assert asked.status_code == 429 and asked.headers["Retry-After"] == "0"
        challenge = asked.get_json()["challenge"]
        assert challenge["difficulty"] == ChallengePolicy().first_bits

        proof = solve(challenge, secrets.login_secret)
        answer = _post_json(client, LOGIN, {**body, "proof": proof}, token)
        assert answer == (200, {"next": "/inbox"})
        # The session cookie now holds only the inbox ticket: a new visit, a new token.
        client = inbox_app.test_client()
        token = _token(client, "/inbox/sign-in")
        replayed = _post_json(client, LOGIN, {**body, "proof": proof}, token)
        assert replayed[0] == 429 and replayed[1]["challenge"]["token"] != proof["challenge"]
        other_guess = {**body, "login_secret": base64.b64encode(bytes(32)).decode()}
        fresh = solve(replayed[1]["challenge"], secrets.login_secret)
        assert _post_json(client, LOGIN, {**other_guess, "proof": fresh}, token)[0] == 429
        assert _post_json(client, LOGIN, {**body, "proof": {"nonce": 1}}, token)[0] == 400
    finally:
        with database.session() as session:
            session.get(SignInThrottle, GLOBAL_BUCKET).level = 0.0
            session.commit()


def test_a_missing_csrf_token_is_refused(inbox_app: Flask, sent: SentSubmission) -> None:
    secret = crypto.derive_codename_secrets(sent.codename).login_secret
    body = {"login_secret": base64.b64encode(secret).decode(), "owner_tag_key": "A" * 44}
    sessions_before = _count(inbox_app, SubmitterSession)
    status, answer = _post_json(inbox_app.test_client(), LOGIN, body, None)
    assert status == 400 and "expired" in answer["error"]
    assert _count(inbox_app, SubmitterSession) == sessions_before


def test_the_page_carries_no_plaintext_and_the_envelopes_open_in_the_browser(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page = client.get(f"/inbox/{sent.public_id}").get_data(as_text=True)
    assert 'id="sealed-submission"' in page
    assert CASE_FORM["situation"] not in page and "Amina Defender" not in page

    response = client.get(f"/inbox/{sent.public_id}/sealed")
    assert CASE_FORM["situation"].encode() not in response.data
    item = response.get_json()["submission"]
    codename_key = crypto.derive_codename_secrets(sent.codename)
    own_key = crypto.derive_submission_keys(codename_key.key_seed, sent.public_id)
    assert f'data-submitter-key="{own_key.public_key_bytes().hex()}"' in page
    assert f'data-public-id="{sent.public_id}"' in page
    envelope = base64.b64decode(item["envelope"])
    opened = json.loads(crypto.open_envelope(envelope, own_key.private_key(), item["context"]))
    assert opened["situation"] == CASE_FORM["situation"]
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(envelope, codename_key.private_key(), item["context"])


def test_a_submission_sealed_before_per_submission_keys_names_the_codename_key(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    """The page hands the browser the key the row names: for a row stored before per-submission
    keys, the codename's own key, which opens it and which additions are sealed to."""
    seal_as_before_per_submission_keys(web_instance(inbox_app).settings, sent)
    codename_key = crypto.derive_codename_secrets(sent.codename)
    own_key = crypto.derive_submission_keys(codename_key.key_seed, sent.public_id)
    client = _signed_in(inbox_app, sent.codename)
    page_url = f"/inbox/{sent.public_id}"
    page = client.get(page_url).get_data(as_text=True)
    data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', page))
    assert data["submitter-key"] == codename_key.public_key_bytes().hex()

    item = client.get(f"{page_url}/sealed").get_json()["submission"]
    envelope = base64.b64decode(item["envelope"])
    opened = json.loads(crypto.open_envelope(envelope, codename_key.private_key(), item["context"]))
    assert opened["situation"] == CASE_FORM["situation"]
    text = json.dumps({"format": "parley-further-information-v1", "text": "Released."}).encode()
    context = data["further-information-context"]
    token = _token(client, page_url)
    desk_key = bytes.fromhex(data["desk-key"])
    for submitter_key, expected in (
        (own_key.public_key_bytes(), 400),
        (bytes.fromhex(data["submitter-key"]), 200),
    ):
        sealed = crypto.seal_envelope(text, [desk_key, submitter_key], context)
        body = {"envelope": base64.b64encode(sealed).decode()}
        assert (
            _post_json(client, f"{page_url}/sealed-further-information", body, token)[0] == expected
        )


def test_another_submitters_envelopes_are_not_found(
    inbox_app: Flask, sent: SentSubmission, send_under_new_codename: Send
) -> None:
    other = send_under_new_codename(
        web_instance(inbox_app).settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    client = _signed_in(inbox_app, other.codename)
    assert client.get(f"/inbox/{sent.public_id}/sealed").status_code == 404
    assert client.get(f"/inbox/{other.public_id}/sealed").status_code == 200
    token = _token(client, f"/inbox/{other.public_id}")
    url = f"/inbox/{sent.public_id}/sealed-further-information"
    assert _post_json(client, url, {"envelope": "AAAA"}, token)[0] == 404


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_sealed_further_information_and_consent_are_checked_then_stored(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    page_url = f"/inbox/{sent.public_id}"
    page = client.get(page_url).get_data(as_text=True)
    data = {name: value for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', page)}
    recipients = [bytes.fromhex(data["desk-key"]), bytes.fromhex(data["submitter-key"])]
    token = _token(client, page_url)
    infos, changes = _count(inbox_app, FurtherInformation), _count(inbox_app, ConsentChange)

    secrets = crypto.derive_codename_secrets(sent.codename)
    seed = crypto.derive_submission_keys(secrets.key_seed, sent.public_id).signing_seed
    assert data["signing-key"] == crypto.signing_public_key(seed).hex()

    def post(
        path: str, payload: dict, recipients: list[bytes], context: str, signer: bytes = seed
    ) -> int:
        envelope = crypto.seal_envelope(json.dumps(payload).encode(), recipients, context)
        signature = crypto.sign_item(signer, context, envelope)
        body = {"envelope": _b64(envelope), "signature": _b64(signature)}
        return _post_json(client, f"{page_url}/{path}", body, token)[0]

    text = {"format": "parley-further-information-v1", "text": "Moved to another prison."}
    context = data["further-information-context"]
    assert (
        post("sealed-further-information", text, recipients, data["consent-change-context"]) == 400
    )
    assert post("sealed-further-information", text, recipients[:1], context) == 400
    codename_key = crypto.derive_codename_secrets(sent.codename).public_key_bytes()
    assert post("sealed-further-information", text, [recipients[0], codename_key], context) == 400
    assert (
        post(
            "sealed-further-information",
            text,
            [recipients[0], crypto.public_key_bytes(crypto.generate_private_key())],
            context,
        )
        == 400
    )
    # Signed by another key than the submission's: refused, and nothing stored.
    assert post("sealed-further-information", text, recipients, context, bytes(32)) == 400
    assert _count(inbox_app, FurtherInformation) == infos
    assert post("sealed-further-information", text, recipients, context) == 200
    assert _count(inbox_app, FurtherInformation) == infos + 1
    # The same envelope and signature again would take position 1 a second time.
    assert post("sealed-further-information", text, recipients, context) == 400
    page = client.get(page_url).get_data(as_text=True)
    data = {name: value for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', page)}
    assert "|position:2|" in data["consent-change-context"]

    change = {
        "format": "parley-consent-change-v1",
        "person": 0,
        "consent": {"level": "internal_only", "given_by": "family", "risks_explained": True},
    }
    assert post("sealed-consent", change, recipients, context) == 400
    assert _count(inbox_app, ConsentChange) == changes
    assert post("sealed-consent", change, recipients, data["consent-change-context"]) == 200
    assert _count(inbox_app, ConsentChange) == changes + 1
    assert _post_json(client, f"{page_url}/sealed-consent", {"envelope": "AAAA"}, None)[0] == 400


def test_a_browser_held_session_cannot_post_plain_further_information(
    inbox_app: Flask, sent: SentSubmission
) -> None:
    client = _signed_in(inbox_app, sent.codename)
    token = _token(client, f"/inbox/{sent.public_id}")
    before = _count(inbox_app, FurtherInformation)

    response = client.post(
        f"/inbox/{sent.public_id}/further-information",
        data={"text": "plain words", "csrf_token": token},
    )

    assert response.status_code == 400
    assert _count(inbox_app, FurtherInformation) == before
