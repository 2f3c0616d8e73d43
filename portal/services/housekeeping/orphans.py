"""``.partial-`` files in the storage folder that nothing will ever finish or remove.

A file is written as ``.partial-<name>`` and renamed to ``<name>`` once the row pointing at it
commits (``portal.storage``). A process killed at the wrong moment leaves one of two leftovers:

- the row committed but the rename never happened: the file is complete and its row is stored,
  so the rename is finished now (the submission keeps its attachment);
- the row never committed: nothing points at the file, which holds only ciphertext nobody can
  find, so it is removed.

A ``.partial-`` file that a row of ``uploads`` points at belongs to a resumable upload and is left
alone (``purge_expired_uploads`` removes it when it expires). So is any file changed within
``idle_for``: while the portal serves, a file may be on its way to its row (a form's attachment
being received, an upload being created). ``portal serve`` sweeps with no grace at all before
its workers accept requests, when nothing can be in flight.
"""

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, Upload, utc_now
from portal.storage import EncryptedStorage

ORPHAN_GRACE = dt.timedelta(hours=1)
# Names looked up per query: far under every database's limit on bound parameters.
_BATCH = 500


def remove_orphaned_partials(
    session: Session,
    storage: EncryptedStorage,
    *,
    now: dt.datetime | None = None,
    idle_for: dt.timedelta = ORPHAN_GRACE,
) -> int:
    """Finish or remove the leftovers of interrupted writes; return how many were removed."""
    now = utc_now() if now is None else now
    # Listed before the rows are read: a file published after the listing had its row
    # committed before, so the query sees it.
    candidates = [
        found.name for found in storage.partial_files() if found.changed_at <= now - idle_for
    ]
    uploading = _names_in(session, Upload.storage_name, candidates)
    attached = _names_in(session, Attachment.storage_name, candidates)
    session.rollback()
    removed = 0
    for name in candidates:
        if name in uploading:
            continue
        if name in attached:
            storage.finish_publishing(name)
        else:
            storage.remove_partial(name)
            removed += 1
    return removed


def _names_in(session: Session, column: object, names: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), _BATCH):
        batch = names[start : start + _BATCH]
        found.update(session.scalars(select(column).where(column.in_(batch))))  # type: ignore[attr-defined]
    return found
