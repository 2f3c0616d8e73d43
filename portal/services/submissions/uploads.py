"""Resumable uploads of attachments the browser has already encrypted (STREAM v1).

A browser with JavaScript encrypts each file itself and sends the ciphertext in chunks, so that a
large file survives a dropped connection: it asks how much arrived and carries on from there.

- **Creating** an upload names the public id of the submission being composed (issued with the
  form, ``submission_ids``; the submission does not exist yet: an id the server did not issue,
  one that expired and one a submission already took are refused) and the ciphertext size the
  browser will send. The whole declared size is reserved in the storage quota
  (``portal.services.storage_quota``) in the transaction that creates the upload, before any byte
  arrives, and given back in the one that deletes it. The
  size must be one a STREAM file of a padded plaintext can have (``crypto.file_padding``: the
  browser pads every file to its size bucket and seals the true size in the keys record, so no
  request, header or row here holds it), and that padded size counts against the attachments
  budget of that submission together with the other live uploads for it. The answer carries a
  random upload token; only its digest is kept, and every later call must present it. Someone who
  learns an upload's public id still cannot append to it, read its state or learn that it exists:
  an unknown id, a wrong token and an expired upload all answer the same "not found".
- **Chunks** are appended only at exactly the length received so far. A chunk sent again at an
  offset already written (the browser lost the answer) is accepted without change if its bytes
  are the ones stored, and refused as a conflict if they differ; a chunk beyond the received
  length is refused as a gap. Either refusal reports the received length so the browser can
  resume. A chunk is streamed from the request into the file and fsync'ed before the received
  length is committed, so the database never counts bytes the disk may not hold; bytes past the
  committed length (a chunk cut off mid-way, a failed commit) are cut off before the next append.
- **Completing** checks that exactly the declared size arrived and that the file starts with a
  STREAM v1 header. The server holds no file key, so it cannot authenticate a single byte: a
  damaged or forged file is only caught when the desk decrypts it (``crypto.stream`` refuses any
  truncation, reordering or change).
- **Expiry**: an upload lives :data:`UPLOAD_LIFETIME`, its end rounded up to the next whole hour
  (:func:`upload_expiry`) so that the row does not keep the moment it was created;
  :func:`purge_expired_uploads` deletes the expired ones, finished or not, with their files (the
  periodic clean-up of ``portal.services.housekeeping`` calls it). Its file's times are set to
  ``storage.FILE_TIME`` after each change, like every file in storage.

Each upload's ciphertext lives in ``.partial-<storage name>`` in the storage folder, the naming
``portal.storage`` uses for files not yet published. Each function here that changes an upload
ends its own transaction, because the row and the file must change together: a step on the file
is committed in the database before the call returns, or undone on the file.

Concurrent requests for one upload are serialised by an exclusive ``flock`` on its file, held
from before the upload's row is read again until after its change is committed.
"""

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session

import crypto
from crypto.file_padding import is_padded_file_size
from crypto.stream import HEADER_SIZE
from portal.models import Upload
from portal.services.contexts import new_public_id
from portal.services.storage_quota import (
    StorageFullError,
    StorageLimits,
    release_unclaimed,
    reserve_unclaimed,
)
from portal.services.submissions.submission_ids import (
    SubmissionIdExpiredError,
    SubmissionIds,
    SubmissionIdUsedError,
    require_usable_id,
)
from portal.storage import PARTIAL_PREFIX, EncryptedStorage, normalise_times, size_on_disk
from portal.translatable import translatable

UPLOAD_LIFETIME = dt.timedelta(hours=24)
_EXPIRY_STEP = dt.timedelta(hours=1)
# Sixteen STREAM chunks, header included, with room to spare: a browser that sends 1 MiB of
# ciphertext per request stays well inside it.
MAX_CHUNK_BYTES = 1024 * 1024 + 64 * 1024
_COPY_BYTES = 64 * 1024
_TOKEN_BYTES = 32
_STORAGE_NAME_BYTES = 24
_MIB = 1024 * 1024
# Compared against when no upload has the id asked for, so that an unknown id costs the same
# work as a wrong token.
_ABSENT_TOKEN_DIGEST = bytes(32)


class UploadError(Exception):
    """An upload request that cannot be honoured; the message can be shown as is."""


class UploadNotFoundError(UploadError):
    """No live upload has this id and token (never says which of the two was wrong)."""


class UploadRefusedError(UploadError):
    """A malformed request, or a file that is not what it was declared to be."""


class UploadTooLargeError(UploadError):
    """A chunk, a file or a submission's files together are over their limit."""


class UploadFormExpiredError(UploadError):
    """The submission id was not issued by this server or has expired: fetch the form again."""


class UploadStorageFullError(UploadError):
    """The storage quota has no room for this file now."""


class UploadConflictError(UploadError):
    """A chunk not at the received length; ``received_size`` says where to resume."""

    def __init__(self, message: str, received_size: int) -> None:
        super().__init__(message)
        self.received_size = received_size


@dataclass(frozen=True)
class NewUpload:
    """A created upload and its token, which exists only in this answer and the browser."""

    upload: Upload
    token: str


def create_upload(
    session: Session,
    storage: EncryptedStorage,
    *,
    ids: SubmissionIds,
    limits: StorageLimits,
    submission_public_id: str,
    ciphertext_size: int,
    budget_bytes: int,
    now: dt.datetime,
) -> NewUpload:
    """Open an upload of ``ciphertext_size`` bytes for the submission being composed.

    The room in the storage quota is reserved first, so that the ledger's lock, held until this
    transaction ends, also puts concurrent uploads for the same submission one after the other:
    each then counts the others' uploads when it checks the submission's budget.
    """
    try:
        require_usable_id(session, ids, submission_public_id, now)
    except SubmissionIdExpiredError as refusal:
        raise UploadFormExpiredError(*refusal.args) from None
    except SubmissionIdUsedError as refusal:
        raise UploadRefusedError(*refusal.args) from None
    plaintext_size = crypto.plaintext_size_for(ciphertext_size)
    if plaintext_size is None or not is_padded_file_size(plaintext_size):
        raise UploadRefusedError(
            translatable(
                "the declared size is not the size of an encrypted file padded to its bucket"
            )
        )
    try:
        reserve_unclaimed(session, limits, ciphertext_size)
    except StorageFullError as refusal:
        raise UploadStorageFullError(*refusal.args) from None
    if _budget_used(session, submission_public_id, now) + plaintext_size > budget_bytes:
        raise UploadTooLargeError(
            translatable("attachments may take %(size)s MB in all", size=budget_bytes // _MIB)
        )
    token = crypto.random_token(_TOKEN_BYTES)
    upload = Upload(
        public_id=new_public_id(),
        submission_public_id=submission_public_id,
        token_digest=crypto.token_digest(token),
        storage_name=crypto.random_token(_STORAGE_NAME_BYTES),
        ciphertext_size=ciphertext_size,
        received_size=0,
        complete=False,
        expires_at=upload_expiry(now),
    )
    path = partial_path(storage, upload.storage_name)
    _create_empty_file(path)
    session.add(upload)
    try:
        session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return NewUpload(upload, token)


def find_upload(session: Session, public_id: str, token: str, now: dt.datetime) -> Upload:
    """The live upload ``public_id`` if ``token`` is its token; else ``UploadNotFoundError``."""
    upload = session.scalars(select(Upload).where(Upload.public_id == public_id)).first()
    digest = _ABSENT_TOKEN_DIGEST if upload is None else upload.token_digest
    if not crypto.token_matches(token, digest) or upload is None or upload.expires_at <= now:
        raise UploadNotFoundError(translatable("no such upload; start the file again"))
    return upload


def append_chunk(
    session: Session,
    storage: EncryptedStorage,
    upload: Upload,
    *,
    offset: int,
    body: BinaryIO,
    length: int,
) -> int:
    """Append ``length`` bytes read from ``body`` at ``offset``; return the received length."""
    if length > MAX_CHUNK_BYTES:
        raise UploadTooLargeError(
            translatable("a chunk may hold at most %(size)s bytes", size=MAX_CHUNK_BYTES)
        )
    with _locked(session, storage, upload) as handle:
        received = upload.received_size
        if upload.complete or offset < received:
            if offset + length <= received and _same_as_stored(handle, offset, body, length):
                return received
            raise UploadConflictError(
                translatable(
                    "replayed or conflicting chunk: these bytes differ from what was received"
                ),
                received,
            )
        if offset > received:
            raise UploadConflictError(
                translatable("a gap: this chunk starts after what was received"), received
            )
        if offset + length > upload.ciphertext_size:
            _delete(session, storage, upload)
            raise UploadTooLargeError(
                translatable("the file is larger than declared; it was deleted")
            )
        _write_durably(handle, received, body, length)
        normalise_times(partial_path(storage, upload.storage_name))
        upload.received_size = received + length
        session.commit()
        return upload.received_size


def complete_upload(session: Session, storage: EncryptedStorage, upload: Upload) -> None:
    """Mark the upload complete once all of it arrived and it starts as a STREAM file does.

    An upload cut short stays, so the browser can send the rest; one that is not a STREAM file
    is deleted, since no amount of resuming can mend it.
    """
    with _locked(session, storage, upload) as handle:
        if upload.complete:
            return
        if upload.received_size != upload.ciphertext_size:
            raise UploadRefusedError(
                translatable(
                    "the file is incomplete: %(received)s of %(size)s bytes arrived; send the rest",
                    received=upload.received_size,
                    size=upload.ciphertext_size,
                )
            )
        handle.seek(0)
        if not crypto.is_stream_header(handle.read(HEADER_SIZE)):
            _delete(session, storage, upload)
            raise UploadRefusedError(
                translatable("this is not an encrypted file we can accept; it was deleted")
            )
        upload.complete = True
        session.commit()


def abandon_upload(session: Session, storage: EncryptedStorage, upload: Upload) -> None:
    """Delete an upload the browser gave up (the file was removed from the form)."""
    with _locked(session, storage, upload):
        _delete(session, storage, upload)


def upload_expiry(now: dt.datetime) -> dt.datetime:
    """When an upload opened at ``now`` expires: :data:`UPLOAD_LIFETIME` later, rounded up to
    the next whole hour (UTC), so the stored expiry tells the hour an upload began, no finer."""
    end = now.astimezone(dt.UTC) + UPLOAD_LIFETIME
    whole_hour = end.replace(minute=0, second=0, microsecond=0)
    return whole_hour if whole_hour == end else whole_hour + _EXPIRY_STEP


def expired_uploads(session: Session, now: dt.datetime, limit: int | None) -> list[Upload]:
    """The uploads expired at ``now`` (at most ``limit`` of them), oldest first."""
    return list(
        session.scalars(
            select(Upload).where(Upload.expires_at <= now).order_by(Upload.id).limit(limit)
        )
    )


def purge_expired_uploads(
    session: Session, storage: EncryptedStorage, expired: list[Upload]
) -> int:
    """Delete the uploads ``expired`` (from :func:`expired_uploads`) and their files; return the
    bytes of the files removed.

    Files go after the rows are gone, so a failure in between leaves at worst an unreferenced
    ``.partial-`` file (which the clean-up removes later), never a row pointing at nothing.
    """
    paths = [partial_path(storage, upload.storage_name) for upload in expired]
    for upload in expired:
        session.delete(upload)
    release_unclaimed(session, sum(upload.ciphertext_size for upload in expired))
    session.commit()
    freed = 0
    for path in paths:
        freed += size_on_disk(path)
        path.unlink(missing_ok=True)
    if paths:
        normalise_times(storage.root)
    return freed


def partial_path(storage: EncryptedStorage, storage_name: str) -> Path:
    """Where the ciphertext of an upload with this storage name is received."""
    storage.path(storage_name)
    return storage.root / f"{PARTIAL_PREFIX}{storage_name}"


def _budget_used(session: Session, submission_public_id: str, now: dt.datetime) -> int:
    """Padded plaintext bytes the live uploads of this submission already hold or will hold."""
    sizes = session.scalars(
        select(Upload.ciphertext_size).where(
            Upload.submission_public_id == submission_public_id, Upload.expires_at > now
        )
    )
    return sum(crypto.plaintext_size_for(size) or 0 for size in sizes)


def _create_empty_file(path: Path) -> None:
    """Create the file and make its directory entry durable before the row points at it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    normalise_times(path, path.parent)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def _locked(session: Session, storage: EncryptedStorage, upload: Upload) -> Iterator[BinaryIO]:
    """The upload's file, opened and exclusively locked, with the upload's row read afresh.

    The session's transaction ends before waiting for the lock, so that it holds no database
    lock the request holding the file lock may need in order to commit.
    """
    path = partial_path(storage, upload.storage_name)
    session.rollback()
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        raise UploadNotFoundError(translatable("no such upload; start the file again")) from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            session.refresh(upload, with_for_update=True)
        except InvalidRequestError:
            raise UploadNotFoundError(
                translatable("no such upload; start the file again")
            ) from None
        yield handle


def _same_as_stored(handle: BinaryIO, offset: int, body: BinaryIO, length: int) -> bool:
    """Whether ``body`` holds exactly the ``length`` bytes stored at ``offset``."""
    handle.seek(offset)
    remaining = length
    while remaining:
        piece = body.read(min(_COPY_BYTES, remaining))
        if not piece or handle.read(len(piece)) != piece:
            return False
        remaining -= len(piece)
    return True


def _write_durably(handle: BinaryIO, start: int, body: BinaryIO, length: int) -> None:
    """Write ``length`` bytes of ``body`` at ``start`` and fsync; on failure, write nothing."""
    handle.truncate(start)
    handle.seek(start)
    try:
        remaining = length
        while remaining:
            piece = body.read(min(_COPY_BYTES, remaining))
            if not piece:
                raise UploadRefusedError(translatable("the chunk ended before its declared length"))
            handle.write(piece)
            remaining -= len(piece)
        handle.flush()
        os.fsync(handle.fileno())
    except BaseException:
        handle.truncate(start)
        raise


def _delete(session: Session, storage: EncryptedStorage, upload: Upload) -> None:
    name = upload.storage_name
    session.delete(upload)
    release_unclaimed(session, upload.ciphertext_size)
    session.commit()
    partial_path(storage, name).unlink(missing_ok=True)
    normalise_times(storage.root)
