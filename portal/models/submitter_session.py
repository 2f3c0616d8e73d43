"""Signed-in submitters: one row per inbox session, useless on its own.

A row holds a box (``crypto.seal_box``) sealed under a random per-session key that exists only in
the person's session cookie; inside the box are the submitter's owner tag key and, without
JavaScript, their private key. See ``portal.services.submissions.inbox_web_sessions`` for the
rules and SECURITY.md ("Submitter inbox sessions") for why the row names no submitter: a seized
database then says that *someone* had an inbox open at these times, never who.
"""

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class SubmitterSession(Base):
    """One inbox session: its cookie reference, its sealed key, and when it stops counting."""

    __tablename__ = "submitter_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
