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
rolls the transaction back, which deletes every other staged file (``portal.storage``).
"""

from dataclasses import dataclass

from flask import request
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import parse_form_data

from portal.services.submissions.attachments import (
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

    def __init__(self, upload: EncryptingUpload) -> None:
        self._upload = upload
        self.over_budget = False

    def write(self, data: bytes) -> int:
        if not self.over_budget:
            try:
                self._upload.write(data)
            except AttachmentTooLargeError:
                self.over_budget = True
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def finish(self) -> EncryptedFile:
        return self._upload.finish()


@dataclass(frozen=True)
class ReceivedFile:
    """One attached file, encrypted and staged, with the name and type the browser sent."""

    encrypted: EncryptedFile
    file_name: str
    content_type: str


@dataclass(frozen=True)
class PostedForm:
    """A parsed body: its text fields, its files, and whether the files passed the budget."""

    fields: MultiDict[str, str]
    files: tuple[ReceivedFile, ...]
    over_budget: bool


def read_posted_form(
    session: Session, storage: EncryptedStorage, budget: UploadBudget
) -> PostedForm:
    """Parse the current request's body, encrypting files into ``storage`` as they arrive.

    A file input left empty still sends an empty part with no name, and a file part under any
    other field name is not an attachment; their staged files are deleted at once. Everything
    staged belongs to ``session``'s transaction.
    """
    sinks: list[EncryptingSink] = []

    def encrypting_stream_factory(**_part: object) -> EncryptingSink:
        sink = EncryptingSink(EncryptingUpload(session, storage, budget))
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
        if not isinstance(sink, EncryptingSink) or sink.over_budget:
            continue
        try:
            encrypted = sink.finish()
        except AttachmentTooLargeError:
            sink.over_budget = True
            continue
        if name == ATTACHMENTS_FIELD and (part.filename or encrypted.plaintext_size):
            received.append(ReceivedFile(encrypted, part.filename or "", part.content_type or ""))
        else:
            storage.discard(session, encrypted.staged)
    over_budget = any(sink.over_budget for sink in sinks)
    return PostedForm(fields, tuple(received), over_budget)
