"""What the clean-up removes, one kind at a time, in short batches.

Each :class:`Sweep` counts what it would remove (for ``portal purge --dry-run``) and removes one
batch per call, committing it, so that no transaction of the clean-up holds the database for
long: on SQLite every writer waits for the one writing, so a long delete would hold up
submissions. A batch's files are deleted after its rows are committed (the order
``portal.storage`` keeps everywhere). Each sweep names the tables it deletes rows from, for
``vacuum``. The rules of what has ended belong to the modules that own the rows; a sweep only
asks them.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from portal.models import (
    Attachment,
    Base,
    StaffSession,
    Submission,
    SubmitterSession,
)
from portal.services.dialogues.retention import due_submissions
from portal.services.housekeeping.orphans import Leftovers, find_leftovers, settle
from portal.services.leaky_bucket import LeakyBucket, count_drained, forget_drained
from portal.services.staff import sign_in as staff_sign_in
from portal.services.staff.web_sessions import STAFF_SESSION_LIFETIME
from portal.services.submissions import submitters
from portal.services.submissions.inbox import delete_submission
from portal.services.submissions.uploads import expired_uploads, purge_expired_uploads
from portal.services.web_session_tickets import SessionLifetime
from portal.storage import EncryptedStorage

BATCH = 200
SUBMISSION_BATCH = 20  # each one is a crypto-shredding with its own audit event


@dataclass(frozen=True)
class Tally:
    """How many things, and how many bytes of files among them."""

    items: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Scope:
    """What one clean-up works on."""

    session: Session
    storage: EncryptedStorage
    now: dt.datetime


@dataclass(frozen=True)
class Sweep:
    """One kind of thing to remove: its name in reports, its tables, and its two steps."""

    kind: str
    tables: tuple[str, ...]
    count: Callable[[Scope], Tally]
    remove_batch: Callable[[Scope], Tally]


def _count_expired_uploads(scope: Scope) -> Tally:
    expired = expired_uploads(scope.session, scope.now, limit=None)
    return Tally(len(expired), sum(upload.received_size for upload in expired))


def _remove_expired_uploads(scope: Scope) -> Tally:
    expired = expired_uploads(scope.session, scope.now, limit=BATCH)
    return Tally(len(expired), purge_expired_uploads(scope.session, scope.storage, expired))


def _count_orphaned_partials(scope: Scope) -> Tally:
    orphaned = find_leftovers(scope.session, scope.storage, now=scope.now).orphaned
    return Tally(len(orphaned), sum(found.size for found in orphaned))


def _remove_orphaned_partials(scope: Scope) -> Tally:
    leftovers = find_leftovers(scope.session, scope.storage, now=scope.now)
    batch = Leftovers(leftovers.unpublished, leftovers.orphaned[:BATCH])
    settle(scope.storage, batch)
    return Tally(len(batch.orphaned), sum(found.size for found in batch.orphaned))


def _ended_sessions(
    model: type[SubmitterSession] | type[StaffSession], lifetime: SessionLifetime
) -> tuple[Callable[[Scope], Tally], Callable[[Scope], Tally]]:
    """Count and batch-delete the rows of ``model`` whose session has ended (``lifetime``'s
    rule, the one sign-in and every request apply)."""

    def ended(now: dt.datetime) -> ColumnElement[bool]:
        return lifetime.ended(model.expires_at, model.last_used_at, now)

    def count(scope: Scope) -> Tally:
        found = scope.session.scalar(select(func.count(model.id)).where(ended(scope.now)))
        return Tally(found or 0)

    def remove(scope: Scope) -> Tally:
        return _delete_batch(scope.session, model.id, ended(scope.now))

    return count, remove


def _delete_batch(
    session: Session, key: InstrumentedAttribute[int], condition: ColumnElement[bool]
) -> Tally:
    ids = list(session.scalars(select(key).where(condition).order_by(key).limit(BATCH)))
    if ids:
        session.execute(delete(key.class_).where(key.in_(ids)))
    session.commit()
    return Tally(len(ids))


def _bucket_families() -> tuple[tuple[str, LeakyBucket], ...]:
    return staff_sign_in.bucket_families() + submitters.bucket_families()


def _count_drained_buckets(scope: Scope) -> Tally:
    return Tally(
        sum(
            count_drained(scope.session, prefix, limit, scope.now)
            for prefix, limit in _bucket_families()
        )
    )


def _remove_drained_buckets(scope: Scope) -> Tally:
    removed = sum(
        forget_drained(scope.session, prefix, limit, scope.now)
        for prefix, limit in _bucket_families()
    )
    scope.session.commit()
    return Tally(removed)


def _count_past_retention(scope: Scope) -> Tally:
    due = due_submissions(scope.session, today=scope.now.date())
    count = scope.session.scalar(select(func.count()).select_from(due.subquery())) or 0
    files = scope.session.scalar(
        select(func.coalesce(func.sum(Attachment.ciphertext_size), 0)).where(
            Attachment.submission_id.in_(due)
        )
    )
    return Tally(count, files or 0)


def _remove_past_retention(scope: Scope) -> Tally:
    today = scope.now.date()
    due = due_submissions(scope.session, today=today).limit(SUBMISSION_BATCH)
    found = list(scope.session.scalars(select(Submission).where(Submission.id.in_(due))))
    freed = 0
    for submission in found:
        freed += sum(attachment.ciphertext_size for attachment in submission.attachments)
        delete_submission(
            scope.session, scope.storage, submission, today=today, past_retention=True
        )
    scope.session.commit()
    return Tally(len(found), freed)


def _tables_hanging_from(table: Table) -> tuple[str, ...]:
    """``table`` and every table whose rows hang from it through foreign keys, however deep:
    what deleting one of its rows deletes rows from."""
    found = [table]
    for candidate in found:
        for other in Base.metadata.sorted_tables:
            if other not in found and any(
                key.column.table is candidate for key in other.foreign_keys
            ):
                found.append(other)
    return tuple(item.name for item in found)


SWEEPS = (
    Sweep("expired uploads", ("uploads",), _count_expired_uploads, _remove_expired_uploads),
    Sweep("orphaned partial files", (), _count_orphaned_partials, _remove_orphaned_partials),
    Sweep(
        "ended inbox sessions",
        ("submitter_sessions",),
        *_ended_sessions(SubmitterSession, SessionLifetime()),
    ),
    Sweep(
        "ended staff sessions",
        ("staff_sessions",),
        *_ended_sessions(StaffSession, STAFF_SESSION_LIFETIME),
    ),
    Sweep(
        "drained sign-in limits",
        ("sign_in_throttles",),
        _count_drained_buckets,
        _remove_drained_buckets,
    ),
    Sweep(
        "submissions past retention",
        _tables_hanging_from(Base.metadata.tables["submissions"]),
        _count_past_retention,
        _remove_past_retention,
    ),
)
"""Every kind, in the order a clean-up runs them."""
