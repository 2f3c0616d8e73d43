"""The follow-up roadmap of a dialogue between its sessions.

The EEAS sets operational results for a dialogue (``FollowUpResult``: what is to be achieved and
how progress is measured) and tracks actions towards them (``FollowUpAction``: what, who, by
when, where it stands), each change of state kept (``FollowUpActionChange``). Titles, measures
and progress notes are staff words about themes, plaintext because observers read the roadmap's
state in the session report; they must never name a person, and the pages that take them say so.
An action's links to agenda items, seminar recommendations and cases (``FollowUpActionLink``)
are for the desk only and go with the submission when it is deleted.
"""

import datetime as dt

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, string_enum, utc_now
from portal.models.dialogue import Dialogue, DialogueSession
from portal.models.enums import ActionOwner, ActionState
from portal.models.staff import StaffUser
from portal.models.submission import Submission
from portal.models.triage import AgendaItem

MAX_ROADMAP_TITLE = 200
"""The longest title of an operational result or a follow-up action."""
MAX_ROADMAP_TEXT = 1000
"""The longest measure of progress or progress note."""


class FollowUpResult(Base):
    """An operational result the EEAS set for a dialogue, and how progress towards it is
    measured."""

    __tablename__ = "follow_up_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_ROADMAP_TITLE))
    measure: Mapped[str] = mapped_column(String(MAX_ROADMAP_TEXT))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    dialogue: Mapped[Dialogue] = relationship()
    created_by: Mapped[StaffUser] = relationship()


class FollowUpAction(Base):
    """One action on a dialogue's roadmap, usually agreed in a session (``session_id``)."""

    __tablename__ = "follow_up_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("follow_up_results.id"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_ROADMAP_TITLE))
    owner: Mapped[ActionOwner] = mapped_column(string_enum(ActionOwner, "owner"))
    due_on: Mapped[dt.date] = mapped_column(Date())
    state: Mapped[ActionState] = mapped_column(string_enum(ActionState, "state"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    dialogue: Mapped[Dialogue] = relationship()
    session: Mapped[DialogueSession | None] = relationship()
    result: Mapped[FollowUpResult | None] = relationship()
    created_by: Mapped[StaffUser] = relationship()
    links: Mapped[list["FollowUpActionLink"]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="FollowUpActionLink.id"
    )
    changes: Mapped[list["FollowUpActionChange"]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="FollowUpActionChange.id"
    )


class FollowUpActionLink(Base):
    """What an action follows from: an agenda item, a seminar recommendation (a submission and
    the recommendation's place in its list) or a case (a submission alone)."""

    __tablename__ = "follow_up_action_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("follow_up_actions.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    recommendation_index: Mapped[int | None]

    action: Mapped[FollowUpAction] = relationship(back_populates="links")
    agenda_item: Mapped[AgendaItem | None] = relationship()
    submission: Mapped[Submission | None] = relationship(back_populates="follow_up_links")


class FollowUpActionChange(Base):
    """One change of an action's state, with an optional progress note (staff words about the
    theme, never a person)."""

    __tablename__ = "follow_up_action_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("follow_up_actions.id"), index=True)
    state: Mapped[ActionState] = mapped_column(string_enum(ActionState, "state"))
    note: Mapped[str | None] = mapped_column(String(MAX_ROADMAP_TEXT))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    action: Mapped[FollowUpAction] = relationship(back_populates="changes")
    changed_by: Mapped[StaffUser] = relationship()
