"""Leases that keep a periodic job to one run at a time across every worker and server.

A row per job: whoever moves ``held_until`` from the past into the future holds the job until
then, and ``next_run_after`` says when the periodic loop may start it again
(``portal.services.housekeeping.lease``). One conditional ``UPDATE`` decides who holds it, which
both databases apply atomically, so no advisory lock or server-specific feature is needed.
"""

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class HousekeepingLease(Base):
    """Who may run the job ``name``: nobody until ``held_until`` has passed."""

    __tablename__ = "housekeeping_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    held_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    next_run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime())
