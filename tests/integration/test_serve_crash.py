"""``kill -9`` of ``portal serve`` while 200 submitters send: nothing acknowledged is lost,
nothing is stored twice or by halves, and the next start leaves no ``.partial-`` file.

Each client opens the form page (which issues the submission's id) and sends one submission:
most through the JavaScript path (sealed here, as the browser's script seals, with a fresh
codename each), every fifth through the form without JavaScript with a file attached, which the
server encrypts into a staged file as it arrives. Once some have been acknowledged, the master
and every worker are killed at once, in the middle of the others; then the server starts again.
"""

import base64
import contextlib
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

import crypto
from portal.db import Database
from portal.models import Attachment, Submission, SubmissionKind
from portal.services.submissions.payload import encode_payload, validate_submission
from portal.services.submissions.provenance import signatures_block
from portal.settings import DATABASE_URL_VARIABLE
from portal.storage import PARTIAL_PREFIX
from tests.conftest import BACKENDS, create_demo_instance, database_for
from tests.integration.served_portal import (
    FormPage,
    HttpClient,
    multipart,
    open_form_page,
    session_form_path,
    start_portal,
)

CLIENTS = 200
PLAIN_EVERY = 5
ACKNOWLEDGED_BEFORE_KILL = 50
ATTACHMENT = bytes(range(256)) * 200
FORM = {"situation": "Shrinking civic space.", "topics": ["freedom_of_expression"]}
WAIT_SECONDS = 60


@dataclass
class Outcome:
    public_id: str
    with_attachment: bool
    acknowledged: bool = False
    answered: bool = False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _send_sealed(client: HttpClient, form: FormPage) -> bool:
    """What the form's script does for a new submitter; whether the portal acknowledged it."""
    data, public_id = form.data, form.hidden["public_id"]
    codename = crypto.CodenameSecrets(secrets.token_bytes(32), secrets.token_bytes(32))
    own_key = crypto.derive_submission_keys(codename.key_seed, public_id)
    desk_signing_key = bytes.fromhex(data["desk-signing-key"]) or None
    payload = {
        **validate_submission(FORM, SubmissionKind.AGENDA_INPUT),
        "signatures": signatures_block(own_key.signing_public_key(), desk_signing_key, None),
    }
    envelope = crypto.seal_envelope(
        encode_payload(payload),
        [bytes.fromhex(data["desk-key"]), own_key.public_key_bytes()],
        data["context"],
    )
    body = {
        "dialogue": data["dialogue"],
        "session": int(data["session"]),
        "kind": data["kind"],
        "public_id": public_id,
        "envelope": _b64(envelope),
        "signature": _b64(crypto.sign_item(own_key.signing_seed, data["context"], envelope)),
        "submission_key": _b64(own_key.public_key_bytes()),
        "signing_key": _b64(own_key.signing_public_key()),
        "login_secret": _b64(codename.login_secret),
        "owner_tag_key": _b64(crypto.owner_tag_key(codename.key_seed)),
        "new_submitter": True,
        "public_key": _b64(codename.public_key_bytes()),
        "topics": FORM["topics"],
        "urgent": False,
    }
    headers = {"Content-Type": "application/json", "X-CSRFToken": form.hidden["csrf_token"]}
    status, answer = client.request(data["sealed-url"], json.dumps(body).encode(), headers)
    return status == 200 and json.loads(answer).get("ok") is True


def _send_plain(client: HttpClient, path: str, form: FormPage) -> bool:
    """The form without JavaScript, a file attached; whether the codename page came back."""
    fields = {**form.hidden, "situation": FORM["situation"], "topics": FORM["topics"][0]}
    body, content_type = multipart(fields, [("evidence.bin", ATTACHMENT)])
    status, page = client.request(path, body, {"Content-Type": content_type})
    return status == 200 and "codename" in page


def _submitter(base: str, path: str, number: int, outcomes: list[Outcome]) -> None:
    client = HttpClient(base, timeout=WAIT_SECONDS)
    try:
        form = open_form_page(client, path)
    except (OSError, AssertionError):
        return  # the server was gone before the form opened: nothing was sent
    plain = number % PLAIN_EVERY == 0
    outcome = Outcome(form.hidden["public_id"], plain)
    outcomes.append(outcome)
    # Cut off by the kill: not acknowledged, so it may or may not be stored.
    with contextlib.suppress(OSError, ValueError):
        outcome.acknowledged = (
            _send_plain(client, path, form) if plain else _send_sealed(client, form)
        )
        outcome.answered = True


def _stored(database_url: str) -> tuple[dict[str, int], list[Attachment], int]:
    """Submissions by public id (how many rows each), every attachment, and the number of
    submissions with an empty envelope."""
    database = Database(database_url)
    try:
        with database.session() as session:
            rows = session.execute(select(Submission.public_id, Submission.envelope)).all()
            attachments = list(session.scalars(select(Attachment)))
    finally:
        database.dispose()
    counts: dict[str, int] = {}
    for public_id, _ in rows:
        counts[public_id] = counts.get(public_id, 0) + 1
    return counts, attachments, sum(1 for _, envelope in rows if not envelope)


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_stream_keeps_every_acknowledged_submission_once_and_whole(
    backend: str, tmp_path: Path
) -> None:
    with database_for(backend, tmp_path) as database_url:
        demo = create_demo_instance(tmp_path, database_url)
        instance_dir = demo.settings.instance_dir
        storage = instance_dir / "storage"
        environment = {DATABASE_URL_VARIABLE: demo.settings.database_url}
        path = session_form_path(demo.settings.database_url, "agenda-input")
        portal = start_portal(instance_dir, tmp_path / "serve.log", **environment)
        outcomes: list[Outcome] = []
        try:
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                for number in range(CLIENTS):
                    pool.submit(_submitter, portal.base, path, number, outcomes)
                deadline = time.monotonic() + WAIT_SECONDS
                while sum(o.acknowledged for o in outcomes) < ACKNOWLEDGED_BEFORE_KILL:
                    assert time.monotonic() < deadline, "too few submissions acknowledged"
                    time.sleep(0.05)
                portal.kill_hard()
                in_flight = sum(not o.answered for o in outcomes)
        finally:
            portal.stop()
        assert in_flight > 0  # submissions were on their way when the server died

        restarted = start_portal(instance_dir, tmp_path / "serve.log", **environment)
        try:
            partial_files = [p.name for p in storage.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
            counts, attachments, empty_envelopes = _stored(demo.settings.database_url)
            files = {p.name for p in storage.iterdir()}
            status, _ = HttpClient(restarted.base).request("/")
        finally:
            restarted.stop()

    acknowledged = [o for o in outcomes if o.acknowledged]
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert len(acknowledged) < CLIENTS  # the kill came in the middle
    assert any(o.with_attachment for o in acknowledged)
    assert all(counts.get(o.public_id) == 1 for o in acknowledged)
    assert all(count == 1 for count in counts.values())
    assert set(counts) <= {o.public_id for o in outcomes}
    assert empty_envelopes == 0
    # Every attachment row has its file under its final name, and every file has its row.
    assert {a.storage_name for a in attachments} == files
    assert partial_files == []
    assert status == 200
