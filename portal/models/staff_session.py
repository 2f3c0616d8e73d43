"""Signed-in staff: one row per web session, useless without the cookie that goes with it.

A row holds the staff member's personal private key sealed (``crypto.seal_box``) under a random
per-session key that exists only in the person's session cookie. See
``portal.services.staff.web_sessions`` for the rules. Unlike a submitter's inbox session, the row
names its account: staff are known by name, and an administrator must be able to list and end
someone's sessions.
"""

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime
from portal.models.staff import StaffUser


class StaffSession(Base):
    """One staff web session: its cookie reference, its sealed key and when it stops counting."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    staff_user: Mapped[StaffUser] = relationship()
