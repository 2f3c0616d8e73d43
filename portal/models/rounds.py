"""The co-chairs' side of a session: its handover list, its record, and consent asked again.

A "round" is one session of a dialogue. What a case became in a round is kept per round
(``CaseOutcome``), so that the next round starts from what was said before. Everything here is
plaintext the workflow needs (who acted, when, closed-list values); what staff write about a
case or an item -- briefing points, the partner's replies, the response to a recommendation --
is a ``DeskText``: sealed to the desk key and signed by its author, like a triage note. Every row
that names a submission is deleted with it.
"""

import datetime as dt

from sqlalchemy import Date, ForeignKey, LargeBinary, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, string_enum, utc_now
from portal.models.dialogue import DialogueSession
from portal.models.enums import (
    DebriefWithheldReason,
    DeskTextPurpose,
    HandoverLeaving,
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    StatementSource,
)
from portal.models.keys import DeskKey
from portal.models.staff import StaffUser
from portal.models.submission import Submission
from portal.models.triage import AgendaItem


class HandoverEntry(Base):
    """A case on a session's handover list: proposed by a triage officer, approved by a co-chair
    who is not the proposer.

    A case leaves at once when its consent changes, its risk is put on hold or re-assessed, or
    its assessment lapses: ``left_at`` and ``left_reason`` say so to the co-chairs, never more.
    Proposing it again takes the same row back to a fresh proposal.
    """

    __tablename__ = "handover_entries"
    __table_args__ = (UniqueConstraint("session_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    left_reason: Mapped[HandoverLeaving | None] = mapped_column(
        string_enum(HandoverLeaving, "left_reason")
    )

    session: Mapped[DialogueSession] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="handover_entries")
    proposed_by: Mapped[StaffUser] = relationship(foreign_keys=[proposed_by_id])
    approved_by: Mapped[StaffUser | None] = relationship(foreign_keys=[approved_by_id])


class CaseOutcome(Base):
    """How a case or reprisal report was taken up in one held session: the case's record across
    rounds. The partner's reply is a ``DeskText`` (``CASE_REPLY``) beside it."""

    __tablename__ = "case_outcomes"
    __table_args__ = (UniqueConstraint("session_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    how_raised: Mapped[HowRaised] = mapped_column(string_enum(HowRaised, "how_raised"))
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    not_raised_reason: Mapped[NotRaisedReason | None] = mapped_column(
        string_enum(NotRaisedReason, "not_raised_reason")
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    session: Mapped[DialogueSession] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="case_outcomes")
    agenda_item: Mapped[AgendaItem | None] = relationship()
    recorded_by: Mapped[StaffUser] = relationship()


class RecommendationResponse(Base):
    """The response to one recommendation (by its place in the seminar submission's list) in a
    held session; any words of explanation are a ``DeskText`` (``RECOMMENDATION_NOTE``)."""

    __tablename__ = "recommendation_responses"
    __table_args__ = (UniqueConstraint("session_id", "submission_id", "recommendation_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    recommendation_index: Mapped[int]
    outcome: Mapped[RecommendationOutcome] = mapped_column(
        string_enum(RecommendationOutcome, "outcome")
    )
    not_taken_up_reason: Mapped[NotTakenUpReason | None] = mapped_column(
        string_enum(NotTakenUpReason, "not_taken_up_reason")
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    session: Mapped[DialogueSession] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="recommendation_responses")
    recorded_by: Mapped[StaffUser] = relationship()


class ConsentRequest(Base):
    """A request, in the submitter's inbox, to confirm again per named person how far the EU may
    go with a case in a new round. Dated to the day, like everything a submitter does; the
    answer itself is a signed consent change naming the round inside its envelope."""

    __tablename__ = "consent_requests"
    __table_args__ = (UniqueConstraint("submission_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    requested_on: Mapped[dt.date] = mapped_column(Date())
    answered_on: Mapped[dt.date | None] = mapped_column(Date())

    session: Mapped[DialogueSession] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="consent_requests")


class DeskText(Base):
    """Staff prose of a session, sealed to the desk key alone and signed by its author.

    What it is about is plaintext (purpose, agenda item, submission, recommendation); the words
    are not. One text per purpose and subject: writing again replaces the envelope and the
    signature.
    """

    __tablename__ = "desk_texts"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    purpose: Mapped[DeskTextPurpose] = mapped_column(string_enum(DeskTextPurpose, "purpose"))
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    recommendation_index: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    author_signing_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    author_certificate: Mapped[bytes] = mapped_column(LargeBinary(64))

    session: Mapped[DialogueSession] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship()
    submission: Mapped[Submission | None] = relationship(back_populates="desk_texts")
    author: Mapped[StaffUser] = relationship()
    desk_key: Mapped[DeskKey] = relationship()


class DebriefWithheld(Base):
    """The desk's record of why one contributor of a session receives no debrief notice.

    A session counts as debriefed only when every contributor has a notice or one of these
    (``portal.services.rounds.contributors``), so that no one is forgotten without a reason
    written down.
    """

    __tablename__ = "debriefs_withheld"
    __table_args__ = (UniqueConstraint("session_id", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reason: Mapped[DebriefWithheldReason] = mapped_column(
        string_enum(DebriefWithheldReason, "withheld_reason")
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    session: Mapped[DialogueSession] = relationship()
    submission: Mapped[Submission] = relationship(back_populates="debriefs_withheld")
    recorded_by: Mapped[StaffUser] = relationship()


class SessionSummary(Base):
    """A session's optional public summary: the press statement, in the cleaned Markdown of
    staff prose, shown on the public session page once published beside the themes the record
    says were discussed. Public words by nature, so plaintext; never a case, a name or a count
    below the statistics' threshold."""

    __tablename__ = "session_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), unique=True)
    statement_source: Mapped[StatementSource] = mapped_column(
        string_enum(StatementSource, "statement_source")
    )
    statement: Mapped[str] = mapped_column(Text())
    written_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[DialogueSession] = relationship()
    written_by: Mapped[StaffUser] = relationship()
