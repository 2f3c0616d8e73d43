"""Dialogues with partners and their sessions: the public, plaintext part of the model."""

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, string_enum, utc_now
from portal.models.enums import (
    AgendaState,
    DialogueKind,
    DialogueStatus,
    PartnerKind,
    ReviewMode,
    SessionPlace,
    SessionState,
)

MAX_PARTNER_LENGTH = 200
"""The longest partner name (the column's width, which the dialogue rules check)."""


class Dialogue(Base):
    """One human-rights dialogue or consultation with a partner country or regional group.

    The slug is the dialogue's stable public name: it appears in URLs and in the context of its
    desk key grants, so it never changes once the dialogue exists.
    """

    __tablename__ = "dialogues"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    partner: Mapped[str] = mapped_column(String(MAX_PARTNER_LENGTH))
    partner_kind: Mapped[PartnerKind] = mapped_column(string_enum(PartnerKind, "partner_kind"))
    kind: Mapped[DialogueKind] = mapped_column(string_enum(DialogueKind, "kind"))
    status: Mapped[DialogueStatus] = mapped_column(string_enum(DialogueStatus, "status"))
    review_mode: Mapped[ReviewMode] = mapped_column(string_enum(ReviewMode, "review_mode"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # Retention (``portal.services.dialogues.retention``): how many days after a session reaches
    # follow-up its submissions are deleted (empty: kept until their submitters delete them),
    # the least notice the desk gets of a deletion, and the day either was last set.
    retention_days: Mapped[int | None]
    retention_notice_days: Mapped[int] = mapped_column(default=30, server_default="30")
    retention_set_on: Mapped[dt.date | None] = mapped_column(Date())

    sessions: Mapped[list["DialogueSession"]] = relationship(
        back_populates="dialogue", order_by="DialogueSession.date"
    )


class DialogueSession(Base):
    """One round of a dialogue, with the window in which civil society can send input.

    The consultation window is either not yet set (both ends empty) or a proper interval.
    """

    __tablename__ = "dialogue_sessions"
    __table_args__ = (
        CheckConstraint(
            "(consultation_opens_at IS NULL AND consultation_closes_at IS NULL)"
            " OR (consultation_opens_at < consultation_closes_at)",
            name="consultation_window",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date())
    place: Mapped[SessionPlace] = mapped_column(string_enum(SessionPlace, "place"))
    consultation_opens_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    consultation_closes_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[SessionState] = mapped_column(string_enum(SessionState, "state"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # The co-chairs' side (``portal.services.rounds``): the agenda's stage, the handover list
    # once frozen, and the session's record: when and where it was held, and when the record
    # was declared complete. All plaintext: dates, places and who acted.
    agenda_state: Mapped[AgendaState] = mapped_column(
        string_enum(AgendaState, "agenda_state"), default=AgendaState.DRAFT
    )
    handover_frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    handover_frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    held_on: Mapped[dt.date | None] = mapped_column(Date())
    held_place: Mapped[SessionPlace | None] = mapped_column(string_enum(SessionPlace, "held_place"))
    record_completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The day (never the time) the session reached follow-up, from which its dialogue's
    # retention period counts.
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date())

    dialogue: Mapped[Dialogue] = relationship(back_populates="sessions")
