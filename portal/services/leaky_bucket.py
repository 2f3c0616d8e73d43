"""Leaky buckets of failed sign-ins: the one rule behind every sign-in limit of the portal.

The portal keeps no IP address, so its limits count failures, not clients. Each limit is a leaky
bucket in a row of ``sign_in_throttles`` shared by every worker process (a limit kept in one
process's memory would be multiplied by the number of workers): a failure adds one to the row's
``level``, the level drains at :attr:`LeakyBucket.leak_per_second` since ``updated_at``, and
while one more failure would overflow :attr:`LeakyBucket.capacity` the caller refuses before
doing any expensive work. Submitters' sign-in (``portal.services.submissions.submitters``) and
staff sign-in (``portal.services.staff.sign_in``) name their buckets and choose their sizes;
how a bucket fills, drains and is stored lives only here.

Concurrency, so that PostgreSQL and SQLite give the same answers under load:

- a bucket is *read* (:func:`has_room`, :func:`bucket_level`) without a lock, fresh from the
  database, so that a full bucket turns a flood away without making it queue for a row;
- a bucket is *changed* only through :func:`locked_bucket`, which creates a missing row with an
  insert that ignores a concurrent twin (``ON CONFLICT DO NOTHING`` on both databases), then
  locks it until the transaction ends (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  serialises writers) and applies the leak, so two workers never lose each other's failures;
- :func:`count_failure` locks several buckets in the order it is given; every caller lists its
  narrow buckets first and a shared overall bucket last, so that concurrent failures wait for
  each other instead of deadlocking;
- :func:`forget_drained` deletes rows that have drained to empty, skipping rows another
  transaction holds (``SKIP LOCKED``): they are in use, and waiting for them could deadlock.

A failure counts only once its transaction commits: callers commit a refusal too.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from portal.db import dialect_insert
from portal.models import SignInThrottle


@dataclass(frozen=True)
class LeakyBucket:
    """A bucket's size and how fast it drains."""

    capacity: float
    leak_per_second: float

    @property
    def drain_seconds(self) -> float:
        """How long a full bucket takes to empty."""
        return self.capacity / self.leak_per_second

    def level_at(self, row: SignInThrottle, now: dt.datetime) -> float:
        """The level of ``row`` at ``now``, after the leak since its last update."""
        elapsed = max(0.0, (now - row.updated_at).total_seconds())
        return max(0.0, row.level - elapsed * self.leak_per_second)

    def fits_one_more(self, level: float) -> bool:
        """Whether one more failure fits into a bucket at ``level`` without overflowing it."""
        return level + 1 <= self.capacity


def bucket_level(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> float:
    """The level of the bucket ``name`` at ``now``, read without a lock (0 when it has no row)."""
    row = session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.name == name)
        .execution_options(populate_existing=True)
    ).first()
    return 0.0 if row is None else limit.level_at(row, now)


def has_room(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> bool:
    """Whether the bucket ``name`` can take one more failure: the "may I try" question."""
    return limit.fits_one_more(bucket_level(session, name, limit, now))


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
    return row


def count_failure(
    session: Session, buckets: list[tuple[str, LeakyBucket]], now: dt.datetime
) -> None:
    """Add one failure to each bucket, locking them in the order given (narrow ones first)."""
    for name, limit in buckets:
        locked_bucket(session, name, limit, now).level += 1
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
