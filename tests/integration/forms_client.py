"""Driving the no-JavaScript forms through the Flask test client, and reading what they stored.

Shared by the ``test_forms_*`` modules: open a form and keep its CSRF token and public id, post
it as a browser without JavaScript would (multipart), and open what was stored with the desk key
(through the demo instance's recovery-key grant) or with the submitter's codename.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import crypto
from bench.sealed_bodies import open_session_form
from portal.db import app_database
from portal.models import Base, DeskKeyGrant, Dialogue, Submission
from portal.services.contexts import (
    SubmissionAddress,
    signed_identities_context,
    signed_submission_context,
    submission_context,
)
from portal.services.desks.identity_keys import (
    identity_key_of,
    open_identity_key_grant,
    recovery_grant,
)
from portal.services.desks.keys import current_desk_key, open_desk_key_grant
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.payload import decode_payload
from tests.conftest import DemoInstance

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
CODENAME_WORD = re.compile(r'<li lang="[^"]+">([^<]+)</li>')


@dataclass
class OpenedForm:
    url: str
    html: str
    hidden: dict[str, str]


def case_fields(marker: str) -> dict[str, str]:
    """Every field of an individual case, each holding ``marker``; one person named."""
    return {
        "situation": f"situation {marker}",
        "place": f"place {marker}",
        "dates": f"dates {marker}",
        "relation_to_person": f"relation {marker}",
        "earlier_referrals": f"referrals {marker}",
        "persons.0.name": f"name {marker}",
        "persons.0.consent.level": "internal_only",
        "persons.0.consent.given_by": "person",
        "persons.0.consent.risks_explained": "yes",
    }


def open_form(client: FlaskClient, url: str) -> OpenedForm:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return OpenedForm(url, html, dict(HIDDEN.findall(html)))


def post_form(
    client: FlaskClient, form: OpenedForm, fields: dict[str, Any], **options: Any
) -> tuple[int, str]:
    response = client.post(
        form.url, data={**form.hidden, **fields}, content_type="multipart/form-data", **options
    )
    return response.status_code, response.get_data(as_text=True)


def codename_in(html: str) -> str:
    words = CODENAME_WORD.findall(html)
    assert len(words) == crypto.CODENAME_WORDS
    return " ".join(words)


def open_session_url(app: Flask, kind_path: str) -> str:
    """The address of a session form of valdoria's open consultation."""
    return open_session_path(app_database(app).engine, kind_path)


def open_session_path(engine: Engine, kind_path: str) -> str:
    """The address of a session form of valdoria's open consultation, in ``engine``'s database."""
    return open_session_form(engine.url.render_as_string(hide_password=False), kind_path)


def row_counts(app: Flask) -> dict[str, int]:
    with Session(app_database(app).engine) as session:
        return {
            name: session.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
            if name != "sign_in_throttles"
        }


def storage_listing(instance: DemoInstance) -> set[str]:
    return {path.name for path in Path(instance.settings.instance_dir, "storage").iterdir()}


def stored_submission(app: Flask, public_id: str) -> Submission:
    with Session(app_database(app).engine, expire_on_commit=False) as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == public_id)
        ).one()
        SubmissionAddress.of(submission)
        list(submission.attachments)
        submission.identity  # noqa: B018 - loaded while the session is open
        return submission


def desk_private_key(app: Flask, instance: DemoInstance, slug: str) -> crypto.PrivateKey:
    """The dialogue's current desk key, opened from its grant to the instance recovery key."""
    recovery = crypto.import_recovery_key(instance.recovery_key)
    with Session(app_database(app).engine) as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == slug)).one()
        desk_key = current_desk_key(session, dialogue)
        assert desk_key is not None
        grant = session.scalars(
            select(DeskKeyGrant).where(
                DeskKeyGrant.desk_key_id == desk_key.id, DeskKeyGrant.recovery_key_id.is_not(None)
            )
        ).one()
        return open_desk_key_grant(grant, recovery)


def open_payload(submission: Submission, key: crypto.PrivateKey) -> dict[str, Any]:
    """The payload of a stored submission, under its signed context or, for a row stored before
    signatures, its v1 context."""
    signed = submission.signature is not None
    context = (signed_submission_context if signed else submission_context)(
        SubmissionAddress.of(submission)
    )
    return decode_payload(crypto.open_envelope(submission.envelope, key, context))


def identity_private_key(app: Flask, instance: DemoInstance, slug: str) -> crypto.PrivateKey:
    """The identity key of the dialogue's current desk key, opened with the recovery key."""
    recovery = crypto.import_recovery_key(instance.recovery_key)
    with Session(app_database(app).engine) as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == slug)).one()
        desk_key = current_desk_key(session, dialogue)
        assert desk_key is not None
        identity_key = identity_key_of(session, desk_key)
        assert identity_key is not None
        grant = recovery_grant(session, identity_key, crypto.public_key_bytes(recovery))
        assert grant is not None
        return open_identity_key_grant(grant, recovery)


def open_identities(submission: Submission, key: crypto.PrivateKey) -> dict[str, Any]:
    """The identities envelope of ``submission`` opened with ``key``."""
    assert submission.identity is not None
    context = signed_identities_context(SubmissionAddress.of(submission))
    return decode_payload(crypto.open_envelope(submission.identity.envelope, key, context))


def open_in_full(
    submission: Submission, key: crypto.PrivateKey, identity_key: crypto.PrivateKey | None = None
) -> dict[str, Any]:
    """The payload with the persons' names put back: ``key`` opens both envelopes (the
    submission's own key), or the identities open with ``identity_key`` (the desk's side)."""
    payload = open_payload(submission, key)
    if submission.identity is None:
        return payload
    identities = open_identities(submission, identity_key or key)
    return merge_identities(payload, identities, submission.kind)
