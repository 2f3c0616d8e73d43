"""Submitters (pseudonyms) and the metadata of what they send.

Everything a person wrote is inside ``Submission.envelope``; the other columns are the short
plaintext list the triage workflow needs. Dates are kept to the day so that the timing of a
submission cannot be matched against a network log.
"""

import datetime as dt

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, string_enum
from portal.models.dialogue import Dialogue, DialogueSession
from portal.models.enums import RiskLevel, SubmissionKind, SubmissionState
from portal.models.keys import DeskKey


class Submitter(Base):
    """A pseudonym: a keyed hash of the codename's login secret and the codename's public key."""

    __tablename__ = "submitters"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_on: Mapped[dt.date] = mapped_column(Date())


class Submission(Base):
    """One submission's plaintext metadata and its envelope.

    ``session`` is empty for material not tied to a round, such as a reprisal report, which can
    arrive at any time.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    kind: Mapped[SubmissionKind] = mapped_column(string_enum(SubmissionKind, "kind"))
    state: Mapped[SubmissionState] = mapped_column(string_enum(SubmissionState, "state"))
    received_on: Mapped[dt.date] = mapped_column(Date())
    risk_level: Mapped[RiskLevel | None] = mapped_column(string_enum(RiskLevel, "risk_level"))
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    submitter_id: Mapped[int] = mapped_column(ForeignKey("submitters.id"), index=True)

    dialogue: Mapped[Dialogue] = relationship()
    session: Mapped[DialogueSession | None] = relationship()
    desk_key: Mapped[DeskKey] = relationship()
    submitter: Mapped[Submitter] = relationship()
