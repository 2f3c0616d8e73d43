"""Reading a form's body so that each attached file is encrypted as it arrives.

Werkzeug's form parser writes each file part into whatever its ``stream_factory`` returns, and by
default that is a temporary file on disk once a part passes 500 KB: plaintext on disk, which
must never happen here. :func:`read_posted_form` parses the body itself with a factory that
returns an :class:`EncryptingSink`, so every piece of a file goes straight into
``attachments.EncryptingUpload`` (STREAM encryption into a staged file in the storage folder)
and no plaintext outlives the piece being encrypted. Text fields stay in memory, bounded by
:data:`MAX_FORM_MEMORY_BYTES` per field.

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
    """The file object the form parser writes one file part into (see the module docstring).

    The parser rewinds its container once a part is complete (``seek(0)``), expecting to read it
    back later; here nothing is kept to read, so rewinding does nothing.
    """

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

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

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

    def encrypting_stream_factory(**part: object) -> EncryptingSink:
        if not part.get("filename"):
            return EncryptingSink(None)
        try:
            sink = EncryptingSink(EncryptingUpload(session, storage, budget, room))
        except AttachmentsStorageFullError:
            sink = EncryptingSink(None, storage_full=True)
        sinks.append(sink)
        return sink

    try:
        _, fields, parts = parse_form_data(
            request.environ,
            stream_factory=encrypting_stream_factory,
            max_form_memory_size=MAX_FORM_MEMORY_BYTES,
            max_content_length=budget.limit + FORM_ALLOWANCE_BYTES,
            silent=False,
        )
    except ValueError:
        # A multipart body without a boundary or with broken framing, or a urlencoded one that
        # is not UTF-8: the client's mistake, answered 400 (what was staged is rolled back).
        raise BadRequest() from None
    received = []
    for name, part in parts.items(multi=True):
        sink = part.stream
        encrypted = sink.finish() if isinstance(sink, EncryptingSink) else None
        if encrypted is None:
            continue
        if name == ATTACHMENTS_FIELD:
            received.append(ReceivedFile(encrypted, part.filename or "", part.content_type or ""))
        else:
            storage.discard(session, encrypted.staged)
    over_budget = any(sink.over_budget for sink in sinks)
    storage_full = any(sink.storage_full for sink in sinks)
    return PostedForm(fields, tuple(received), over_budget, storage_full)
