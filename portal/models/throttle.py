"""State of the sign-in limiters of submitters and staff, kept in the database.

Any worker process may serve any request, so a limit kept in one process's memory would be
multiplied by the number of workers; a row shared by all of them is the real limit. See
``portal.services.leaky_bucket`` for the rule itself.
"""

import datetime as dt

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class SignInThrottle(Base):
    """A leaky bucket of failed sign-ins: ``level`` failures, as of ``updated_at``."""

    __tablename__ = "sign_in_throttles"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[float] = mapped_column(Float())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
