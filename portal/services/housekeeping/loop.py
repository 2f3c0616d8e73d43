"""The clean-up that runs by itself: a thread in each worker of ``portal serve``.

Every worker process starts one :class:`HousekeepingLoop` (``portal.server``); each wakes every
:data:`WAKE_INTERVAL` and calls :meth:`HousekeepingLoop.tick`, which runs a clean-up only when
the shared lease says one is due (``purge.INTERVAL`` after the last one ended) and nobody is
running one, so however many workers and servers share the database, one clean-up runs at a
time, about every five minutes. The work goes in short batches (``sweeps``) so requests never
wait on it for long.

A run that fails is logged by the exception's type only: an error's message may quote SQL
parameters, and the log must not hold them. The lease of a failed run is given back, and the
clean-up is tried again once the interval has passed.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable

from portal.db import Database
from portal.models import utc_now
from portal.services.housekeeping.purge import PurgeReport, purge
from portal.storage import EncryptedStorage

WAKE_INTERVAL = dt.timedelta(minutes=1)
logger = logging.getLogger("portal.housekeeping")


class HousekeepingLoop:
    """Periodic clean-up for one process; :meth:`tick` is one wake-up, :meth:`start` the thread."""

    def __init__(
        self,
        database: Database,
        storage: EncryptedStorage,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._database = database
        self._storage = storage
        self._clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> PurgeReport | None:
        """Run a clean-up if one is due and free; ``None`` when none ran (or it failed)."""
        try:
            report = purge(self._database, self._storage, clock=self._clock, on_schedule=True)
        except Exception as error:
            logger.error("housekeeping run failed: %s", type(error).__name__)
            return None
        if report is not None and report.anything_removed:
            logger.info("housekeeping: %s", describe(report))
        return report

    def start(self) -> None:
        """Start the loop's daemon thread (it dies with the process)."""
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after its current run."""
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.wait(WAKE_INTERVAL.total_seconds()):
            self.tick()


def describe(report: PurgeReport) -> str:
    """One line of counts and bytes, by kind: what a log may say about a run."""
    parts = [f"{tally.items} {kind}" for kind, tally in report.removed.items() if tally.items]
    return f"{', '.join(parts) or 'nothing'} removed; {report.bytes_freed} bytes of files freed"
