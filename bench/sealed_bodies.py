"""Request bodies for ``POST /sealed-submissions``, made as the form's script makes them.

The benchmarks need hundreds of distinct submissions from new submitters. A real browser derives
each codename's secrets with PBKDF2 (hundreds of milliseconds), which would make preparing the
bodies take longer than measuring them; the server cannot tell a derived secret from a random one,
so each body here takes random secrets of the same sizes and derives the submission's keys from
them as the browser does. Everything else (the form's sealing data, the issued public id, the
CSRF token, the envelope and its signature) comes from the form page as served.
"""

import base64
import html
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

import crypto
from portal.models import Dialogue, DialogueSession, SessionState, SubmissionKind
from portal.services.submissions.payload import encode_payload, validate_submission
from portal.services.submissions.provenance import signatures_block

DATA_ATTRIBUTE = re.compile(r' data-([\w-]+)="([^"]*)"')
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def open_session_form(database_url: str, kind_path: str) -> str:
    """The address of a form (``agenda-input``, ``individual-case``...) of the demo instance's
    session whose consultation is open, read from its database."""
    engine = create_engine(database_url, poolclass=NullPool)
    with engine.connect() as connection:
        session_id = connection.scalar(
            select(DialogueSession.id)
            .join(Dialogue)
            .where(
                Dialogue.slug == "valdoria",
                DialogueSession.state == SessionState.CONSULTATION_OPEN,
            )
        )
    engine.dispose()
    return f"/dialogues/valdoria/sessions/{session_id}/{kind_path}"


FIELDS = {"situation": "Shrinking civic space.", "topics": ["freedom_of_expression"]}


@dataclass(frozen=True)
class SealedBody:
    """One ready request: its JSON body and the CSRF token of the session it was made in."""

    body: dict[str, Any]
    csrf_token: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sealed_body(form_html: str) -> SealedBody:
    """An agenda input from a new submitter, sealed for the form page ``form_html``."""
    data = {name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(form_html)}
    hidden = dict(HIDDEN.findall(form_html))
    body = new_submitter_body(data, hidden["public_id"], secrets.token_bytes(32))
    return SealedBody(body, hidden["csrf_token"])


def new_submitter_body(
    data: dict[str, str],
    public_id: str,
    key_seed: bytes,
    attachments: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The JSON body of an agenda input (:data:`FIELDS`) from a new submitter whose codename's
    key seed is ``key_seed``, for the form whose ``data-*`` attributes are ``data`` and whose
    issued public id is ``public_id``; ``attachments`` are the entries of files already uploaded
    for it, each with its keys record sealed."""
    own_key = crypto.derive_submission_keys(key_seed, public_id)
    payload = validate_submission(FIELDS, SubmissionKind(data["kind"]))
    desk_signing_key = bytes.fromhex(data["desk-signing-key"]) or None
    payload["signatures"] = signatures_block(own_key.signing_public_key(), desk_signing_key, None)
    envelope = crypto.seal_envelope(
        encode_payload(payload),
        [bytes.fromhex(data["desk-key"]), own_key.public_key_bytes()],
        data["context"],
    )
    body = {
        "dialogue": data["dialogue"],
        "session": int(data["session"]) if data["session"] else None,
        "kind": data["kind"],
        "public_id": public_id,
        "envelope": _b64(envelope),
        "signature": _b64(crypto.sign_item(own_key.signing_seed, data["context"], envelope)),
        "submission_key": _b64(own_key.public_key_bytes()),
        "signing_key": _b64(own_key.signing_public_key()),
        "login_secret": _b64(secrets.token_bytes(32)),
        "owner_tag_key": _b64(crypto.owner_tag_key(key_seed)),
        "new_submitter": True,
        "public_key": _b64(crypto.public_key_bytes(crypto.generate_private_key())),
        "topics": payload["topics"],
        "urgent": False,
    }
    if attachments:
        body["attachments"] = attachments
    return body


def bodies_from_test_client(client: FlaskClient, form_path: str, count: int) -> list[SealedBody]:
    """``count`` sealed bodies, each for a form page ``client`` opened (one issued id each), for
    the benchmarks that measure the portal in their own process."""
    bodies = []
    for _ in range(count):
        answer = client.get(form_path)
        if answer.status_code != 200:
            raise RuntimeError(f"the form answered {answer.status_code}: the benchmark is broken")
        bodies.append(sealed_body(answer.get_data(as_text=True)))
    return bodies


def send_with_test_client(client: FlaskClient, sealed: SealedBody) -> None:
    """Post one sealed body as the form's script does; anything but success breaks the run."""
    answer = client.post(
        "/sealed-submissions",
        data=json.dumps(sealed.body),
        headers={"Content-Type": "application/json", "X-CSRFToken": sealed.csrf_token},
    )
    if answer.status_code != 200:
        raise RuntimeError(f"a submission was refused ({answer.status_code}): benchmark broken")
