"""Attachments on the no-JavaScript path: encrypted as they are read, never on disk in clear.

The canary test types one unique string into every text field of a form and into an attached
file's content and name, and then looks for it everywhere the portal could have put it. The
large-file test sends 20 MB through a request body generated on the fly (so the test client
holds no copy), forbids every way of making a temporary file while the request runs, and bounds
the peak Python memory of the request.
"""

import base64
import dataclasses
import hashlib
import io
import logging
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

import crypto
from crypto.file_padding import padded_file_size
from portal import create_app
from portal.forms_web.uploads import FORM_ALLOWANCE_BYTES, MAX_FORM_MEMORY_BYTES
from portal.services.contexts import SubmissionAddress, signed_attachment_keys_context
from portal.services.submissions.payload import decode_payload
from portal.storage import EncryptedStorage
from tests.canary_scan import files_holding, files_under, instance_files, tables_holding
from tests.conftest import DemoInstance, true_content
from tests.integration.forms_client import (
    OpenedForm,
    case_fields,
    codename_in,
    desk_private_key,
    open_form,
    open_session_url,
    post_form,
    row_counts,
    storage_listing,
    stored_submission,
)

CANARY = "CANARY-0d5e1b-forms-no-js"
LARGE_FILE_BYTES = 20 * 1024 * 1024
PEAK_MEMORY_LIMIT = 8 * 1024 * 1024
BOUNDARY = "parley-test-boundary-4f1c"
# Bytes 0..250 repeated: enough for one 64 KiB read starting at any offset in the pattern.
_PATTERN = bytes(range(251)) * 264


def _opened_attachment(
    app: Flask, instance: DemoInstance, public_id: str
) -> tuple[dict[str, object], bytes]:
    """The attachment-keys record and the decrypted content of a submission's only file."""
    submission = stored_submission(app, public_id)
    [attachment] = submission.attachments
    context = signed_attachment_keys_context(SubmissionAddress.of(submission), attachment.public_id)
    desk_key = desk_private_key(app, instance, "valdoria")
    record = decode_payload(crypto.open_envelope(attachment.keys_envelope, desk_key, context))
    storage = EncryptedStorage(Path(instance.settings.instance_dir, "storage"))
    plaintext = io.BytesIO()
    with storage.open(attachment.storage_name) as encrypted:
        crypto.decrypt_file(encrypted, plaintext, base64.b64decode(record["key"]))
    # The stored file and its row show only the padded size.
    stored_size = storage.path(attachment.storage_name).stat().st_size
    padded_size = crypto.encrypted_size(padded_file_size(int(record["size"])))
    assert attachment.ciphertext_size == padded_size == stored_size
    return record, true_content(plaintext.getvalue(), record)


def test_canary_typed_and_attached_appears_nowhere(
    app: Flask,
    client: FlaskClient,
    writable_demo_instance: DemoInstance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    temp_folder = Path(tempfile.gettempdir())
    temp_before = files_under(temp_folder)
    form = open_form(client, open_session_url(app, "individual-case"))
    content = (f"attachment content {CANARY}\n" * 40_000).encode()

    status, html = post_form(
        client,
        form,
        {**case_fields(CANARY), "attachments": [(io.BytesIO(content), f"{CANARY}.txt")]},
    )

    assert status == 200
    record, plaintext = _opened_attachment(app, writable_demo_instance, form.hidden["public_id"])
    assert plaintext == content and record["name"] == f"{CANARY}.txt"
    needle = CANARY.encode()
    assert files_holding(instance_files(writable_demo_instance.settings), needle) == []
    assert tables_holding(app, CANARY) == []
    assert CANARY not in caplog.text
    assert files_holding(files_under(temp_folder) - temp_before, needle) == []
    assert codename_in(html)


class _GeneratedMultipart(io.RawIOBase):
    """A multipart body whose file part is generated as it is read: no copy anywhere."""

    def __init__(self, form: OpenedForm, fields: dict[str, str], file_size: int) -> None:
        head = b"".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
            for name, value in {**form.hidden, **fields}.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="large.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self._tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self._head = head
        self.length = len(head) + file_size + len(self._tail)
        self._file_size = file_size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.length}[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def file_digest(self) -> bytes:
        """The SHA-256 of the generated file, computed again chunk by chunk."""
        digest = hashlib.sha256()
        for start in range(0, self._file_size, 64 * 1024):
            digest.update(self._file_bytes(start, min(64 * 1024, self._file_size - start)))
        return digest.digest()

    @staticmethod
    def _file_bytes(start: int, size: int) -> bytes:
        offset = start % 251
        return _PATTERN[offset : offset + size]

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), 64 * 1024)
        start, head, file_end = self._position, len(self._head), len(self._head) + self._file_size
        if start < head:
            data = self._head[start : start + size]
        elif start < file_end:
            data = self._file_bytes(start - head, min(size, file_end - start))
        else:
            data = self._tail[start - file_end : start - file_end + size]
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


def _forbid_temporary_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a temporary file was made while the form was received")

    for name in ("TemporaryFile", "SpooledTemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)


def test_large_attachment_streams_through_encryption_in_bounded_memory(
    app: Flask,
    client: FlaskClient,
    writable_demo_instance: DemoInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    body = _GeneratedMultipart(
        form, {**case_fields("large"), "codename_choice": "new"}, LARGE_FILE_BYTES
    )
    _forbid_temporary_files(monkeypatch)

    tracemalloc.start()
    try:
        response = client.post(
            form.url,
            input_stream=body,
            content_length=body.length,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    monkeypatch.undo()

    assert response.status_code == 200
    assert peak < PEAK_MEMORY_LIMIT, peak
    record, plaintext = _opened_attachment(app, writable_demo_instance, form.hidden["public_id"])
    assert record["size"] == LARGE_FILE_BYTES
    assert hashlib.sha256(plaintext).digest() == body.file_digest()


def test_attachments_over_the_limit_are_refused_and_nothing_is_left(
    writable_demo_instance: DemoInstance,
) -> None:
    settings = dataclasses.replace(writable_demo_instance.settings, max_upload_bytes=100_000)
    small_app = create_app(settings)
    client = small_app.test_client()
    form = open_form(client, open_session_url(small_app, "individual-case"))
    before, files_before = row_counts(small_app), storage_listing(writable_demo_instance)

    status, html = post_form(
        client,
        form,
        {
            **case_fields("over"),
            "attachments": [
                (io.BytesIO(b"a" * 60_000), "first.txt"),
                (io.BytesIO(b"b" * 60_000), "second.txt"),
            ],
        },
    )

    assert status == 400
    assert row_counts(small_app) == before
    assert storage_listing(writable_demo_instance) == files_before
    assert "The files together are larger than 98 KB" in html
    assert 'id="field-attachments-error"' in html
    assert 'value="name over"' in html


def test_a_refused_form_drops_its_files_and_says_so(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    files_before = storage_listing(writable_demo_instance)

    status, html = post_form(
        client,
        form,
        {"situation": "only this", "attachments": [(io.BytesIO(b"z" * 700_000), "kept.pdf")]},
    )

    assert status == 400
    assert storage_listing(writable_demo_instance) == files_before
    assert "The files you chose were not kept. Choose them again before you send." in html


def _multipart(
    form: OpenedForm, fields: dict[str, str], files: list[tuple[str, str, bytes]]
) -> bytes:
    """A multipart body of the form's hidden fields, ``fields`` and ``files`` (field name, file
    name, content), without its closing boundary."""
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in {**form.hidden, **fields}.items()
    )
    for name, file_name, content in files:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    return body


def _post_body(client: FlaskClient, form: OpenedForm, body: bytes, **options: object) -> int:
    response = client.post(
        form.url,
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **options,
    )
    return response.status_code


def test_empty_file_inputs_and_files_under_other_names_are_not_kept(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    files_before = storage_listing(writable_demo_instance)
    files = [
        ("attachments", "", b""),
        ("situation", "elsewhere.txt", b"s" * 3 * 1024 * 1024),
        ("attachments", "kept.txt", b"kept"),
    ]
    body = _multipart(form, case_fields("others"), files) + f"--{BOUNDARY}--\r\n".encode()

    assert _post_body(client, form, body) == 200

    record, plaintext = _opened_attachment(app, writable_demo_instance, form.hidden["public_id"])
    assert (record["name"], plaintext) == ("kept.txt", b"kept")
    [added] = storage_listing(writable_demo_instance) - files_before
    assert added == stored_submission(app, form.hidden["public_id"]).attachments[0].storage_name


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        (b"", 400),
        (b"\r\njunk that is no boundary", 400),
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="situation"\r\n\r\n'.encode()
            + b"x" * (MAX_FORM_MEMORY_BYTES + 1),
            413,
        ),
        (f"--{BOUNDARY}\r\nX-Padding: ".encode() + b"p" * MAX_FORM_MEMORY_BYTES, 413),
    ],
    ids=["no closing boundary", "junk", "text field too long", "headers too long"],
)
def test_a_body_refused_after_its_files_leaves_nothing_staged(
    app: Flask,
    client: FlaskClient,
    writable_demo_instance: DemoInstance,
    ending: bytes,
    status: int,
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)
    files = [("attachments", f"{size}.bin", b"f" * size) for size in (700_000, 2_500_000)]
    body = _multipart(form, case_fields("refused"), files) + ending

    assert _post_body(client, form, body) == status

    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def _post_announcing(app: Flask, url: str, body: io.BytesIO, announced: int) -> int:
    """Post ``body`` under a Content-Length of ``announced`` bytes, which the test client would
    correct to the body's real length."""
    environ = EnvironBuilder(path=url, method="POST").get_environ()
    environ.update(
        {
            "wsgi.input": body,
            "CONTENT_LENGTH": str(announced),
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        }
    )
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0])


def test_a_body_shorter_than_announced_leaves_nothing_staged(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance
) -> None:
    form = open_form(client, open_session_url(app, "individual-case"))
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)
    body = _multipart(form, case_fields("short"), [("attachments", "a.bin", b"a" * 1_500_000)])

    status = _post_announcing(app, form.url, io.BytesIO(body), len(body) + 10_000)

    assert status == 400
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_a_body_over_the_budget_and_allowance_is_refused_unread(
    writable_demo_instance: DemoInstance,
) -> None:
    settings = dataclasses.replace(writable_demo_instance.settings, max_upload_bytes=100_000)
    small_app = create_app(settings)
    form = open_form(small_app.test_client(), open_session_url(small_app, "individual-case"))
    body = io.BytesIO(_multipart(form, case_fields("big"), []))

    status = _post_announcing(small_app, form.url, body, 100_000 + FORM_ALLOWANCE_BYTES + 1)

    assert status == 413
    assert body.tell() == 0
