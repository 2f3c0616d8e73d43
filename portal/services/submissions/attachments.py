"""Attachments sent without JavaScript: encrypted as they are read, never on disk in clear.

:class:`EncryptingUpload` takes a file's bytes as they arrive (a form parser's stream factory
writes into it) and passes them straight through ``crypto.StreamEncryptor`` into a file staged
in the storage folder (``portal.storage``), so plaintext exists only in the chunk being encrypted.
An :class:`UploadBudget` shared by every file of one submission counts plaintext bytes as they
come; the write that would cross the limit deletes the partial file at once and raises
``AttachmentTooLargeError``. Then :func:`attach_file` seals the file's key, name, type and size
in an attachment-keys record (see ``contexts``) to the submission's desk key and the submitter,
and the file becomes visible when the caller's transaction commits.

The attachment-keys record is UTF-8 JSON::

    {"format": "parley-attachment-keys-v1", "key": base64 of the 32-byte file key,
     "name": file name as sent, "type": media type as sent, "size": plaintext bytes}

Not built yet: the JavaScript path's resumable upload of browser-encrypted chunks.
"""

import base64
from dataclasses import dataclass

from sqlalchemy.orm import Session

import crypto
from portal.models import Attachment, Submission
from portal.services.submissions.contexts import (
    SubmissionAddress,
    attachment_keys_context,
    new_public_id,
    recipient_keys,
)
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.payload import encode_payload
from portal.storage import EncryptedStorage, StagedFile

ATTACHMENT_KEYS_FORMAT = "parley-attachment-keys-v1"
DEFAULT_ATTACHMENTS_LIMIT = 500 * 1024 * 1024
MAX_FILE_NAME_LENGTH = 255
MAX_CONTENT_TYPE_LENGTH = 127


class AttachmentTooLargeError(SubmissionRefusedError):
    """The attachments of one submission exceed the limit; the partial file is gone."""


class UploadBudget:
    """How many plaintext bytes the attachments of one submission may still take."""

    def __init__(self, limit: int = DEFAULT_ATTACHMENTS_LIMIT) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Count ``size`` more bytes; ``False`` (and nothing counted) if that is over the limit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True


@dataclass(frozen=True)
class EncryptedFile:
    """A staged encrypted file and what its attachment-keys record must hold."""

    staged: StagedFile
    file_key: bytes
    plaintext_size: int


class EncryptingUpload:
    """A writable sink that encrypts each piece as it is written (see the module docstring)."""

    def __init__(self, session: Session, storage: EncryptedStorage, budget: UploadBudget) -> None:
        self._session = session
        self._storage = storage
        self._budget = budget
        self._file_key = crypto.new_file_key()
        self._encryptor = crypto.StreamEncryptor(self._file_key)
        self._staged = storage.stage(session)
        self._staged.write(self._encryptor.header)
        self._plaintext_size = 0

    def write(self, data: bytes) -> int:
        if not self._budget.take(len(data)):
            self._storage.discard(self._session, self._staged)
            raise AttachmentTooLargeError(
                f"attachments may take {self._budget.limit // (1024 * 1024)} MB in all"
            )
        self._plaintext_size += len(data)
        self._staged.write(self._encryptor.update(bytes(data)))
        return len(data)

    def finish(self) -> EncryptedFile:
        """Encrypt the last chunk and close the file; it is published on commit."""
        self._staged.write(self._encryptor.finalize())
        self._staged.handle.close()
        return EncryptedFile(self._staged, self._file_key, self._plaintext_size)


def attach_file(
    session: Session,
    submission: Submission,
    encrypted: EncryptedFile,
    *,
    file_name: str,
    content_type: str,
) -> Attachment:
    """Record an encrypted file as an attachment of ``submission``, its key sealed."""
    public_id = new_public_id()
    record = {
        "format": ATTACHMENT_KEYS_FORMAT,
        "key": base64.b64encode(encrypted.file_key).decode("ascii"),
        "name": file_name[:MAX_FILE_NAME_LENGTH],
        "type": content_type[:MAX_CONTENT_TYPE_LENGTH],
        "size": encrypted.plaintext_size,
    }
    keys_envelope = crypto.seal_envelope(
        encode_payload(record),
        recipient_keys(submission.desk_key, submission.submitter),
        attachment_keys_context(SubmissionAddress.of(submission), public_id),
    )
    attachment = Attachment(
        public_id=public_id,
        storage_name=encrypted.staged.name,
        ciphertext_size=encrypted.staged.size,
        keys_envelope=keys_envelope,
    )
    submission.attachments.append(attachment)
    session.flush()
    return attachment
