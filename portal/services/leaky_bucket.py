"""Leaky buckets: the one rule behind every sign-in limit, work budget and pressure gauge.

The portal keeps no IP address, so its limits count events, not clients: failed sign-ins, or
expensive work (the seconds spent deriving codenames, or on strangers' Argon2). Each is a leaky
bucket in a row of ``sign_in_throttles`` shared by every worker process (a limit kept in one
process's memory would be multiplied by the number of workers): an event adds its amount (one
failure, or the seconds of work) to the row's ``level``, the level drains at
:attr:`LeakyBucket.leak_per_second` since ``updated_at`` and never rises above
:attr:`LeakyBucket.capacity` (what overflows is spilled), and while one more unit would overflow
the capacity the caller refuses before doing any expensive work -- or, for a gauge, reads the
level as a measure of pressure. A budget kept in seconds of work rather than in attempts adapts
to the machine: when the processors are slow or busy, each derivation takes longer and fewer are
let in, so the workers stay free for everything else. Submitters' sign-in
(``portal.services.submissions.submitters``) and staff sign-in (``portal.services.staff.sign_in``)
name their buckets and choose their sizes; how a bucket fills, drains and is stored lives only
here.

Concurrency, so that PostgreSQL and SQLite give the same answers under load:

- a bucket is *read* (:func:`bucket_level`, or as columns of a caller's own read:
  :class:`BucketRead`) without a lock, fresh from the database, so that a full bucket turns a
  flood away without making it queue for a row;
- a bucket is *changed* only through :func:`locked_bucket`, which creates a missing row with an
  insert that ignores a concurrent twin (``ON CONFLICT DO NOTHING`` on both databases), then
  locks it until the transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  serialises writers) and applies the leak, so two workers never lose each other's failures;
- :func:`count` locks several buckets in the order it is given; every caller lists its
  narrow buckets first and a shared overall bucket last, so that concurrent failures wait for
  each other instead of deadlocking;
- a work budget is *reserved* before the work (:func:`reserve_work`): one unit (a second) is
  added, if it fits, in a short transaction of its own committed at once, so that every worker
  and thread sees it before the work starts; the work's real seconds are settled afterwards,
  less the unit, through :func:`count` in the caller's transaction. However many requests
  arrive at once, no more work starts than the budget has room for;
- :func:`forget_drained` deletes rows that have drained to empty, skipping rows another
  transaction holds (``SKIP LOCKED``): they are in use, and waiting for them could deadlock.

A failure counts only once its transaction commits: callers commit a refusal too.
"""

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ScalarSelect, Select, bindparam, delete, select
from sqlalchemy.orm import Session

from portal.db import dialect_insert, holds_sqlite_write_lock
from portal.models import SignInThrottle
from portal.services.work_gate import BusyError

# Where a session keeps the names of the buckets its transaction has locked.
_LOCKED_BUCKETS = "parley.locked_buckets"
# What a work budget reserves before the work starts: one unit, a second of work (more than one
# derivation takes on a server that is not overloaded); the real seconds are settled afterwards.
RESERVED_SECONDS = 1.0


@dataclass(frozen=True)
class LeakyBucket:
    """A bucket's size and how fast it drains."""

    capacity: float
    leak_per_second: float

    @property
    def drain_seconds(self) -> float:
        """How long a full bucket takes to empty."""
        return self.capacity / self.leak_per_second

    def level_at(self, row: "StoredLevel", now: dt.datetime) -> float:
        """The level of ``row`` at ``now``, after the leak since its last update."""
        return self.leaked(row.level, row.updated_at, now)

    def leaked(self, level: float, updated_at: dt.datetime, now: dt.datetime) -> float:
        """What a level of ``level`` at ``updated_at`` has drained to at ``now``."""
        elapsed = max(0.0, (now - updated_at).total_seconds())
        return max(0.0, level - elapsed * self.leak_per_second)

    def fits_one_more(self, level: float) -> bool:
        """Whether one more unit (a failure, a second of work) fits into a bucket at ``level``
        without overflowing it."""
        return level + 1 <= self.capacity

    def retry_after(self, level: float) -> int:
        """Whole seconds, at least one, until a bucket at ``level`` has room for one more: the
        ``Retry-After`` of a refusal."""
        return max(1, math.ceil((level + 1 - self.capacity) / self.leak_per_second))


class StoredLevel(Protocol):
    """What a bucket's row says: its level when it was last updated."""

    level: float
    updated_at: dt.datetime


# Built once: every registration and sign-in reads a bucket's level. Two columns, not an ORM
# object, which would cost more to build than the read itself and could hold a stale level.
_THROTTLES = SignInThrottle.__table__
_LEVEL = select(_THROTTLES.c.level, _THROTTLES.c.updated_at).where(
    _THROTTLES.c.name == bindparam("name")
)


@dataclass(frozen=True)
class BucketRead:
    """A bucket's stored level as columns, for a read that fetches it along with something else:
    put :attr:`columns` in that read's columns and hand their values to :meth:`level`."""

    limit: LeakyBucket
    columns: tuple[ScalarSelect[Any], ScalarSelect[Any]]

    @classmethod
    def of(cls, name: str, limit: LeakyBucket) -> "BucketRead":
        """The read of the bucket ``name``: its row's two columns, each a subquery (NULL when
        it has no row)."""
        level, updated_at = (
            select(column).where(_THROTTLES.c.name == name).scalar_subquery()
            for column in (_THROTTLES.c.level, _THROTTLES.c.updated_at)
        )
        return cls(limit, (level, updated_at))

    def level(self, level: float | None, updated_at: dt.datetime | None, now: dt.datetime) -> float:
        """The level at ``now`` of a bucket whose :attr:`columns` read ``level`` and
        ``updated_at``, as :func:`bucket_level` gives it (0 when it has no row)."""
        if level is None or updated_at is None:
            return 0.0
        return self.limit.leaked(level, updated_at, now)


def bucket_level(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> float:
    """The level of the bucket ``name`` at ``now``, read without a lock (0 when it has no row)."""
    row = session.execute(_LEVEL, {"name": name}).first()
    return 0.0 if row is None else limit.level_at(row, now)


def locked_bucket(
    session: Session, name: str, limit: LeakyBucket, now: dt.datetime
) -> SignInThrottle:
    """The bucket's row, created if missing, locked until the transaction ends, leak applied."""
    row = None
    while row is None:
        # A concurrent clean-up may delete a drained row between the two statements; then the
        # next round inserts it again.
        session.execute(
            dialect_insert(session, SignInThrottle)
            .values(name=name, level=0.0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        row = session.get(SignInThrottle, name, with_for_update=True, populate_existing=True)
    row.level = limit.level_at(row, now)
    row.updated_at = max(now, row.updated_at)
    _locked_in_transaction(session).add(name)
    return row


def _locked_in_transaction(session: Session) -> set[str]:
    """The names of the buckets ``session``'s current transaction has locked (kept in
    ``session.info`` with that transaction, so a new transaction starts with none)."""
    transaction = session.get_transaction()
    held = session.info.get(_LOCKED_BUCKETS)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        session.info[_LOCKED_BUCKETS] = held
    return held[1]


def count(
    session: Session,
    buckets: list[tuple[str, LeakyBucket]],
    now: dt.datetime,
    amount: float = 1.0,
) -> None:
    """Add ``amount`` (one failure, or the seconds some work took) to each bucket, up to its
    capacity, locking them in the order given (narrow ones first). A negative ``amount`` (a
    reservation's settlement) takes off no more than the bucket holds."""
    for name, limit in buckets:
        row = locked_bucket(session, name, limit, now)
        row.level = min(limit.capacity, max(0.0, row.level + amount))
    session.flush()


def reserve_work(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> None:
    """Reserve :data:`RESERVED_SECONDS` of the work budget ``name`` before doing the work, or
    raise ``BusyError`` (nothing reserved) when it does not fit.

    The reservation is committed at once, in a transaction of its own beside ``session``'s, so
    that concurrent requests count it before their own check. When ``session``'s transaction
    already holds the bucket (it settled an earlier piece of work), or on SQLite once it has
    written (it then holds the database's only write lock), a transaction apart would wait for
    it in vain: the reservation is made in that transaction instead, which every other reserver
    waits for anyway. Settle afterwards with :func:`count` of the seconds the work took minus
    :data:`RESERVED_SECONDS`, in ``session``'s transaction. Should that transaction roll back, a
    reservation made apart stays counted: a budget errs on the side of less work.
    """
    if name in _locked_in_transaction(session) or holds_sqlite_write_lock(session):
        _reserve(session, name, limit, now)
        return
    with Session(session.get_bind()) as own, own.begin():
        _reserve(own, name, limit, now)


def _reserve(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> None:
    row = locked_bucket(session, name, limit, now)
    if not limit.fits_one_more(row.level):
        raise BusyError(limit.retry_after(row.level))
    row.level = min(limit.capacity, row.level + RESERVED_SECONDS)
    session.flush()


def forget_drained(session: Session, prefix: str, limit: LeakyBucket, now: dt.datetime) -> int:
    """Delete the buckets named ``prefix...`` that have drained to empty and nobody holds;
    return how many.

    Call it before the transaction locks any bucket, so that it never waits while holding one.
    """
    names = list(session.scalars(_drained(prefix, limit, now).with_for_update(skip_locked=True)))
    if names:
        session.execute(delete(SignInThrottle).where(SignInThrottle.name.in_(names)))
    return len(names)


def count_drained(session: Session, prefix: str, limit: LeakyBucket, now: dt.datetime) -> int:
    """How many buckets :func:`forget_drained` would delete now (for a dry run)."""
    return len(list(session.scalars(_drained(prefix, limit, now))))


def _drained(prefix: str, limit: LeakyBucket, now: dt.datetime) -> Select[tuple[str]]:
    """The names of the buckets ``prefix...`` that drained to empty by ``now``."""
    return select(SignInThrottle.name).where(
        SignInThrottle.name.startswith(prefix, autoescape=True),
        SignInThrottle.updated_at < now - dt.timedelta(seconds=limit.drain_seconds),
    )
