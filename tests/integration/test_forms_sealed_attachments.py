"""The JavaScript path with attachments: uploads claimed by the submission they were made for.

The stand-in browser of ``test_forms_sealed`` seals the form; here it also encrypts files,
sends them through ``/uploads`` and seals each file's attachment-keys record, as
``static/js/submit-form.mjs`` does. Every refusal is checked to store nothing and to leave the
uploads as they were: row counts, the storage folder and each upload's row.
"""

import base64
import dataclasses
import datetime as dt
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import crypto
from portal.db import app_database
from portal.models import Submission, SubmissionKind, Upload, utc_now
from portal.services.contexts import (
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_attachment_keys_context,
)
from portal.services.submissions.attachments import (
    ATTACHMENT_KEYS_FORMAT,
    UploadClaim,
    claim_uploads,
)
from portal.services.submissions.intake import SealedSubmission
from portal.services.submissions.payload import decode_payload, encode_payload
from portal.storage import EncryptedStorage
from tests.conftest import DemoInstance, issued_submission_id, padded_for_upload, true_content
from tests.integration.forms_client import (
    desk_private_key,
    open_session_url,
    row_counts,
    storage_listing,
    stored_submission,
)
from tests.integration.test_forms_sealed import (
    DATA_ATTRIBUTE,
    BrowserSubmission,
    post_sealed,
    seal_in_browser,
)

KIND_PATH = "individual-case"
FIRST_FILE = b"first file " * 9000  # two STREAM chunks
SECOND_FILE = bytes(range(256)) * 10


@dataclasses.dataclass
class SentFile:
    """A file the stand-in browser uploaded: its upload id, key and content."""

    upload: str
    key: bytes
    content: bytes


def _stranger_key() -> bytes:
    return crypto.public_key_bytes(crypto.generate_private_key())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sealed_form(app: Flask, client: FlaskClient) -> BrowserSubmission:
    return seal_in_browser(client, open_session_url(app, KIND_PATH), SubmissionKind.INDIVIDUAL_CASE)


def _upload(
    client: FlaskClient,
    sent: BrowserSubmission,
    content: bytes,
    *,
    submission: str | None = None,
    complete: bool = True,
) -> SentFile:
    """Encrypt ``content`` and send it through the upload API, as the form's script does."""
    key = crypto.new_file_key()
    encryptor = crypto.StreamEncryptor(key)
    padded = padded_for_upload(content)
    ciphertext = encryptor.header + encryptor.update(padded) + encryptor.finalize()
    csrf = {"X-CSRFToken": sent.form.hidden["csrf_token"]}
    body = {"submission": submission or sent.body["public_id"], "size": len(ciphertext)}
    created = client.post("/uploads", json=body, headers=csrf)
    assert created.status_code == 201, created.get_json()
    upload = created.get_json()
    headers = {**csrf, "X-Upload-Token": upload["token"]}
    sent_bytes = ciphertext if complete else ciphertext[:-1]
    put = client.put(
        f"/uploads/{upload['upload']}?offset=0",
        data=sent_bytes,
        content_type="application/octet-stream",
        headers=headers,
    )
    assert put.status_code == 200, put.get_json()
    if complete:
        done = client.post(f"/uploads/{upload['upload']}/complete", headers=headers)
        assert done.status_code == 200, done.get_json()
    return SentFile(upload["upload"], key, content)


def _attach(
    sent: BrowserSubmission,
    file: SentFile,
    name: str,
    *,
    context: Callable[[str], str] = lambda given: given,
    recipients: Callable[[bytes, bytes], list[bytes]] = lambda desk, own: [desk, own],
    signer: bytes | None = None,
) -> None:
    """Seal ``file``'s attachment-keys record, sign it (with ``signer``, else as the browser
    does) and add it to the submission's request body."""
    data = dict(DATA_ATTRIBUTE.findall(sent.form.html))
    record = {
        "format": ATTACHMENT_KEYS_FORMAT,
        "key": _b64(file.key),
        "name": name,
        "type": "application/octet-stream",
        "size": len(file.content),
    }
    own_key = base64.b64decode(sent.body["submission_key"])
    envelope = crypto.seal_envelope(
        encode_payload(record),
        recipients(bytes.fromhex(data["desk-key"]), own_key),
        context(f"{html.unescape(data['attachment-context-prefix'])}{file.upload}"),
    )
    secrets = crypto.derive_codename_secrets(sent.codename)
    seed = (
        signer
        or crypto.derive_submission_keys(secrets.key_seed, sent.body["public_id"]).signing_seed
    )
    signed_context = f"{html.unescape(data['attachment-context-prefix'])}{file.upload}"
    signature = crypto.sign_item(seed, signed_context, envelope)
    entry = {"upload": file.upload, "keys_envelope": _b64(envelope), "signature": _b64(signature)}
    sent.body.setdefault("attachments", []).append(entry)


def _partial_files(instance: DemoInstance) -> set[str]:
    return {name for name in storage_listing(instance) if name.startswith(".partial-")}


def _upload_rows(app: Flask) -> dict[str, tuple[int, bool, dt.datetime]]:
    with Session(app_database(app).engine) as session:
        return {
            upload.public_id: (upload.received_size, upload.complete, upload.expires_at)
            for upload in session.scalars(select(Upload))
        }


def _opened_attachments(
    app: Flask, instance: DemoInstance, public_id: str
) -> dict[str, tuple[dict[str, Any], bytes]]:
    """Each attachment of a submission by public id: its opened keys record and its content."""
    submission = stored_submission(app, public_id)
    desk_key = desk_private_key(app, instance, "valdoria")
    storage = EncryptedStorage(Path(instance.settings.instance_dir, "storage"))
    opened = {}
    for attachment in submission.attachments:
        address = SubmissionAddress.of(submission)
        context = signed_attachment_keys_context(address, attachment.public_id)
        record = decode_payload(crypto.open_envelope(attachment.keys_envelope, desk_key, context))
        plaintext = io.BytesIO()
        with storage.open(attachment.storage_name) as encrypted:
            crypto.decrypt_file(encrypted, plaintext, base64.b64decode(record["key"]))
        opened[attachment.public_id] = (record, true_content(plaintext.getvalue(), record))
    return opened


def test_uploads_become_the_submissions_attachments(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    sent = _sealed_form(app, client)
    first = _upload(client, sent, FIRST_FILE)
    second = _upload(client, sent, SECOND_FILE)
    _attach(sent, first, "report.pdf")
    _attach(sent, second, "photo.jpg")
    partial_files = _partial_files(writable_demo_instance)

    status, answer = post_sealed(client, sent)

    assert status == 200, answer
    opened = _opened_attachments(app, writable_demo_instance, sent.body["public_id"])
    assert opened[first.upload] == (
        {
            "format": ATTACHMENT_KEYS_FORMAT,
            "key": _b64(first.key),
            "name": "report.pdf",
            "type": "application/octet-stream",
            "size": len(FIRST_FILE),
        },
        FIRST_FILE,
    )
    assert opened[second.upload][1] == SECOND_FILE
    uploads = _upload_rows(app)
    assert first.upload not in uploads and second.upload not in uploads
    assert len(_partial_files(writable_demo_instance)) == len(partial_files) - 2


def _another_attachment(given: str) -> str:
    return given.rsplit(":", 1)[0] + ":" + new_public_id()


def _attach_expired(app: Flask, client: FlaskClient, sent: BrowserSubmission) -> None:
    file = _upload(client, sent, SECOND_FILE)
    _attach(sent, file, "b")
    with Session(app_database(app).engine) as session:
        expired = utc_now() - dt.timedelta(seconds=1)
        session.execute(
            update(Upload).where(Upload.public_id == file.upload).values(expires_at=expired)
        )
        session.commit()


# Each refusal: how the second of two files goes wrong (the first is always sound).
SPOILED_SECOND_FILE: dict[str, Callable[[Flask, FlaskClient, BrowserSubmission], None]] = {
    "keys envelope for another attachment": lambda app, client, sent: _attach(
        sent, _upload(client, sent, SECOND_FILE), "b", context=_another_attachment
    ),
    "keys envelope for another submission": lambda app, client, sent: _attach(
        sent,
        _upload(client, sent, SECOND_FILE),
        "b",
        context=lambda given: given.replace(sent.body["public_id"], new_public_id()),
    ),
    "keys envelope without the desk": lambda app, client, sent: _attach(
        sent,
        _upload(client, sent, SECOND_FILE),
        "b",
        recipients=lambda desk, own: [_stranger_key(), own],
    ),
    "keys envelope with a third recipient": lambda app, client, sent: _attach(
        sent,
        _upload(client, sent, SECOND_FILE),
        "b",
        recipients=lambda desk, own: [desk, own, _stranger_key()],
    ),
    "keys envelope forged": lambda app, client, sent: sent.body.setdefault(
        "attachments", []
    ).append(
        {
            "upload": _upload(client, sent, SECOND_FILE).upload,
            "keys_envelope": _b64(bytes(600)),
            "signature": _b64(bytes(64)),
        }
    ),
    "keys record signed by another key": lambda app, client, sent: _attach(
        sent, _upload(client, sent, SECOND_FILE), "b", signer=bytes(32)
    ),
    "incomplete upload": lambda app, client, sent: _attach(
        sent, _upload(client, sent, SECOND_FILE, complete=False), "b"
    ),
    "expired upload": lambda app, client, sent: _attach_expired(app, client, sent),
    "upload for another submission": lambda app, client, sent: _attach(
        sent, _upload(client, sent, SECOND_FILE, submission=issued_submission_id(app)), "b"
    ),
    "unknown upload": lambda app, client, sent: _attach(
        sent, SentFile(new_public_id(), crypto.new_file_key(), SECOND_FILE), "b"
    ),
    "the same upload twice": lambda app, client, sent: sent.body["attachments"].append(
        sent.body["attachments"][0]
    ),
    "attachments not a list": lambda app, client, sent: sent.body.update(attachments={}),
}


@pytest.mark.parametrize("case", list(SPOILED_SECOND_FILE))
def test_a_refused_attachment_stores_nothing_and_leaves_the_uploads(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance, case: str
) -> None:
    sent = _sealed_form(app, client)
    _attach(sent, _upload(client, sent, FIRST_FILE), "a")
    SPOILED_SECOND_FILE[case](app, client, sent)
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)
    uploads_before = _upload_rows(app)

    status, answer = post_sealed(client, sent)

    assert status == 400, answer
    assert isinstance(answer["error"], str) and answer["error"]
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before
    assert _upload_rows(app) == uploads_before


def test_a_claim_rolled_back_leaves_the_upload_and_its_file_as_they_were(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    """The rename to the final name waits for the commit; a rollback must leave the file be."""
    sent = _sealed_form(app, client)
    assert post_sealed(client, sent)[0] == 200
    pending = _upload(client, _sealed_form(app, client), FIRST_FILE)
    storage = EncryptedStorage(Path(writable_demo_instance.settings.instance_dir, "storage"))
    files_before, uploads_before = storage_listing(writable_demo_instance), _upload_rows(app)

    with Session(app_database(app).engine) as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.body["public_id"])
        ).one()
        upload = session.scalars(select(Upload).where(Upload.public_id == pending.upload)).one()
        upload.submission_public_id = submission.public_id
        context = signed_attachment_keys_context(SubmissionAddress.of(submission), pending.upload)
        keys_envelope = crypto.seal_envelope(
            b"{}", recipient_keys(submission.desk_key, submission.submitter_public_key), context
        )
        secrets = crypto.derive_codename_secrets(sent.codename)
        seed = crypto.derive_submission_keys(secrets.key_seed, submission.public_id).signing_seed
        claim = UploadClaim(
            pending.upload, keys_envelope, crypto.sign_item(seed, context, keys_envelope)
        )
        sealed = SealedSubmission(
            submission,
            SubmissionAddress.of(submission),
            recipient_keys(submission.desk_key, submission.submitter_public_key),
        )
        [attachment] = claim_uploads(session, storage, sealed, [claim], utc_now())
        assert attachment.public_id == pending.upload
        session.rollback()

    assert storage_listing(writable_demo_instance) == files_before
    assert _upload_rows(app) == uploads_before
