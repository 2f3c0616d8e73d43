"""Orphaned ``.partial-`` files: ciphertext in the storage folder that nothing will ever use.

A file named ``.partial-<name>`` in the storage folder is one of (``portal.storage``):

- the file of a resumable upload while its row in ``uploads`` exists (left alone; it goes with
  its row when the upload expires);
- a file a request is writing right now (``EncryptedStorage.stage``), or an upload a submission
  has just claimed, renamed as soon as its transaction commits: the claim's ``attachments`` row
  names it, and a file being written changed within the last moments;
- anything else: left by a crash between a commit and its rename, or by a failed deletion.

So a file is orphaned when neither an upload nor an attachment names it and it has not changed
for :data:`GRACE`. "Changed" is the kernel's inode change time (``ctime``), which every write,
rename and time normalisation moves and no program can set back; the modification time is
normalised (``storage.normalise_times``) and says nothing. The folder is listed before the
database is read, so a file created after the listing is never judged, and an upload or claim
committed after the listing had its file listed with a fresh change time.
"""

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, Upload
from portal.storage import PARTIAL_PREFIX, EncryptedStorage

GRACE = dt.timedelta(hours=1)
_NAMES_PER_QUERY = 500


def orphaned_partials(session: Session, storage: EncryptedStorage, now: dt.datetime) -> list[Path]:
    """The orphaned ``.partial-`` files of ``storage`` at ``now`` (module docstring)."""
    listed = {
        path.name.removeprefix(PARTIAL_PREFIX): path
        for path in storage.root.iterdir()
        if path.name.startswith(PARTIAL_PREFIX)
    }
    unnamed = dict(listed)
    names = list(listed)
    for start in range(0, len(names), _NAMES_PER_QUERY):
        chunk = names[start : start + _NAMES_PER_QUERY]
        for model in (Upload, Attachment):
            for name in session.scalars(
                select(model.storage_name).where(model.storage_name.in_(chunk))
            ):
                unnamed.pop(name, None)
    settled_before = (now - GRACE).timestamp()
    return [path for path in unnamed.values() if _changed_at(path) < settled_before]


def _changed_at(path: Path) -> float:
    """The file's inode change time; a file gone meanwhile counts as changed now."""
    try:
        return path.stat().st_ctime
    except FileNotFoundError:
        return float("inf")
