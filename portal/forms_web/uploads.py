"""Reading a form's body so that each attached file is encrypted as it arrives.

Werkzeug's form parser writes each file part into a temporary file on disk once a part passes
500 KB: plaintext on disk, which must never happen here. :func:`read_posted_form` decodes a
multipart body itself (``portal.forms_web.multipart``) and writes each file part into an
:class:`EncryptingSink`, so every piece of a file goes straight into
``attachments.EncryptingUpload`` (STREAM encryption into a staged file in the storage folder)
and no plaintext outlives the piece being encrypted. Text fields stay in memory, bounded by
:data:`MAX_FORM_MEMORY_BYTES` per field. A urlencoded body, which holds no file, is read by
Werkzeug's parser.

The parse runs in the view, not before it: the forms blueprint is exempt from ``CSRFProtect``'s
early check (which would parse the body with the default factory) and checks the token itself
once the body is read (see ``portal.blueprints.forms``).

When the files pass the submission's :class:`attachments.UploadBudget` (which counts padded
bytes, so a file may cross it only when its padding is added, at the end), the sink that crossed
it has already deleted its partial file; the sinks keep reading (and dropping) the rest of the body
so that every typed field still arrives and the form can come back with all of it. The caller
rolls the transaction back, which deletes every other staged file (``portal.storage``). A file
the storage quota has no room for (``storage_quota.StagingRoom``) is dropped the same way, and
the form says that the portal is full rather than that the files were too large.
"""

from dataclasses import dataclass

from flask import request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import parse_form_data
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_input_stream

from portal.forms_web.multipart import decode_multipart
from portal.services.storage_quota import StagingRoom
from portal.services.submissions.attachments import (
    AttachmentsStorageFullError,
    AttachmentTooLargeError,
    EncryptedFile,
    EncryptingUpload,
    UploadBudget,
)
from portal.storage import EncryptedStorage

ATTACHMENTS_FIELD = "attachments"
# Werkzeug's default for one text field held in memory; a form's longest text is far shorter.
MAX_FORM_MEMORY_BYTES = 500 * 1024
# What a body may hold beyond its files: every text field, the multipart framing, the headers.
FORM_ALLOWANCE_BYTES = 8 * 1024 * 1024


class EncryptingSink:
    """Where the decoder writes one file part (see the module docstring)."""

    def __init__(self, upload: EncryptingUpload | None, *, storage_full: bool = False) -> None:
        """``upload`` is ``None`` for a part whose bytes are dropped: a file input left empty, or
        a file the storage had no room to start (``storage_full``)."""
        self._upload = upload
        self.over_budget = storage_full
        self.storage_full = storage_full

    def write(self, data: bytes) -> int:
        if self._upload is not None and not self.over_budget:
            try:
                self._upload.write(data)
            except AttachmentTooLargeError as refusal:
                self._refused(refusal)
        return len(data)

    def finish(self) -> EncryptedFile | None:
        """The encrypted file, or ``None`` (its partial file gone) when it was refused."""
        if self._upload is None or self.over_budget:
            return None
        try:
            return self._upload.finish()
        except AttachmentTooLargeError as refusal:
            self._refused(refusal)
            return None

    def _refused(self, refusal: AttachmentTooLargeError) -> None:
        self.over_budget = True
        self.storage_full = isinstance(refusal, AttachmentsStorageFullError)


@dataclass(frozen=True)
class ReceivedFile:
    """One attached file, encrypted and staged, with the name and type the browser sent."""

    encrypted: EncryptedFile
    file_name: str
    content_type: str


@dataclass(frozen=True)
class PostedForm:
    """A parsed body: its text fields, its files, and whether the files passed the budget and
    found room in the storage."""

    fields: MultiDict[str, str]
    files: tuple[ReceivedFile, ...]
    over_budget: bool
    storage_full: bool = False


def read_posted_form(
    session: Session, storage: EncryptedStorage, budget: UploadBudget, room: StagingRoom
) -> PostedForm:
    """Parse the current request's body, encrypting files into ``storage`` as they arrive.

    A file input left empty still sends an empty part with no name, which is dropped unread; a
    file part under any other field name is not an attachment, and its staged file is deleted
    at once. Everything staged belongs to ``session``'s transaction.
    """
    sinks: list[EncryptingSink] = []

    def open_encrypting_sink(file_name: str) -> EncryptingSink:
        if not file_name:
            return EncryptingSink(None)
        try:
            sink = EncryptingSink(EncryptingUpload(session, storage, budget, room))
        except AttachmentsStorageFullError:
            sink = EncryptingSink(None, storage_full=True)
        sinks.append(sink)
        return sink

    environ = request.environ
    max_body_bytes = budget.limit + FORM_ALLOWANCE_BYTES
    mimetype, options = parse_options_header(environ.get("CONTENT_TYPE"))
    try:
        if mimetype != "multipart/form-data":
            _, fields, _ = parse_form_data(environ, max_content_length=max_body_bytes, silent=False)
            return PostedForm(fields, (), over_budget=False)
        # 413 at once for a body announced as larger, and for one that turns out larger.
        stream = get_input_stream(environ, max_content_length=max_body_bytes)
        decoded = decode_multipart(
            stream,
            options.get("boundary", "").encode("ascii"),
            open_encrypting_sink,
            max_held_bytes=MAX_FORM_MEMORY_BYTES,
        )
    except ValueError:
        # A multipart body without a boundary or with broken framing, or a urlencoded one that
        # is not UTF-8: the client's mistake, answered 400 (what was staged is rolled back).
        raise BadRequest() from None
    received = []
    for name, part in decoded.files.items(multi=True):
        encrypted = part.sink.finish()
        if encrypted is None:
            continue
        if name == ATTACHMENTS_FIELD:
            received.append(ReceivedFile(encrypted, part.filename, part.content_type or ""))
        else:
            storage.discard(session, encrypted.staged)
    over_budget = any(sink.over_budget for sink in sinks)
    storage_full = any(sink.storage_full for sink in sinks)
    return PostedForm(decoded.fields, tuple(received), over_budget, storage_full)
