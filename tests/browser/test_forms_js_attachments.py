"""Attachments on the JavaScript path in Chromium: encrypted in the page, uploaded in pieces.

A form is sent with files chosen in the page; each stored attachment is then opened in Python
with the desk key (through the demo instance's recovery-key grant) and compared with what was
chosen. Photos must arrive without their metadata (a canary in a JPEG's EXIF segment and in a
PNG's text chunk), and the page must name the files it does not clean. One test drops the first
piece of an upload on the way and expects the page to resume; one puts a canary string in every
field, in a file's content and in its name, and finds it nowhere: not in the instance folder
(database file and storage), the temporary folder, the logs, nor any request the page sent.
"""

import base64
import datetime as dt
import io
import json
import logging
import random
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

import crypto
from crypto.file_padding import padded_file_size
from portal.models import utc_now
from portal.services.contexts import SubmissionAddress, signed_attachment_keys_context
from portal.services.submissions.payload import decode_payload
from portal.storage import EncryptedStorage
from portal.web.instance import web_instance
from tests.browser.journeys import fill_individual_case, open_session_form, send_and_keep_codename
from tests.canary_scan import files_holding, files_under, instance_files
from tests.conftest import DemoInstance, true_content
from tests.integration.forms_client import desk_private_key, stored_submission

pytestmark = pytest.mark.browser

LARGE_FILE_BYTES = 3 * 1024 * 1024 + 12345
UPLOAD_PIECE = "**/uploads/*?offset=*"


def _file(name: str, mime_type: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime_type, "buffer": content}


def _stored_attachments(
    app: Flask, instance: DemoInstance, public_id: str, codename: str
) -> dict[str, tuple[str, int, bytes]]:
    """Each stored file by name: its type, its declared size and its decrypted content.

    The keys record must open with the desk key and with the submitter's own key alike.
    """
    submission = stored_submission(app, public_id)
    desk_key = desk_private_key(app, instance, "valdoria")
    key_seed = crypto.derive_codename_secrets(codename).key_seed
    # Sealed to the key the page derived for this submission, which is what the row names.
    own = crypto.derive_submission_keys(key_seed, submission.public_id)
    assert submission.submitter_public_key == own.public_key_bytes()
    own_key = own.private_key()
    storage = EncryptedStorage(Path(instance.settings.instance_dir, "storage"))
    stored = {}
    for attachment in submission.attachments:
        address = SubmissionAddress.of(submission)
        context = signed_attachment_keys_context(address, attachment.public_id)
        sealed = attachment.keys_envelope
        record = decode_payload(crypto.open_envelope(sealed, desk_key, context))
        assert decode_payload(crypto.open_envelope(sealed, own_key, context)) == record
        # The page padded the file: the row and the stored file show only the padded size.
        padded_size = crypto.encrypted_size(padded_file_size(record["size"]))
        assert attachment.ciphertext_size == padded_size
        assert storage.path(attachment.storage_name).stat().st_size == padded_size
        plaintext = io.BytesIO()
        with storage.open(attachment.storage_name) as encrypted:
            crypto.decrypt_file(encrypted, plaintext, base64.b64decode(record["key"]))
        content = true_content(plaintext.getvalue(), record)
        stored[record["name"]] = (record["type"], record["size"], content)
    return stored


def test_two_attachments_are_encrypted_in_the_page_and_stored(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    large = random.Random(7).randbytes(LARGE_FILE_BYTES)  # noqa: S311 - test data, not a key
    notes = b"Notes on the hearing.\n" * 50
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Files")
    js_page.get_by_label("Files (optional)").set_input_files(
        [_file("notes.txt", "text/plain", notes), _file("scan.bin", "application/pdf", large)]
    )

    codename = send_and_keep_codename(js_page)

    assert _stored_attachments(served_app, portal_server_instance, public_id, codename) == {
        "notes.txt": ("text/plain", len(notes), notes),
        "scan.bin": ("application/pdf", LARGE_FILE_BYTES, large),
    }


def test_an_expired_form_is_renewed_in_place_and_then_sent_with_its_files(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    issuer = web_instance(served_app).submission_ids
    expired = issuer.issue(utc_now() - dt.timedelta(hours=issuer.lifetime_hours + 2))
    notes = b"Notes kept through the renewal.\n" * 20
    open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Renewed")
    js_page.get_by_label("Files (optional)").set_input_files(
        [_file("notes.txt", "text/plain", notes)]
    )
    # As if the page had stayed open longer than a form lives.
    js_page.locator("input[name='public_id']").evaluate(
        "(input, id) => { input.value = id; }", expired
    )

    js_page.get_by_role("button", name="Send").click()

    expect(js_page.get_by_text("had expired, so nothing was sent")).to_be_visible(timeout=30_000)
    renewed = js_page.locator("input[name='public_id']").input_value()
    assert renewed != expired
    assert issuer.is_live(renewed, utc_now())
    assert js_page.get_by_label("What happened to them").input_value() == "Renewed detained"
    codename = send_and_keep_codename(js_page)
    assert _stored_attachments(served_app, portal_server_instance, renewed, codename) == {
        "notes.txt": ("text/plain", len(notes), notes),
    }


def test_progress_is_shown_for_each_file_and_for_all(js_page: Any, portal_server: str) -> None:
    open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Progress")
    js_page.get_by_label("Files (optional)").set_input_files(
        [_file("a.txt", "text/plain", b"a" * 100), _file("b.txt", "text/plain", b"b" * 100)]
    )
    shown: list[Any] = []
    js_page.route(UPLOAD_PIECE, lambda route: (shown.append(_progress(js_page)), route.continue_()))

    send_and_keep_codename(js_page)

    first, second = shown
    assert first["files"] == ["a.txt", "b.txt"] and first["overall"] == "0"
    assert second["bars"][0] == "1" and second["overall"] == "0.5"
    assert second["said"] == "50% sent"


def _progress(page: Any) -> dict[str, Any]:
    """What the progress bars say while a piece is on its way (read in the page)."""
    return page.evaluate(
        """() => ({
          files: [...document.querySelectorAll('.upload-files .progress-label')].map(
            (label) => label.textContent),
          bars: [...document.querySelectorAll('.upload-files progress')].map(
            (bar) => String(bar.value)),
          overall: String(document.querySelector('.upload-progress p progress').value),
          said: document.querySelector('.upload-progress p .progress-text').textContent,
        })"""
    )


def test_an_upload_cut_off_once_resumes_and_completes(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    content = random.Random(11).randbytes(2 * 1024 * 1024)  # noqa: S311 - test data
    aborted: list[str] = []

    def drop_the_first_piece(route: Any) -> None:
        if not aborted:
            aborted.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    js_page.route(UPLOAD_PIECE, drop_the_first_piece)
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, "Resume")
    js_page.get_by_label("Files (optional)").set_input_files(
        [_file("evidence.bin", "application/octet-stream", content)]
    )

    codename = send_and_keep_codename(js_page)

    assert len(aborted) == 1 and aborted[0].endswith("?offset=0")
    stored = _stored_attachments(served_app, portal_server_instance, public_id, codename)
    assert stored == {"evidence.bin": ("application/octet-stream", len(content), content)}


def test_canary_in_fields_and_a_file_appears_nowhere(
    js_page: Any,
    portal_server: str,
    served_app: Flask,
    portal_server_instance: DemoInstance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = "CANARY-a81e4d-forms-js-files"
    caplog.set_level(logging.DEBUG)
    temp_folder = Path(tempfile.gettempdir())
    temp_before = files_under(temp_folder)
    requests: list[Any] = []
    js_page.on("request", lambda request: requests.append(request))
    content = (f"attachment content {canary}\n" * 20_000).encode()
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    fill_individual_case(js_page, canary)
    js_page.get_by_label("Files (optional)").set_input_files(
        [_file(f"{canary}.txt", "text/plain", content)]
    )

    codename = send_and_keep_codename(js_page)

    stored = _stored_attachments(served_app, portal_server_instance, public_id, codename)
    assert stored == {f"{canary}.txt": ("text/plain", len(content), content)}
    assert any("/uploads/" in request.url for request in requests)
    for request in requests:
        body = request.post_data_buffer or b""
        for text in (body, request.url.encode(), json.dumps(request.all_headers()).encode()):
            assert canary.encode() not in text
    needle = canary.encode()
    instance_folder = Path(portal_server_instance.settings.instance_dir)
    assert (instance_folder / "parley.sqlite3").is_file()
    assert files_holding(instance_files(portal_server_instance.settings), needle) == []
    assert canary not in caplog.text
    assert files_holding(files_under(temp_folder) - temp_before, needle) == []


def _png_with_text(text: str) -> bytes:
    """A grey PNG of 2 by 2 pixels with ``text`` in a tEXt chunk, as an app's comment would be."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = b"".join(b"\x00" + b"\x80\x80\x80" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + text.encode())
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def _jpeg_with_exif(page: Any, text: str) -> bytes:
    """A JPEG the browser drew, with an EXIF segment holding ``text`` put after its start."""
    drawn = page.evaluate(
        """async () => {
          const canvas = document.createElement('canvas');
          canvas.width = 8;
          canvas.height = 8;
          canvas.getContext('2d').fillRect(0, 0, 4, 4);
          const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg'));
          const bytes = new Uint8Array(await blob.arrayBuffer());
          return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        }"""
    )
    jpeg = bytes.fromhex(drawn)
    # "Exif", a big-endian TIFF header and an empty first directory, then the text.
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00" + text.encode()
    app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    return jpeg[:2] + app1 + jpeg[2:]


def test_photos_lose_their_metadata_and_other_files_are_named(
    js_page: Any, portal_server: str, served_app: Flask, portal_server_instance: DemoInstance
) -> None:
    canary = "CANARY-5c2b90-photo-metadata"
    public_id = open_session_form(js_page, portal_server, "/individual-case")
    jpeg, png = _jpeg_with_exif(js_page, canary), _png_with_text(canary)
    notes = b"plain notes"
    fill_individual_case(js_page, "Photos")
    expect(js_page.get_by_text("Your browser removes these details from photos")).to_be_visible()
    js_page.get_by_label("Files (optional)").set_input_files(
        [
            _file("photo.jpg", "image/jpeg", jpeg),
            _file("chart.png", "image/png", png),
            _file("notes.txt", "text/plain", notes),
        ]
    )
    notice = js_page.locator("#field-attachments-not-cleaned")
    expect(notice).to_be_visible()
    assert notice.inner_text().endswith(": notes.txt")

    codename = send_and_keep_codename(js_page)

    stored = _stored_attachments(served_app, portal_server_instance, public_id, codename)
    assert canary.encode() in jpeg and canary.encode() in png
    jpeg_type, jpeg_size, stored_jpeg = stored["photo.jpg"]
    png_type, png_size, stored_png = stored["chart.png"]
    assert (jpeg_type, png_type) == ("image/jpeg", "image/png")
    assert stored_jpeg.startswith(b"\xff\xd8\xff") and jpeg_size == len(stored_jpeg)
    assert stored_png.startswith(b"\x89PNG\r\n\x1a\n") and png_size == len(stored_png)
    assert canary.encode() not in stored_jpeg and canary.encode() not in stored_png
    assert b"Exif" not in stored_jpeg
    assert stored["notes.txt"] == ("text/plain", len(notes), notes)
