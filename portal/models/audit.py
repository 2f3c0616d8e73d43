"""The audit trail: one row per staff read of content, decision and key grant.

Rows are hash-chained (see ``portal.services.audit.trail``); ``details`` carries identifiers and
labels only, never anything a submitter wrote.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class AuditEvent(Base):
    """One link of the audit chain; ``sequence`` counts from 1 without gaps."""

    __tablename__ = "audit_events"

    sequence: Mapped[int] = mapped_column(BigInteger(), primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor_staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    dialogue_id: Mapped[int | None] = mapped_column(ForeignKey("dialogues.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON())
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
