"""Encrypted file storage in the instance folder, in step with the database transaction.

Files are STREAM ciphertext (``crypto.stream``) under random names in ``<instance>/storage/``;
nothing in a name says what a file is or whose. The database row that points at a file and the
file itself must appear and disappear together, so:

- a new file is written under a temporary name (``.partial-<name>``) in the storage folder itself
  (so the final rename is atomic and never crosses file systems) and renamed to its final name
  only after the session's transaction commits; if the transaction rolls back, or ends in any
  other way, the partial file is deleted;
- a file to delete is deleted only after the transaction that removed its row commits, so a
  failed deletion leaves both row and file in place.

A crash between commit and rename leaves a ``.partial-`` file behind whose row was committed; a
crash before commit leaves one that no row points at. Resumable browser uploads
(``portal.services.submissions.uploads``) also grow as ``.partial-`` files while a row in
``uploads`` points at them; those must be left alone and are removed by ``purge_expired_uploads``
once they expire, or published under their final name by :meth:`EncryptedStorage.publish_on_commit`
when a submission claims them (the rename happens only once the claim commits, and a claim that
fails leaves the upload's file where it was). ``portal.services.housekeeping.orphans`` sorts out
the others: it finishes the rename of a file a committed row points at and removes the rest.

Deleting a file is the crypto-shredding step for its ciphertext: overwriting in place is
pointless on journalling file systems, SSDs and copy-on-write storage, so what destroys the
content is deleting the only copies of the ciphertext and of the envelope holding its key.
Backups hold copies of both until they are rotated out; operators must keep backup retention
short and document it.
"""

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

import crypto

PARTIAL_PREFIX = ".partial-"
_NAME_BYTES = 24


@dataclass
class StagedFile:
    """A file being written under its temporary name; it becomes visible only on commit."""

    name: str
    partial_path: Path
    handle: BinaryIO
    size: int = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)


@dataclass(frozen=True)
class PartialFile:
    """A ``.partial-`` file found in the folder, under the name it would be published as."""

    name: str
    changed_at: dt.datetime


@dataclass
class _TransactionFiles:
    """Files waiting for one session's transaction to end."""

    staged: list[StagedFile] = field(default_factory=list)
    to_publish: list[str] = field(default_factory=list)
    to_delete: list[str] = field(default_factory=list)
    committed: bool = False


class EncryptedStorage:
    """The storage folder of one instance."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        """Where the committed file ``name`` lives."""
        if name.startswith(".") or "/" in name or os.sep in name:
            raise ValueError("not a storage file name")
        return self.root / name

    def open(self, name: str) -> BinaryIO:
        """Open a committed file for reading."""
        return self.path(name).open("rb")

    def partial_files(self) -> list[PartialFile]:
        """Every ``.partial-`` file now, with the time its content or metadata last changed.

        The inode's change time, unlike the modification time, cannot be set back by anyone
        normalising file times, so a file still being written always looks recent.
        """
        found = []
        for entry in os.scandir(self.root):
            if entry.name.startswith(PARTIAL_PREFIX) and entry.is_file(follow_symlinks=False):
                changed = dt.datetime.fromtimestamp(entry.stat().st_ctime, dt.UTC)
                found.append(PartialFile(entry.name.removeprefix(PARTIAL_PREFIX), changed))
        return found

    def remove_partial(self, name: str) -> None:
        """Delete ``.partial-<name>`` (gone already is fine)."""
        self._partial_path(name).unlink(missing_ok=True)

    def finish_publishing(self, name: str) -> None:
        """Rename ``.partial-<name>`` to ``name``: a publication a crash cut short."""
        self._publish(name)

    def stage(self, session: Session) -> StagedFile:
        """Start a new file, published when ``session`` commits and removed otherwise."""
        name = crypto.random_token(_NAME_BYTES)
        partial_path = self.root / f"{PARTIAL_PREFIX}{name}"
        descriptor = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        handle = os.fdopen(descriptor, "wb")
        staged = StagedFile(name=name, partial_path=partial_path, handle=handle)
        self._pending(session).staged.append(staged)
        return staged

    def discard(self, session: Session, staged: StagedFile) -> None:
        """Delete a staged file now (a refused upload), whatever becomes of the transaction."""
        staged.handle.close()
        staged.partial_path.unlink(missing_ok=True)
        self._pending(session).staged.remove(staged)

    def publish_on_commit(self, session: Session, name: str) -> None:
        """Rename ``.partial-<name>``, written by someone else, to ``name`` on commit.

        Unlike a staged file, it is left untouched if the transaction rolls back: it belongs to
        an upload whose row survives the rollback and still points at it.
        """
        self.path(name)
        self._pending(session).to_publish.append(name)

    def delete_on_commit(self, session: Session, name: str) -> None:
        """Delete the committed file ``name`` once ``session``'s transaction commits."""
        self.path(name)
        self._pending(session).to_delete.append(name)

    def _partial_path(self, name: str) -> Path:
        self.path(name)
        return self.root / f"{PARTIAL_PREFIX}{name}"

    def _publish(self, name: str) -> None:
        """Rename the partial file to its final name; done already (by the start-up sweep
        racing a request) counts as done."""
        try:
            self._partial_path(name).rename(self.path(name))
        except FileNotFoundError:
            if not self.path(name).exists():
                raise

    def _pending(self, session: Session) -> _TransactionFiles:
        """The files waiting for the end of ``session``'s current transaction."""
        # Begin the transaction now if it has not begun, so that its end is sure to settle
        # these files.
        session.connection()
        key = ("parley.storage", id(self))
        if key not in session.info:
            session.info[key] = _TransactionFiles()
            self._listen_once(session, key)
        return session.info[key]

    def _listen_once(self, session: Session, key: tuple[str, int]) -> None:
        """Settle pending files at the end of each root transaction of ``session``.

        Listeners cannot be removed while the event runs, so they stay for the session's life
        and do nothing when no file is pending.
        """
        listening = ("parley.storage.listening", id(self))
        if session.info.get(listening):
            return
        session.info[listening] = True

        def after_commit(_session: Session) -> None:
            if key in session.info:
                session.info[key].committed = True

        def after_transaction_end(_session: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None and key in session.info:
                self._settle(session.info.pop(key))

        event.listen(session, "after_commit", after_commit)
        event.listen(session, "after_transaction_end", after_transaction_end)

    def _settle(self, pending: _TransactionFiles) -> None:
        for staged in pending.staged:
            staged.handle.close()
            if pending.committed:
                self._publish(staged.name)
            else:
                staged.partial_path.unlink(missing_ok=True)
        if pending.committed:
            for name in pending.to_publish:
                self._publish(name)
            for name in pending.to_delete:
                self.path(name).unlink(missing_ok=True)
