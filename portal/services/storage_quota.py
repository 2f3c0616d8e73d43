"""The storage quota: the storage folder never holds more ciphertext than the operator allows.

Anyone can send files, so without a limit one client could fill the disk and stop every other
submission. Two limits apply (``PORTAL_STORAGE_QUOTA_BYTES`` and
``PORTAL_UNCLAIMED_UPLOAD_BYTES``, see ``portal.settings``):

- all ciphertext in the storage folder: stored attachments, uploads in progress at their declared
  size, files of a form being received, and anything else found there;
- the part of it not yet attached to a stored submission ("unclaimed"), so that a flood of
  uploads that are never sent cannot leave no room for submissions that are.

The counts live in one row (``portal.models.storage_ledger``). Room is reserved *before* a byte
is written, by a single conditional ``UPDATE ... WHERE used + n <= quota``: the database applies
such updates to one row one after the other (SQLite's write lock, PostgreSQL's row lock with the
condition checked again after the wait), so two uploads racing for the last bytes cannot both
get them, and the affected row count says whether the room was granted. Room is given back when
an upload is abandoned, refused or purged, when a form is refused, and when a submission's files
are deleted; a submission that claims its uploads moves their bytes from unclaimed to stored.

- A resumable upload (``submissions.uploads``) reserves its whole declared size in the
  transaction that creates it, and gives it back in the one that deletes it.
- A form sent without JavaScript is parsed in one long transaction while its files are encrypted
  into staged files (``submissions.attachments``). Reserving in that transaction would hold the
  ledger's lock for the whole upload, so :class:`StagingRoom` reserves in blocks, each in a short
  transaction of its own, and settles when the form's transaction ends: the bytes of the files it
  kept become stored, the rest is given back.

The counts can drift from the facts when a process dies between a file's change and the
ledger's (or a purge removes files without telling the ledger): :func:`reconcile_ledger`
recomputes them from the storage folder and the ``uploads`` table under the ledger's lock, for
the periodic purge to call.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, case, event, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from portal.db import holds_sqlite_write_lock
from portal.models import LEDGER_ROW_ID, StorageLedger, Upload
from portal.storage import PARTIAL_PREFIX, EncryptedStorage, StagedFile
from portal.translatable import translatable

# A form's files reserve room in steps of this size, so that a large file costs a few dozen short
# transactions rather than one per piece the parser hands over.
STAGING_BLOCK_BYTES = 4 * 1024 * 1024


class StorageFullError(Exception):
    """No room for these bytes; the message can be shown as is."""

    def __init__(self) -> None:
        super().__init__(
            translatable(
                "the portal cannot take more files right now; nothing of this file was kept. "
                "Try again later, or send the form without files"
            )
        )


@dataclass(frozen=True)
class StorageLimits:
    """How many bytes of ciphertext the storage folder may hold, and how many of them unclaimed."""

    quota_bytes: int
    unclaimed_bytes: int


@dataclass(frozen=True)
class LedgerFigures:
    """The ledger's counts (after a reconciliation: what the facts gave)."""

    used_bytes: int
    unclaimed_bytes: int


def reserve_unclaimed(session: Session, limits: StorageLimits, size: int) -> None:
    """Count ``size`` more unclaimed bytes in the caller's transaction, or ``StorageFullError``."""
    ledger = StorageLedger.__table__.c
    granted = session.execute(
        update(StorageLedger)
        .where(
            ledger.id == LEDGER_ROW_ID,
            ledger.used_bytes + size <= limits.quota_bytes,
            ledger.unclaimed_bytes + size <= limits.unclaimed_bytes,
        )
        .values(used_bytes=ledger.used_bytes + size, unclaimed_bytes=ledger.unclaimed_bytes + size)
        .execution_options(synchronize_session=False)
    )
    if granted.rowcount != 1:
        raise StorageFullError()


def release_unclaimed(session: Session, size: int) -> None:
    """Give back ``size`` unclaimed bytes (an upload deleted), in the caller's transaction."""
    _move(session, used=size, unclaimed=size)


def claim_unclaimed(session: Session, size: int) -> None:
    """Count ``size`` unclaimed bytes as a stored submission's, in the caller's transaction."""
    _move(session, used=0, unclaimed=size)


def release_stored(session: Session, size: int) -> None:
    """Give back ``size`` bytes of stored files, deleted when the caller's transaction commits."""
    _move(session, used=size, unclaimed=0)


def ledger_figures(session: Session) -> LedgerFigures:
    """The ledger's counts as they stand."""
    row = session.get_one(StorageLedger, LEDGER_ROW_ID, populate_existing=True)
    return LedgerFigures(row.used_bytes, row.unclaimed_bytes)


def reconcile_ledger(session: Session, storage: EncryptedStorage) -> LedgerFigures:
    """Recompute the ledger from the facts and commit it; return the new counts.

    It runs in a transaction of its own: whatever the caller has not committed is rolled back
    first, so that locking the ledger is the first thing the transaction does.

    Used bytes are the sizes of every file in the storage folder, except that an upload's file
    counts at its declared size (room promised to it); unclaimed bytes are the declared sizes of
    all uploads and the ``.partial-`` files no upload owns (forms being received, or left by a
    crash until they are removed). The ledger's row is locked first, so no reservation can slip
    between reading the facts and writing the counts. Bytes a form being received reserved but
    has not written yet are not facts and are forgotten; that form gives them back when it ends
    (never below zero), so the counts err by at most one staging block per form in flight.
    """
    session.rollback()
    ledger = StorageLedger.__table__.c
    session.execute(
        update(StorageLedger)
        .where(ledger.id == LEDGER_ROW_ID)
        .values(used_bytes=ledger.used_bytes)
        .execution_options(synchronize_session=False)
    )
    uploads = {
        name: size
        for name, size in session.execute(select(Upload.storage_name, Upload.ciphertext_size))
    }
    upload_files = {f"{PARTIAL_PREFIX}{name}" for name in uploads}
    other_files, other_partial_files = 0, 0
    for path in _files_in(storage.root):
        if path.name in upload_files:
            continue
        size = _size_of(path)
        other_files += size
        if path.name.startswith(PARTIAL_PREFIX):
            other_partial_files += size
    figures = LedgerFigures(
        used_bytes=sum(uploads.values()) + other_files,
        unclaimed_bytes=sum(uploads.values()) + other_partial_files,
    )
    session.execute(
        update(StorageLedger)
        .where(ledger.id == LEDGER_ROW_ID)
        .values(used_bytes=figures.used_bytes, unclaimed_bytes=figures.unclaimed_bytes)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return figures


class StagingRoom:
    """Room for the files one form's transaction stages, reserved block by block.

    :meth:`take` reserves before each write that would pass what is already reserved, in a short
    transaction of its own. On SQLite a connection that has written holds the database's only
    write lock until it ends, so another connection could not reserve until then: while the
    form's transaction has written, the room reserves in that transaction instead, which then
    excludes no one who was not already excluded. When the form's transaction ends, the room
    settles in a transaction of its own: if it committed, the files it tracked that were not
    discarded stay counted as stored; everything else it reserved is given back (what it
    reserved in a transaction that rolled back is gone with it). The form's transaction must not
    itself have moved the ledger before files are staged: on PostgreSQL a reservation apart would
    then wait for that transaction's lock on the row, which is waiting for it.
    """

    def __init__(
        self,
        session: Session,
        storage: EncryptedStorage,
        limits: StorageLimits,
        block_bytes: int = STAGING_BLOCK_BYTES,
    ) -> None:
        self._session = session
        self._bind = session.get_bind()
        self._storage = storage
        self._limits = limits
        self._block_bytes = block_bytes
        self._reserved_apart = 0
        self._reserved_within = 0
        self._taken = 0
        self._files: list[StagedFile] = []
        self._committed = False
        self._settled = False
        # Begin the transaction now if it has not begun, so that its end is sure to settle.
        session.connection()
        self._root = session.get_transaction()
        # Listeners cannot be removed while their event runs, so these stay for the session's
        # life and do nothing once the room has settled.
        event.listen(session, "after_commit", self._transaction_committed)
        event.listen(session, "after_transaction_end", self._transaction_ended)

    def track(self, staged: StagedFile) -> None:
        """Count ``staged``'s bytes as stored if it still exists when the transaction commits."""
        self._files.append(staged)

    def take(self, size: int) -> bool:
        """Make room for ``size`` more bytes; ``False`` (nothing taken) when the storage is full."""
        reserved = self._reserved_apart + self._reserved_within
        if self._taken + size > reserved:
            block = max(self._block_bytes, self._taken + size - reserved)
            try:
                if holds_sqlite_write_lock(self._session):
                    reserve_unclaimed(self._session, self._limits, block)
                    self._reserved_within += block
                else:
                    with Session(self._bind) as own, own.begin():
                        reserve_unclaimed(own, self._limits, block)
                    self._reserved_apart += block
            except StorageFullError:
                return False
        self._taken += size
        return True

    def _transaction_committed(self, _session: Session) -> None:
        if not self._settled:
            self._committed = True

    def _transaction_ended(self, _session: Session, transaction: SessionTransaction) -> None:
        if self._settled or transaction is not self._root:
            return
        self._settled = True
        if self._committed:
            reserved = self._reserved_apart + self._reserved_within
            kept = sum(staged.size for staged in self._files if self._kept(staged))
            used, unclaimed = reserved - kept, reserved
        else:
            used, unclaimed = self._reserved_apart, self._reserved_apart
        if unclaimed == 0:
            return
        try:
            with Session(self._bind) as own, own.begin():
                _move(own, used=used, unclaimed=unclaimed)
        except SQLAlchemyError:
            # The form's own outcome stands; the ledger now counts too much, which only makes it
            # stricter until the next reconciliation recounts it from the files.
            return

    def _kept(self, staged: StagedFile) -> bool:
        """Whether ``staged`` survived the commit (renamed to its final name or not yet)."""
        return staged.partial_path.exists() or self._storage.path(staged.name).exists()


def _move(session: Session, *, used: int, unclaimed: int) -> None:
    """Take ``used`` and ``unclaimed`` off the ledger's counts, never below zero."""
    ledger = StorageLedger.__table__.c
    session.execute(
        update(StorageLedger)
        .where(ledger.id == LEDGER_ROW_ID)
        .values(
            used_bytes=_less(ledger.used_bytes, used),
            unclaimed_bytes=_less(ledger.unclaimed_bytes, unclaimed),
        )
        .execution_options(synchronize_session=False)
    )


def _less(column: ColumnElement[int], amount: int) -> ColumnElement[int]:
    return case((column > amount, column - amount), else_=0)


def _files_in(root: Path) -> list[Path]:
    return [path for path in root.iterdir() if path.is_file()]


def _size_of(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
