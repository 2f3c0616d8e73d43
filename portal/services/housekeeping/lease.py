"""One clean-up at a time, across every worker process and every server on the database.

A job's row in ``housekeeping_leases`` is taken by one conditional ``UPDATE``: it succeeds only
while ``held_until`` has passed (and, for the periodic loop, ``next_run_after`` too), and moves
``held_until`` :data:`HOLD` ahead. PostgreSQL re-checks the condition after waiting for a
concurrent update of the row, and SQLite serialises writers, so exactly one contender wins.
The holder renews the lease between batches and gives it back when done, setting when the loop
may run next; a holder that dies frees the job when its lease runs out.
"""

import datetime as dt

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.models import HousekeepingLease

HOLD = dt.timedelta(minutes=10)
_LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class Lease:
    """A held lease on one job; ``until`` is the expiry this holder wrote."""

    def __init__(self, name: str, until: dt.datetime) -> None:
        self.name = name
        self.until = until


def take(session: Session, name: str, now: dt.datetime, *, on_schedule: bool) -> Lease | None:
    """Take the job ``name`` if nobody holds it (and, ``on_schedule``, if its next run is due);
    commits either way. ``None`` when someone else holds it or it is not due."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(HousekeepingLease)
        .values(name=name, held_until=_LONG_AGO, next_run_after=_LONG_AGO)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    until = now + HOLD
    condition = [HousekeepingLease.name == name, HousekeepingLease.held_until <= now]
    if on_schedule:
        condition.append(HousekeepingLease.next_run_after <= now)
    taken = session.execute(update(HousekeepingLease).where(*condition).values(held_until=until))
    session.commit()
    return Lease(name, until) if taken.rowcount == 1 else None


def renew(session: Session, lease: Lease, now: dt.datetime) -> bool:
    """Push the lease :data:`HOLD` ahead; ``False`` if it ran out and someone else took it."""
    until = now + HOLD
    renewed = _update_own(session, lease, held_until=until)
    if renewed:
        lease.until = until
    return renewed


def give_back(
    session: Session, lease: Lease, now: dt.datetime, next_run_after: dt.datetime
) -> None:
    """Free the job now; the periodic loop starts it again from ``next_run_after``."""
    _update_own(session, lease, held_until=now, next_run_after=next_run_after)


def _update_own(session: Session, lease: Lease, **values: dt.datetime) -> bool:
    changed = session.execute(
        update(HousekeepingLease)
        .where(HousekeepingLease.name == lease.name, HousekeepingLease.held_until == lease.until)
        .values(**values)
    )
    session.commit()
    return changed.rowcount == 1
