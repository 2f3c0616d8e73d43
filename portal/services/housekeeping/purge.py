"""One clean-up run: every sweep in turn, in batches, under the lease, then VACUUM.

:func:`purge` is what both the periodic loop (``housekeeping.loop``) and ``portal purge`` run.
After the sweeps it sets the times of every stored file again, so that their inode change times
say nothing finer than "before the last run" (``storage.EncryptedStorage.blur_change_times``),
and recomputes the storage ledger from the folder (``storage_quota.reconcile_ledger``), since an
orphan removed or a crash's leftovers were never counted out of it.
Its :class:`PurgeReport` says how many things of each kind went and how many bytes of files were
freed, never which: no id, name or date of anything removed reaches a report or a log.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from portal.db import Database
from portal.services.housekeeping import lease
from portal.services.housekeeping.sweeps import SWEEPS, Scope, Tally
from portal.services.housekeeping.vacuum import vacuum
from portal.services.storage_quota import reconcile_ledger
from portal.storage import EncryptedStorage

JOB = "purge"
INTERVAL = dt.timedelta(minutes=5)
"""How often the periodic loop runs a clean-up (across all workers and servers together)."""


class PurgeBusyError(RuntimeError):
    """Another clean-up holds the lease right now."""


@dataclass
class PurgeReport:
    """What a run removed (or, for a dry run, would remove), by kind."""

    dry_run: bool
    removed: dict[str, Tally] = field(default_factory=dict)
    vacuumed: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(tally.bytes for tally in self.removed.values())

    @property
    def anything_removed(self) -> bool:
        return any(tally.items for tally in self.removed.values())


def purge(
    database: Database,
    storage: EncryptedStorage,
    *,
    clock: Callable[[], dt.datetime],
    dry_run: bool = False,
    on_schedule: bool = False,
    vacuum_full: bool = False,
) -> PurgeReport | None:
    """Run one clean-up; ``None`` when, ``on_schedule``, it is not due or someone else runs it.

    On demand (``on_schedule`` false) a run already in progress elsewhere raises
    :class:`PurgeBusyError` instead. A dry run counts and changes nothing, so it takes no lease.
    """
    report = PurgeReport(dry_run=dry_run)
    with database.session() as session:
        if dry_run:
            scope = Scope(session, storage, clock())
            for sweep in SWEEPS:
                report.removed[sweep.kind] = sweep.count(scope)
                session.rollback()
            return report
        held = lease.take(session, JOB, clock(), on_schedule=on_schedule)
        if held is None:
            if on_schedule:
                return None
            raise PurgeBusyError("a clean-up is running now; try again in a few minutes")
        try:
            tables = _sweep_all(session, storage, clock, held, report)
            storage.blur_change_times()
            reconcile_ledger(session, storage)
        finally:
            session.rollback()
            done = clock()
            lease.give_back(session, held, done, next_run_after=done + INTERVAL)
    report.vacuumed = vacuum(database.engine, tables, full=vacuum_full)
    return report


def _sweep_all(
    session: Session,
    storage: EncryptedStorage,
    clock: Callable[[], dt.datetime],
    held: lease.Lease,
    report: PurgeReport,
) -> set[str]:
    """Run every sweep to the end, batch by batch, renewing the lease between batches; return
    the tables rows were deleted from."""
    tables: set[str] = set()
    for sweep in SWEEPS:
        items = freed = 0
        while True:
            now = clock()
            if not lease.renew(session, held, now):
                raise PurgeBusyError("the clean-up's lease ran out and another run took over")
            batch = sweep.remove_batch(Scope(session, storage, now))
            items, freed = items + batch.items, freed + batch.bytes
            if batch.items == 0:
                break
        report.removed[sweep.kind] = Tally(items, freed)
        if items:
            tables.update(sweep.tables)
    return tables
