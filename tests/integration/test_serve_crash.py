"""``kill -9`` of ``portal serve`` while 200 submitters send: nothing acknowledged is lost,
nothing is stored twice or by halves, and the next start leaves no stray ``.partial-`` file.

Each client opens the form page (which issues the submission's id) and sends one submission:
most through the JavaScript path (sealed here, as the browser's script seals, with a fresh
codename each), one in five of those with a file the client encrypted and sent through the
upload API first; every fifth client uses the form without JavaScript with a file attached,
which the server encrypts into a staged file as it arrives. Once some have been acknowledged,
the master and every worker are killed at once, in the middle of the others; then the server
starts again. The only ``.partial-`` files left are those of uploads still live, which their
browser could resume.
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
from bench.sealed_bodies import FIELDS, new_submitter_body
from portal.db import Database
from portal.models import Attachment, Submission, Upload
from portal.services.submissions.attachments import ATTACHMENT_KEYS_FORMAT
from portal.services.submissions.payload import encode_payload
from portal.settings import DATABASE_URL_VARIABLE, THREADS_VARIABLE
from portal.storage import PARTIAL_PREFIX
from tests.conftest import BACKENDS, create_demo_instance, database_for, padded_for_upload
from tests.integration.served_portal import (
    FormPage,
    HttpClient,
    multipart,
    open_form_page,
    session_form_path,
    start_portal,
)

CLIENTS = 200
# One client in five sends without JavaScript, one in five sealed with a file, the rest sealed.
_PATHS = ("plain", "sealed with file", "sealed", "sealed", "sealed")
ACKNOWLEDGED_BEFORE_KILL = 40
EACH_PATH = 1
ATTACHMENT = bytes(range(256)) * 200
WAIT_SECONDS = 60


@dataclass
class Outcome:
    public_id: str
    path: str  # "plain", "sealed" or "sealed with file"
    acknowledged: bool = False
    answered: bool = False

    @property
    def with_attachment(self) -> bool:
        return self.path != "sealed"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _upload(client: HttpClient, form: FormPage, own_key: crypto.SubmissionKeys) -> dict[str, str]:
    """Encrypt a file, send it through the upload API and seal its keys record, as the form's
    script does; the entry of the submission's ``attachments``."""
    key = crypto.new_file_key()
    encryptor = crypto.StreamEncryptor(key)
    ciphertext = (
        encryptor.header + encryptor.update(padded_for_upload(ATTACHMENT)) + encryptor.finalize()
    )
    csrf = {"X-CSRFToken": form.hidden["csrf_token"]}
    json_type = {"Content-Type": "application/json"}
    created = {"submission": form.hidden["public_id"], "size": len(ciphertext)}
    status, answer = client.request("/uploads", json.dumps(created).encode(), {**csrf, **json_type})
    assert status == 201, answer
    upload = json.loads(answer)
    headers = {**csrf, "X-Upload-Token": upload["token"]}
    chunk = {**headers, "Content-Type": "application/octet-stream"}
    path = f"/uploads/{upload['upload']}"
    assert client.request(f"{path}?offset=0", ciphertext, chunk, method="PUT")[0] == 200
    assert client.request(f"{path}/complete", b"", headers)[0] == 200
    record = {
        "format": ATTACHMENT_KEYS_FORMAT,
        "key": _b64(key),
        "name": "evidence.bin",
        "type": "application/octet-stream",
        "size": len(ATTACHMENT),
    }
    context = f"{form.data['attachment-context-prefix']}{upload['upload']}"
    envelope = crypto.seal_envelope(
        encode_payload(record),
        [bytes.fromhex(form.data["desk-key"]), own_key.public_key_bytes()],
        context,
    )
    signature = crypto.sign_item(own_key.signing_seed, context, envelope)
    return {
        "upload": upload["upload"],
        "keys_envelope": _b64(envelope),
        "signature": _b64(signature),
    }


def _send_sealed(client: HttpClient, form: FormPage, with_file: bool) -> bool:
    """What the form's script does for a new submitter; whether the portal acknowledged it."""
    public_id, key_seed = form.hidden["public_id"], secrets.token_bytes(32)
    own_key = crypto.derive_submission_keys(key_seed, public_id)
    attachments = [_upload(client, form, own_key)] if with_file else []
    body = new_submitter_body(form.data, public_id, key_seed, attachments)
    headers = {"Content-Type": "application/json", "X-CSRFToken": form.hidden["csrf_token"]}
    status, answer = client.request(form.data["sealed-url"], json.dumps(body).encode(), headers)
    return status == 200 and json.loads(answer).get("ok") is True


def _send_plain(client: HttpClient, path: str, form: FormPage) -> bool:
    """The form without JavaScript, a file attached; whether the codename page came back."""
    fields = {**form.hidden, "situation": FIELDS["situation"], "topics": FIELDS["topics"][0]}
    body, content_type = multipart(fields, [("evidence.bin", ATTACHMENT)])
    status, page = client.request(path, body, {"Content-Type": content_type})
    return status == 200 and "codename" in page


def _submitter(base: str, path: str, number: int, outcomes: list[Outcome]) -> None:
    client = HttpClient(base, timeout=WAIT_SECONDS)
    try:
        form = open_form_page(client, path)
    except (OSError, AssertionError):
        return  # the server was gone before the form opened: nothing was sent
    outcome = Outcome(form.hidden["public_id"], _PATHS[number % len(_PATHS)])
    outcomes.append(outcome)
    # Cut off by the kill: not acknowledged, so it may or may not be stored.
    with contextlib.suppress(OSError, ValueError, AssertionError):
        if outcome.path == "plain":
            outcome.acknowledged = _send_plain(client, path, form)
        else:
            outcome.acknowledged = _send_sealed(client, form, outcome.path == "sealed with file")
        outcome.answered = True


def _enough_acknowledged(outcomes: list[Outcome]) -> bool:
    """Whether to kill now: enough acknowledged, a few of them by each path."""
    acknowledged = [o for o in outcomes if o.acknowledged]
    by_path = {path: sum(o.path == path for o in acknowledged) for path in set(_PATHS)}
    return len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL and min(by_path.values()) >= EACH_PATH


@dataclass(frozen=True)
class Stored:
    """What the database holds after the restart."""

    submissions: dict[str, int]  # rows per public id
    empty_envelopes: int
    attachment_files: set[str]
    attachments_by_submission: dict[str, int]
    upload_files: set[str]


def _stored(database_url: str) -> Stored:
    database = Database(database_url)
    try:
        with database.session() as session:
            rows = session.execute(select(Submission.public_id, Submission.envelope)).all()
            attached = session.execute(
                select(Submission.public_id, Attachment.storage_name).join(Attachment.submission)
            ).all()
            uploads = set(session.scalars(select(Upload.storage_name)))
    finally:
        database.dispose()
    submissions: dict[str, int] = {}
    for public_id, _ in rows:
        submissions[public_id] = submissions.get(public_id, 0) + 1
    by_submission: dict[str, int] = {}
    for public_id, _ in attached:
        by_submission[public_id] = by_submission.get(public_id, 0) + 1
    return Stored(
        submissions,
        sum(1 for _, envelope in rows if not envelope),
        {name for _, name in attached},
        by_submission,
        {f"{PARTIAL_PREFIX}{name}" for name in uploads},
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_stream_keeps_every_acknowledged_submission_once_and_whole(
    backend: str, tmp_path: Path
) -> None:
    with database_for(backend, tmp_path) as database_url:
        demo = create_demo_instance(tmp_path, database_url)
        instance_dir = demo.settings.instance_dir
        storage = instance_dir / "storage"
        # Fewer threads than the default keep the server's connections (one per thread) well
        # inside PostgreSQL's 100, which the tests running beside this one share.
        environment = {DATABASE_URL_VARIABLE: demo.settings.database_url, THREADS_VARIABLE: "12"}
        path = session_form_path(demo.settings.database_url, "agenda-input")
        portal = start_portal(instance_dir, tmp_path / "serve.log", **environment)
        outcomes: list[Outcome] = []
        try:
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                # The slower paths (three requests, or the server's key derivation) start first.
                for number in sorted(
                    range(CLIENTS), key=lambda n: _PATHS[n % len(_PATHS)] == "sealed"
                ):
                    pool.submit(_submitter, portal.base, path, number, outcomes)
                deadline = time.monotonic() + WAIT_SECONDS
                while not _enough_acknowledged(outcomes):
                    assert time.monotonic() < deadline, "too few submissions acknowledged"
                    time.sleep(0.05)
                portal.kill_hard()
                in_flight = sum(not o.answered for o in outcomes)
        finally:
            portal.stop()
        assert in_flight > 0  # submissions were on their way when the server died

        restarted = start_portal(instance_dir, tmp_path / "serve.log", **environment)
        try:
            files = {p.name for p in storage.iterdir()}
            stored = _stored(demo.settings.database_url)
            status, _ = HttpClient(restarted.base).request("/")
        finally:
            restarted.stop()

    acknowledged = [o for o in outcomes if o.acknowledged]
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
    assert len(acknowledged) < CLIENTS  # the kill came in the middle
    # Stored once each, and whole: the envelope, and the file with its row.
    assert all(stored.submissions.get(o.public_id) == 1 for o in acknowledged)
    assert all(
        stored.attachments_by_submission.get(o.public_id) == 1
        for o in acknowledged
        if o.with_attachment
    )
    assert all(count == 1 for count in stored.submissions.values())
    assert set(stored.submissions) <= {o.public_id for o in outcomes}
    assert stored.empty_envelopes == 0
    # Every attachment's file under its final name, every live upload's file under its
    # temporary one, and nothing else in the folder.
    assert files == stored.attachment_files | stored.upload_files
    assert status == 200
