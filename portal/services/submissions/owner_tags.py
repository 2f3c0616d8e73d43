"""Owner tags: how the server finds a signed-in submitter's submissions, and nobody else can.

No column says whose a submission is. Each submission, and its tombstone once deleted, carries
instead ``crypto.owner_tag(tag_key, n)`` for its own ``n`` = 0, 1, 2, ... in the order its
submitter made them, where ``tag_key = crypto.owner_tag_key(key_seed)`` comes from the codename
(docs/FORMATS.md, "Per-submission keys and owner tags"). Tags are HMAC outputs: without the tag
key, two tags of one submitter look as unrelated as two tags of two submitters. The server holds
the tag key only while the submitter is signed in (inside the inbox session's box, whose key is
only in the cookie; or for the one request that sends a submission) and finds their rows by
:func:`walk`: computing tags for ``n`` = 0, 1, 2, ... until one is stored nowhere. A new
submission takes the first free ``n`` (:func:`add_with_next_tag`). So that the walk never stops
early, a tag stays stored as long as the submitter's later ones: a deleted submission's tombstone
keeps it, and nothing else deletes submissions.

What a tag key handed over by a browser can do. With JavaScript the browser derives the tag key
and sends it with the login secret; the server cannot check that it comes from the same codename
(it holds only the codename's public key and a keyed hash of the login secret, from which no tag
key follows). That needs no check, because a tag key reaches only the tags it computes:

- listing, reading, adding to or deleting someone else's submissions needs their tag key, which
  derives only from their codename and is never stored in the clear (no row, file or log holds
  it; session boxes open only with their cookie's key). Signing in first, with a login secret
  under the sign-in limit, is required on every path that takes a tag key;
- a browser that sends a wrong key for its own codename only hides its own submissions: its
  inbox walks tags nobody has, what it sends is stored under tags its real key will never reach,
  and the rows tagged at that sign-in (below) are lost to its inbox, though not to the desk. The
  owner of the codename can do more harm to their own submissions by deleting them;
- a browser that holds someone else's tag key (which means it has their codename, or a copy of a
  live session's cookie and row) can list their submissions, which the codename or that session
  allows anyway, and can store a submission among their tags; that submission is sealed to a key
  their codename does not derive, so their inbox lists it but cannot open it.

Rows stored before owner tags name their pseudonym (``submitter_id``) instead. The first time
their submitter signs in (or sends under their codename) after the upgrade, :func:`tag_untagged`
gives each of them the next free tag and empties ``submitter_id``, so they stay in the inbox and
stop linking. Until then they stay linkable, as SECURITY.md says.

Two sends under one codename at the same moment would both pick the same next ``n``. A lock
taken before the walk serialises tag assignment: an advisory lock on PostgreSQL, the database's
write lock on SQLite. The unique index on each tag column is the last word:
a send that finds its tag taken anyway walks again, a few times, and is then refused
(:class:`OwnerTagTakenError`) before anything of the caller's transaction can be committed, the
sender asked to send again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

import crypto
from portal.models import DeletedSubmission, Submission, Submitter

OWNER_TAG_KEY_SIZE = 32
# How many tags one step of the walk looks up at once: one query per table per step, and a
# submitter with fewer submissions than this is found in one step.
WALK_STEP = 16
# How many times a send looks for a free tag again after finding the one it chose taken.
ATTEMPTS = 3
# Arbitrary constant naming the PostgreSQL advisory lock that serialises tag assignment.
_ASSIGN_LOCK_KEY = 0x7061726C6F74
_Tagged = TypeVar("_Tagged", Submission, DeletedSubmission)


class OwnerTagTakenError(RuntimeError):
    """The next tag was taken by a send made at the same moment; nothing may be committed."""


@dataclass(frozen=True)
class Owned:
    """What one tag key reaches: submissions and tombstones in tag order, and the next ``n``."""

    submissions: list[Submission] = field(default_factory=list)
    tombstones: list[DeletedSubmission] = field(default_factory=list)
    next_index: int = 0


def walk(session: Session, tag_key: bytes) -> Owned:
    """Every row the tag key reaches: tags ``n`` = 0, 1, ... up to the first stored nowhere."""
    submissions: list[Submission] = []
    tombstones: list[DeletedSubmission] = []
    start = 0
    while True:
        tags = [crypto.owner_tag(tag_key, n) for n in range(start, start + WALK_STEP)]
        found_submissions = _by_tag(session, Submission, tags)
        found_tombstones = _by_tag(session, DeletedSubmission, tags)
        for offset, tag in enumerate(tags):
            if tag in found_submissions:
                submissions.append(found_submissions[tag])
            elif tag in found_tombstones:
                tombstones.append(found_tombstones[tag])
            else:
                return Owned(submissions, tombstones, next_index=start + offset)
        start += WALK_STEP


def add_with_next_tag(
    session: Session,
    store: Callable[[bytes], int | None],
    tag_key: bytes,
    *,
    new_codename: bool = False,
) -> int:
    """Store a new submission under the first free tag of ``tag_key``, and return its id.

    ``store(tag)`` is one insert of the submission under ``tag`` that stores nothing if its tag
    (or any unique value) is taken, and returns the new row's id, or ``None`` when it stored
    nothing (``topic_rows``); the walk is then done again. ``OwnerTagTakenError`` after
    :data:`ATTEMPTS` tries: the caller's session is still usable to answer, and its transaction
    must be rolled back, the sender asked to send again.

    ``new_codename`` says that the codename is new, registered in this transaction (or by the
    first insert itself), so that its first tag (``n`` = 0) is almost surely free: it is tried
    first with one insert, before any lock or walk, which a new submitter's first send then
    never needs. The unique index alone decides that try, as it decides every other: if the key
    reaches a tag stored already (a browser may send any key, see above) or a concurrent send
    took it, the insert stores nothing and the usual locked walk follows. Tag 0 is the first free
    tag whenever it is free, so the hint never changes which tag a submission gets, only how soon
    it is found.
    """
    if new_codename:
        stored_id = store(crypto.owner_tag(tag_key, 0))
        if stored_id is not None:
            return stored_id
    _lock_assignment(session)
    for _ in range(ATTEMPTS):
        stored_id = store(crypto.owner_tag(tag_key, next_free_index(session, tag_key)))
        if stored_id is not None:
            return stored_id
    raise OwnerTagTakenError()


# The tags of one step of :func:`next_free_index` that are stored, in either table. Built once:
# building it for each send (two IN lists of a step's tags) cost more than running it.
_TAKEN_TAGS = (
    select(Submission.__table__.c.owner_tag)
    .where(Submission.__table__.c.owner_tag.in_(bindparam("tags", expanding=True)))
    .union_all(
        select(DeletedSubmission.__table__.c.owner_tag).where(
            DeletedSubmission.__table__.c.owner_tag.in_(bindparam("tags", expanding=True))
        )
    )
)


def next_free_index(session: Session, tag_key: bytes) -> int:
    """The first ``n`` whose tag is stored nowhere: :func:`walk`'s ``next_index``, found by
    reading the tag columns alone, both tables in one Core query a step."""
    start = 0
    while True:
        tags = [crypto.owner_tag(tag_key, n) for n in range(start, start + WALK_STEP)]
        taken = set(session.connection().scalars(_TAKEN_TAGS, {"tags": tags}))
        for offset, tag in enumerate(tags):
            if tag not in taken:
                return start + offset
        start += WALK_STEP


def tag_untagged(session: Session, submitter: Submitter, tag_key: bytes) -> None:
    """Tag the rows stored before owner tags that name ``submitter``, and stop naming it.

    Under the assignment lock (or SQLite's single writer) no concurrent send can take these tags;
    a clash would fail the caller's whole transaction, the sign-in with it.
    """
    untagged = [
        *session.scalars(
            select(Submission)
            .where(Submission.submitter_id == submitter.id)
            .order_by(Submission.id)
        ),
        *session.scalars(
            select(DeletedSubmission)
            .where(DeletedSubmission.submitter_id == submitter.id)
            .order_by(DeletedSubmission.id)
        ),
    ]
    if not untagged:
        return
    _lock_assignment(session)
    index = walk(session, tag_key).next_index
    for offset, row in enumerate(untagged):
        row.owner_tag = crypto.owner_tag(tag_key, index + offset)
        row.submitter_id = None
    session.flush()


def _by_tag(session: Session, model: type[_Tagged], tags: list[bytes]) -> dict[bytes, _Tagged]:
    rows = session.scalars(select(model).where(model.owner_tag.in_(tags)))
    return {bytes(row.owner_tag): row for row in rows if row.owner_tag is not None}


def _lock_assignment(session: Session) -> None:
    """Make every other choice of tags wait until this transaction ends.

    On SQLite that is the database's write lock. Its Python driver opens a transaction only before
    the transaction's first write, so a transaction that has not written yet is begun here with
    ``BEGIN IMMEDIATE``, which takes the write lock before the walk; otherwise the savepoint of
    :func:`add_with_next_tag` would itself open the transaction, and releasing it would commit.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ASSIGN_LOCK_KEY})
    elif not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
