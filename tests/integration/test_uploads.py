"""Resumable uploads of browser-encrypted attachments, through the HTTP API and the service.

Each test runs against a fresh instance on SQLite and on PostgreSQL (``uploads_app``). "Nothing
changed" is checked on the upload's row and on the bytes of its file in the storage folder.
"""

import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import Upload, utc_now
from portal.services.contexts import new_public_id
from portal.services.submissions.uploads import (
    MAX_CHUNK_BYTES,
    UploadNotFoundError,
    create_upload,
    find_upload,
    purge_expired_uploads,
)
from portal.storage import EncryptedStorage
from portal.web.instance import web_instance
from tests.conftest import csrf_token_for, issued_submission_id
from tests.intake_support import ROOMY_LIMITS, TEST_SUBMISSION_IDS

PLAINTEXT = bytes(range(256)) * 1216  # 304 KiB, a padded size (crypto.file_padding): five chunks
PIECE = 100_000
BUDGET = 500 * 1024 * 1024


@pytest.fixture
def client(uploads_app: Flask) -> Iterator[FlaskClient]:
    with uploads_app.test_client() as client:
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token_for(client)
        yield client


def _encrypted(plaintext: bytes = PLAINTEXT) -> tuple[bytes, bytes]:
    """A STREAM file as a browser would make it, and its key."""
    key = crypto.new_file_key()
    encryptor = crypto.StreamEncryptor(key)
    return encryptor.header + encryptor.update(plaintext) + encryptor.finalize(), key


def _storage_dir(app: Flask) -> Path:
    return web_instance(app).settings.instance_dir / "storage"


def _partial_files(app: Flask) -> set[str]:
    return {path.name for path in _storage_dir(app).iterdir() if path.name.startswith(".partial-")}


def _upload_row(app: Flask, public_id: str) -> Upload | None:
    with app_database(app).session() as session:
        return session.scalars(select(Upload).where(Upload.public_id == public_id)).first()


def _stored_bytes(app: Flask, upload: Upload) -> bytes:
    return (_storage_dir(app) / f".partial-{upload.storage_name}").read_bytes()


def _create(client: FlaskClient, size: int, submission: str | None = None) -> Any:
    body = {"submission": submission or issued_submission_id(client.application), "size": size}
    return client.post("/uploads", json=body)


def _put(client: FlaskClient, created: dict[str, Any], offset: int, data: bytes) -> Any:
    return client.put(
        f"/uploads/{created['upload']}?offset={offset}",
        data=data,
        content_type="application/octet-stream",
        headers={"X-Upload-Token": created["token"]},
    )


def _call(client: FlaskClient, method: str, created: dict[str, Any], suffix: str = "") -> Any:
    return client.open(
        f"/uploads/{created['upload']}{suffix}",
        method=method,
        headers={"X-Upload-Token": created["token"]},
    )


def _started(client: FlaskClient, ciphertext: bytes, sent: int) -> dict[str, Any]:
    """An upload of ``ciphertext`` whose first ``sent`` bytes have arrived."""
    response = _create(client, len(ciphertext))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert _put(client, created, 0, ciphertext[:sent]).status_code == 200
    return created


def test_chunks_resume_after_a_lost_answer_and_complete(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, key = _encrypted()
    response = _create(client, len(ciphertext))
    assert response.status_code == 201
    created = response.get_json()
    assert created["received"] == 0 and created["max_chunk_bytes"] == MAX_CHUNK_BYTES

    assert _put(client, created, 0, ciphertext[:PIECE]).get_json() == {"received": PIECE}
    assert _call(client, "GET", created).get_json() == {
        "size": len(ciphertext),
        "received": PIECE,
        "complete": False,
    }
    assert _call(client, "HEAD", created).status_code == 200
    second = ciphertext[PIECE : 2 * PIECE]
    assert _put(client, created, PIECE, second).get_json() == {"received": 2 * PIECE}
    # The answer to the second chunk was lost; the browser sends it again.
    replay = _put(client, created, PIECE, second)
    assert (replay.status_code, replay.get_json()) == (200, {"received": 2 * PIECE})
    for offset in range(2 * PIECE, len(ciphertext), PIECE):
        assert _put(client, created, offset, ciphertext[offset : offset + PIECE]).status_code == 200

    completed = _call(client, "POST", created, "/complete")

    assert completed.status_code == 200
    assert completed.get_json()["complete"] is True
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.complete
    assert upload.token_digest == crypto.token_digest(created["token"])
    stored = _stored_bytes(uploads_app, upload)
    assert stored == ciphertext
    decrypted = io.BytesIO()
    crypto.decrypt_file(io.BytesIO(stored), decrypted, key)
    assert decrypted.getvalue() == PLAINTEXT
    assert _put(client, created, 0, ciphertext[:PIECE]).status_code == 200
    assert _put(client, created, 0, b"x" * PIECE).status_code == 409


def test_a_replayed_chunk_with_other_bytes_is_refused_and_changes_nothing(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, 2 * PIECE)

    forged = bytes(byte ^ 1 for byte in ciphertext[PIECE : 2 * PIECE])
    response = _put(client, created, PIECE, forged)

    assert response.status_code == 409
    assert "replayed or conflicting chunk" in response.get_json()["error"]
    assert response.get_json()["received"] == 2 * PIECE
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.received_size == 2 * PIECE
    assert _stored_bytes(uploads_app, upload) == ciphertext[: 2 * PIECE]


def test_a_chunk_overlapping_the_received_end_is_refused(client: FlaskClient) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)

    response = _put(client, created, PIECE // 2, ciphertext[PIECE // 2 : PIECE + PIECE // 2])

    assert (response.status_code, response.get_json()["received"]) == (409, PIECE)


def test_a_gap_is_refused_with_the_received_length(client: FlaskClient, uploads_app: Flask) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)

    response = _put(client, created, 2 * PIECE, ciphertext[2 * PIECE : 3 * PIECE])

    assert response.status_code == 409
    assert response.get_json()["received"] == PIECE
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None
    assert _stored_bytes(uploads_app, upload) == ciphertext[:PIECE]


def test_a_wrong_token_looks_exactly_like_an_unknown_upload(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)
    stranger = {**created, "token": crypto.random_token(32)}
    unknown = {**created, "upload": new_public_id()}

    answers = [
        (response.status_code, response.get_json())
        for response in (
            _put(client, stranger, PIECE, ciphertext[PIECE : 2 * PIECE]),
            _put(client, unknown, PIECE, ciphertext[PIECE : 2 * PIECE]),
            _call(client, "GET", stranger),
            _call(client, "POST", stranger, "/complete"),
            _call(client, "DELETE", stranger),
        )
    ]

    assert answers == [(404, {"error": "no such upload; start the file again"})] * 5
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.received_size == PIECE


def test_more_bytes_than_declared_are_refused_and_the_upload_deleted(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, len(ciphertext) - PIECE // 2)
    assert f".partial-{_upload_row(uploads_app, created['upload']).storage_name}" in (  # type: ignore[union-attr]
        _partial_files(uploads_app)
    )
    files_before = _partial_files(uploads_app)

    response = _put(client, created, len(ciphertext) - PIECE // 2, b"x" * PIECE)

    assert response.status_code == 413
    assert _upload_row(uploads_app, created["upload"]) is None
    assert len(files_before - _partial_files(uploads_app)) == 1
    assert _call(client, "GET", created).status_code == 404


def test_a_chunk_over_the_chunk_limit_is_refused_and_the_upload_kept(
    client: FlaskClient, uploads_app: Flask
) -> None:
    response = _create(client, crypto.encrypted_size(4 * 1024 * 1024))
    assert response.status_code == 201
    created = response.get_json()

    response = _put(client, created, 0, bytes(MAX_CHUNK_BYTES + 1))

    assert response.status_code == 413
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.received_size == 0


def test_a_chunk_cut_off_mid_way_leaves_nothing_and_can_be_sent_again(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)

    cut_off = client.put(
        f"/uploads/{created['upload']}?offset={PIECE}",
        input_stream=io.BytesIO(ciphertext[PIECE : PIECE + PIECE // 2]),
        environ_overrides={"CONTENT_LENGTH": str(PIECE)},
        content_type="application/octet-stream",
        headers={"X-Upload-Token": created["token"]},
    )

    assert cut_off.status_code == 400
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.received_size == PIECE
    assert _stored_bytes(uploads_app, upload) == ciphertext[:PIECE]
    resent = _put(client, created, PIECE, ciphertext[PIECE : 2 * PIECE])
    assert resent.get_json() == {"received": 2 * PIECE}


def test_completing_early_is_refused_and_the_upload_can_go_on(client: FlaskClient) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)

    response = _call(client, "POST", created, "/complete")

    assert response.status_code == 400
    assert "incomplete" in response.get_json()["error"]
    assert _put(client, created, PIECE, ciphertext[PIECE:]).status_code == 200
    assert _call(client, "POST", created, "/complete").status_code == 200


def test_a_file_without_a_stream_header_is_refused_and_removed(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    damaged = b"PRLX" + ciphertext[4:]
    created = _started(client, damaged, len(damaged))
    files_before = _partial_files(uploads_app)

    response = _call(client, "POST", created, "/complete")

    assert response.status_code == 400
    assert _upload_row(uploads_app, created["upload"]) is None
    assert len(files_before - _partial_files(uploads_app)) == 1


ISSUED = "an id the portal issued"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"size": 1000}, "send JSON"),
        ({"submission": ISSUED, "size": True}, "send JSON"),
        ({"submission": ISSUED, "size": 17}, "not the size of an encrypted file"),
        ({"submission": ISSUED, "size": crypto.encrypted_size(65536) + 15}, "not the size"),
        # A true size: the browser must declare only the padded one (crypto.file_padding).
        ({"submission": ISSUED, "size": crypto.encrypted_size(70_000)}, "padded to its bucket"),
        ({"submission": ISSUED, "size": crypto.encrypted_size(1)}, "padded to its bucket"),
    ],
)
def test_a_malformed_creation_is_refused(
    client: FlaskClient, uploads_app: Flask, body: dict[str, Any], message: str
) -> None:
    if body.get("submission") == ISSUED:
        body = {**body, "submission": issued_submission_id(uploads_app)}
    with app_database(uploads_app).session() as session:
        rows_before = session.scalar(select(func.count()).select_from(Upload))

    response = client.post("/uploads", json=body)

    assert response.status_code == 400
    assert message in response.get_json()["error"]
    with app_database(uploads_app).session() as session:
        assert session.scalar(select(func.count()).select_from(Upload)) == rows_before


def test_the_files_of_one_submission_share_the_budget(uploads_app: Flask) -> None:
    # The budget counts padded bytes: 135 168 + 65 536 fill it exactly.
    settings = dataclasses.replace(web_instance(uploads_app).settings, max_upload_bytes=200_704)
    small_app = create_app(settings)
    with small_app.test_client() as client:
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token_for(client)
        submission = issued_submission_id(uploads_app)
        files_before = _partial_files(small_app)

        assert _create(client, crypto.encrypted_size(135_168), submission).status_code == 201
        second = _create(client, crypto.encrypted_size(67_584), submission)
        third = _create(client, crypto.encrypted_size(65_536), submission)
        elsewhere = _create(client, crypto.encrypted_size(135_168))

    assert second.status_code == 413
    assert "attachments may take" in second.get_json()["error"]
    assert third.status_code == 201
    assert elsewhere.status_code == 201
    assert len(_partial_files(small_app) - files_before) == 3


def test_changes_without_a_csrf_token_are_refused(client: FlaskClient, uploads_app: Flask) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)
    del client.environ_base["HTTP_X_CSRFTOKEN"]

    refused = [
        _create(client, len(ciphertext)).status_code,
        _put(client, created, PIECE, ciphertext[PIECE : 2 * PIECE]).status_code,
        _call(client, "POST", created, "/complete").status_code,
        _call(client, "DELETE", created).status_code,
    ]

    assert refused == [400] * 4
    upload = _upload_row(uploads_app, created["upload"])
    assert upload is not None and upload.received_size == PIECE


def test_an_abandoned_upload_is_deleted_with_its_file(
    client: FlaskClient, uploads_app: Flask
) -> None:
    ciphertext, _ = _encrypted()
    created = _started(client, ciphertext, PIECE)
    files_before = _partial_files(uploads_app)

    assert _call(client, "DELETE", created).status_code == 204

    assert _upload_row(uploads_app, created["upload"]) is None
    assert len(files_before - _partial_files(uploads_app)) == 1


def test_expired_uploads_are_purged_with_their_files(uploads_app: Flask) -> None:
    storage = EncryptedStorage(_storage_dir(uploads_app))
    now = utc_now()
    size = crypto.encrypted_size(65536)
    with app_database(uploads_app).session() as session:
        purge_expired_uploads(session, storage, now)
        files_before = _partial_files(uploads_app)
        old = create_upload(
            session,
            storage,
            ids=TEST_SUBMISSION_IDS,
            limits=ROOMY_LIMITS,
            submission_public_id=TEST_SUBMISSION_IDS.issue(now - dt.timedelta(hours=25)),
            ciphertext_size=size,
            budget_bytes=BUDGET,
            now=now - dt.timedelta(hours=25),
        )
        live = create_upload(
            session,
            storage,
            ids=TEST_SUBMISSION_IDS,
            limits=ROOMY_LIMITS,
            submission_public_id=TEST_SUBMISSION_IDS.issue(now),
            ciphertext_size=size,
            budget_bytes=BUDGET,
            now=now,
        )
        with pytest.raises(UploadNotFoundError):
            find_upload(session, old.upload.public_id, old.token, now)

        assert purge_expired_uploads(session, storage, now) == 1

        assert find_upload(session, live.upload.public_id, live.token, now).id == live.upload.id
        assert session.scalars(select(Upload.public_id)).all().count(old.upload.public_id) == 0
    assert _partial_files(uploads_app) - files_before == {f".partial-{live.upload.storage_name}"}
