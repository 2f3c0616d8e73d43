"""Attachments of a submission, from either path; never on disk in clear.

Without JavaScript, :class:`EncryptingUpload` takes a file's bytes as they arrive (a form
parser's stream factory writes into it) and passes them straight through
``crypto.StreamEncryptor`` into a file staged in the storage folder (``portal.storage``), so
plaintext exists only in the chunk being encrypted. An :class:`UploadBudget` shared by every
file of one submission counts plaintext bytes as they come; the write that would cross the limit
deletes the partial file at once and raises ``AttachmentTooLargeError``. Each piece of ciphertext
also takes its room in the storage quota (``storage_quota.StagingRoom``) before it is written; a
piece the storage has no room for deletes the partial file the same way and raises
``AttachmentsStorageFullError``. When the file ends,
zero bytes pad it to its size bucket (``crypto.file_padding``) before the last chunk is sealed,
and the padding counts against the budget too: what is stored, and what the limit counts, is the
padded size. Then :func:`attach_file` seals the file's key, name, type and true size in an
attachment-keys record (``parley-attachment-keys-v2``, under
``contexts.signed_attachment_keys_context`` and signed by the submission's signing key;
docs/FORMATS.md, "Envelope contexts" and "Envelope plaintexts") to the submission's desk key and
the submitter, and the file becomes visible when the caller's transaction commits. The true size
exists nowhere else.

With JavaScript, the browser encrypts each file itself, sends the ciphertext through the
resumable upload API (``portal.services.submissions.uploads``) and seals the attachment-keys record
itself, under the context that names the upload's public id (which becomes the attachment's); it
pads the file the same way, so the upload API is told only the padded size. When
the submission arrives, :func:`claim_uploads` turns those uploads into attachments in the same
transaction: each must be complete, live and made for this submission, and each record must be
an envelope for its own context and the submission's two recipients. The upload rows go (their
bytes now count as stored in the storage quota, ``storage_quota.claim_unclaimed``), and
their files are renamed to their final names only once the transaction commits; any refusal or
rollback leaves the uploads exactly as they were, so the browser can send again.

Readers take a keys record through :func:`read_keys_record`, which knows both versions: a v1
record (written before padding, kept readable because stored data is never rewritten) describes
a file of exactly ``size`` bytes, a v2 record a file padded with zero bytes beyond ``size``.
"""

import base64
import binascii
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from crypto.file_padding import padded_file_size, padding_pieces
from crypto.stream import KEY_SIZE as FILE_KEY_SIZE
from portal.models import Attachment, Submission, Upload
from portal.services.contexts import (
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_attachment_keys_context,
)
from portal.services.storage_quota import StagingRoom, StorageFullError, claim_unclaimed
from portal.services.submissions.intake import (
    SealedSubmission,
    SubmissionRefusedError,
    check_envelope,
    check_signature,
)
from portal.services.submissions.payload import encode_payload
from portal.services.submissions.submitter_keys import SubmitterKey, submission_keys
from portal.storage import EncryptedStorage, StagedFile
from portal.translatable import translatable

ATTACHMENT_KEYS_FORMAT = "parley-attachment-keys-v2"
UNPADDED_ATTACHMENT_KEYS_FORMAT = "parley-attachment-keys-v1"
DEFAULT_ATTACHMENTS_LIMIT = 500 * 1024 * 1024
MAX_FILE_NAME_LENGTH = 255
MAX_CONTENT_TYPE_LENGTH = 127
MAX_ATTACHMENTS = 100
# A record holds a key, a name of at most 255 characters (4 UTF-8 bytes each at worst), a media
# type and a size: 4 KiB of JSON leaves room for all of it, escaped.
MAX_KEYS_RECORD_BYTES = 4 * 1024 - 4
MAX_KEYS_ENVELOPE_BYTES = crypto.envelope_size(MAX_KEYS_RECORD_BYTES, 2)


class AttachmentTooLargeError(SubmissionRefusedError):
    """The attachments of one submission exceed the limit; the partial file is gone."""


class AttachmentsStorageFullError(AttachmentTooLargeError):
    """The storage quota has no room for the file; the partial file is gone."""


class UploadBudget:
    """How many padded plaintext bytes the attachments of one submission may still take."""

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

    def __init__(
        self,
        session: Session,
        storage: EncryptedStorage,
        budget: UploadBudget,
        room: StagingRoom,
    ) -> None:
        self._session = session
        self._storage = storage
        self._budget = budget
        self._room = room
        self._file_key = crypto.new_file_key()
        self._encryptor = crypto.StreamEncryptor(self._file_key)
        self._staged = storage.stage(session)
        room.track(self._staged)
        self._store(self._encryptor.header)
        self._plaintext_size = 0

    def write(self, data: bytes) -> int:
        self._take(len(data))
        self._plaintext_size += len(data)
        self._encryptor.update_to(data, self._store)
        return len(data)

    def finish(self) -> EncryptedFile:
        """Pad, encrypt the last chunk and close the file; it is published on commit.

        ``AttachmentTooLargeError`` (the partial file deleted) when the padding is over budget.
        """
        self._take(padded_file_size(self._plaintext_size) - self._plaintext_size)
        for zeros in padding_pieces(self._plaintext_size):
            self._encryptor.update_to(zeros, self._store)
        self._store(self._encryptor.finalize())
        self._staged.handle.close()
        return EncryptedFile(self._staged, self._file_key, self._plaintext_size)

    def _store(self, ciphertext: bytes | memoryview) -> None:
        """Write ``ciphertext`` once the storage quota has room for it."""
        if not self._room.take(len(ciphertext)):
            self._storage.discard(self._session, self._staged)
            raise AttachmentsStorageFullError(*StorageFullError().args)
        self._staged.write(ciphertext)

    def _take(self, size: int) -> None:
        if not self._budget.take(size):
            self._storage.discard(self._session, self._staged)
            raise AttachmentTooLargeError(
                translatable(
                    "attachments may take %(size)s MB in all",
                    size=self._budget.limit // (1024 * 1024),
                )
            )


def attach_file(
    session: Session,
    submission: Submission,
    encrypted: EncryptedFile,
    submitter_key: SubmitterKey,
    *,
    file_name: str,
    content_type: str,
) -> Attachment:
    """Record an encrypted file as an attachment of ``submission``, its key sealed and signed
    with the submission's signing key, which ``submitter_key`` gives for this request only."""
    public_id = new_public_id()
    record = {
        "format": ATTACHMENT_KEYS_FORMAT,
        "key": base64.b64encode(encrypted.file_key).decode("ascii"),
        "name": file_name[:MAX_FILE_NAME_LENGTH],
        "type": content_type[:MAX_CONTENT_TYPE_LENGTH],
        "size": encrypted.plaintext_size,
    }
    context = signed_attachment_keys_context(SubmissionAddress.of(submission), public_id)
    keys_envelope = crypto.seal_envelope(
        encode_payload(record),
        recipient_keys(submission.desk_key, submission.submitter_public_key),
        context,
    )
    signing_seed = submission_keys(submitter_key, submission.public_id).signing_seed
    attachment = Attachment(
        public_id=public_id,
        storage_name=encrypted.staged.name,
        ciphertext_size=encrypted.staged.size,
        keys_envelope=keys_envelope,
        signature=crypto.sign_item(signing_seed, context, keys_envelope),
    )
    submission.attachments.append(attachment)
    session.flush()
    return attachment


@dataclass(frozen=True)
class AttachmentKeys:
    """An opened keys record: the file's key, what the sender called it, and its true size."""

    file_key: bytes = field(repr=False)
    name: str
    content_type: str
    size: int
    padded: bool


def read_keys_record(record: Any) -> AttachmentKeys:
    """The members of an opened attachment-keys record of either version.

    ``crypto.DecryptionError`` for an unknown format or a missing or malformed member: a record
    that opened but says nothing usable is as unreadable as one that did not open.
    """
    if not isinstance(record, dict) or record.get("format") not in (
        ATTACHMENT_KEYS_FORMAT,
        UNPADDED_ATTACHMENT_KEYS_FORMAT,
    ):
        raise crypto.DecryptionError("not an attachment-keys record of a known format")
    name, content_type, size = record.get("name"), record.get("type"), record.get("size")
    try:
        file_key = base64.b64decode(record.get("key"), validate=True)
    except (TypeError, ValueError, binascii.Error):
        file_key = b""
    if (
        len(file_key) != FILE_KEY_SIZE
        or not isinstance(name, str)
        or not isinstance(content_type, str)
        or type(size) is not int
        or size < 0
    ):
        raise crypto.DecryptionError("the attachment-keys record is malformed")
    return AttachmentKeys(
        file_key=file_key,
        name=name,
        content_type=content_type,
        size=size,
        padded=record["format"] == ATTACHMENT_KEYS_FORMAT,
    )


@dataclass(frozen=True)
class UploadClaim:
    """A browser's word that an upload is one of this submission's files, with its sealed keys."""

    upload_public_id: str
    keys_envelope: bytes
    signature: bytes


def claim_uploads(
    session: Session,
    storage: EncryptedStorage,
    submission: SealedSubmission,
    claims: Sequence[UploadClaim],
    now: dt.datetime,
) -> list[Attachment]:
    """Make the claimed uploads attachments of ``submission``, in the caller's transaction
    (its row need not be in the session: ``intake.accept_sealed_submission`` leaves it out).

    Refuses, before changing anything, an upload claimed twice, one that is unknown, expired,
    unfinished or made for another submission (all four with one message: the browser can only
    send the file again), and a keys envelope that is not for this attachment's context and the
    submission's recipients. The upload rows are deleted with a check of how many went, so an
    upload abandoned by a concurrent request cannot be attached without its file.
    """
    if len(claims) > MAX_ATTACHMENTS:
        raise SubmissionRefusedError(
            translatable("a submission may carry at most %(count)s files", count=MAX_ATTACHMENTS)
        )
    public_ids = [claim.upload_public_id for claim in claims]
    if len(set(public_ids)) != len(public_ids):
        raise SubmissionRefusedError(
            translatable("the same file was attached twice; send the form again")
        )
    row, address, recipients = submission
    uploads = _claimable_uploads(session, row.public_id, public_ids, now)
    attachments = []
    for claim in claims:
        upload = uploads.get(claim.upload_public_id)
        if upload is None:
            raise SubmissionRefusedError(
                translatable(
                    "an attached file did not arrive in full or has expired; send the form again"
                )
            )
        context = signed_attachment_keys_context(address, upload.public_id)
        check_envelope(
            claim.keys_envelope,
            context=context,
            recipients=recipients,
            max_bytes=MAX_KEYS_ENVELOPE_BYTES,
        )
        check_signature(
            bytes(row.signing_public_key or b""),
            context,
            claim.keys_envelope,
            claim.signature,
        )
        attachments.append(
            Attachment(
                submission_id=row.id,
                public_id=upload.public_id,
                storage_name=upload.storage_name,
                ciphertext_size=upload.ciphertext_size,
                keys_envelope=bytes(claim.keys_envelope),
                signature=bytes(claim.signature),
            )
        )
    if not attachments:
        return attachments
    consumed = session.execute(
        delete(Upload)
        .where(Upload.id.in_([upload.id for upload in uploads.values()]), Upload.complete)
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != len(attachments):
        raise SubmissionRefusedError(
            translatable(
                "an attached file was removed while the form was sent; send the form again"
            )
        )
    claim_unclaimed(session, sum(upload.ciphertext_size for upload in uploads.values()))
    for attachment in attachments:
        session.add(attachment)
        storage.publish_on_commit(session, attachment.storage_name)
    session.flush()
    return attachments


def _claimable_uploads(
    session: Session, submission_public_id: str, public_ids: list[str], now: dt.datetime
) -> dict[str, Upload]:
    """The complete, live uploads of this submission among ``public_ids``, by public id."""
    if not public_ids:
        return {}
    uploads = session.scalars(
        select(Upload).where(
            Upload.public_id.in_(public_ids),
            Upload.submission_public_id == submission_public_id,
            Upload.complete,
            Upload.expires_at > now,
        )
    )
    return {upload.public_id: upload for upload in uploads}
