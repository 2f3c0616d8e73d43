"""What the desk adds to a submission: notes, messages, who may read it, and agenda links.

Notes and messages are envelopes like the submission itself: a note is sealed to the desk key
only, a message to the desk key and the submission's own key for its submitter, so that both
ends of the thread can read it and the server cannot. Every row here hangs from its submission
and is deleted with it (crypto-shredding takes the desk's additions too).
"""

import datetime as dt

from sqlalchemy import Date, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, string_enum, utc_now
from portal.models.dialogue import DialogueSession
from portal.models.enums import (
    AgendaItemStatus,
    AgendaPriority,
    AgendaTheme,
    MessageAuthor,
    MessagePurpose,
)
from portal.models.keys import DeskKey
from portal.models.staff import StaffUser
from portal.models.submission import Submission

MAX_JUSTIFICATION = 2000
"""The longest written reason for emergency access (the column's width, which triage checks)."""
MAX_AGENDA_TITLE = 200
"""The longest agenda item title."""
MAX_GENDER_DIMENSION = 1000
"""The longest note on an agenda item's gender dimension (plaintext: it speaks of a theme)."""


class TriageNote(Base):
    """A desk member's private note on a submission, sealed to the desk key alone and signed by
    its author."""

    __tablename__ = "triage_notes"
    # Each place among a submission's notes is taken once: a replayed copy cannot take a free one.
    __table_args__ = (UniqueConstraint("submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # Place among the submission's notes (1, 2, ...), the author's signature by their personal
    # signing key, and that key with its staff key certificate by the desk key the note is sealed
    # to (docs/FORMATS.md, "Staff key certificate v1"); all empty for a note stored before
    # signatures.
    position: Mapped[int | None]
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    author_signing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    author_certificate: Mapped[bytes | None] = mapped_column(LargeBinary(64))

    author: Mapped[StaffUser] = relationship()
    desk_key: Mapped[DeskKey] = relationship()


class DeskMessage(Base):
    """One message in the thread between the desk and a submission's author.

    Dated to the day like everything a submitter does, so that its timing cannot be matched to a
    network log; ``author_id`` names the staff member for a desk message and is empty for the
    submitter's own. A notice (``purpose`` other than ``MESSAGE``) is a desk message the desk
    sends to every contributor concerned: a session's debrief names its ``session_id``, progress
    on the roadmap its ``follow_up_action_id``. The purpose inside the signed envelope is the one
    readers trust; the columns only let the desk and the inbox find notices without opening
    them. ``seen_by_submitter`` is what the inbox's "new" marker is made of: a flag, never a
    time.
    """

    __tablename__ = "desk_messages"
    # Each side's signed positions are taken once: a replayed copy cannot take a free one.
    __table_args__ = (UniqueConstraint("submission_id", "written_by", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    written_by: Mapped[MessageAuthor] = mapped_column(string_enum(MessageAuthor, "written_by"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    sent_on: Mapped[dt.date] = mapped_column(Date())
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # Place in its writer's side of the history and the writer's signature (the desk signing
    # key, or the submission's); both empty for a message stored before signatures.
    position: Mapped[int | None]
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    purpose: Mapped[MessagePurpose] = mapped_column(
        string_enum(MessagePurpose, "purpose"), default=MessagePurpose.MESSAGE
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    follow_up_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("follow_up_actions.id", ondelete="SET NULL"), index=True
    )
    seen_by_submitter: Mapped[bool] = mapped_column(default=False)

    submission: Mapped[Submission] = relationship(back_populates="messages")
    author: Mapped[StaffUser | None] = relationship()
    desk_key: Mapped[DeskKey] = relationship()


class NamedMember(Base):
    """A desk member named on a high-risk submission: only they may read it."""

    __tablename__ = "named_members"
    __table_args__ = (UniqueConstraint("submission_id", "staff_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))

    staff_user: Mapped[StaffUser] = relationship()


class EmergencyAccess(Base):
    """Reading a restricted submission outside need-to-know, with the reason written down.

    The justification is staff prose, shown to the desk and to administrators; it must not
    repeat what the submission says, and the page that takes it says so.
    """

    __tablename__ = "emergency_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    justification: Mapped[str] = mapped_column(String(MAX_JUSTIFICATION))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    staff_user: Mapped[StaffUser] = relationship()


class AgendaItem(Base):
    """An item on a session's agenda.

    The co-chairs own the agenda: an item a triage officer adds is ``PROPOSED`` until a co-chair
    includes it. Title, theme, order, whose priority it is and its gender dimension are
    plaintext staff words about themes, never about persons: observers read titles and themes
    once the agenda is shared. ``discussed`` is filled in by the session's record (empty until
    then).
    """

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_AGENDA_TITLE))
    theme: Mapped[AgendaTheme] = mapped_column(string_enum(AgendaTheme, "theme"))
    # A ``Topic`` value for a specific topic; kept as a plain string because the longest theme
    # outgrows the enum width.
    topic: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    priority_of: Mapped[AgendaPriority] = mapped_column(string_enum(AgendaPriority, "priority_of"))
    gender_dimension: Mapped[str | None] = mapped_column(String(MAX_GENDER_DIMENSION))
    status: Mapped[AgendaItemStatus] = mapped_column(string_enum(AgendaItemStatus, "status"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    discussed: Mapped[bool | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    session: Mapped[DialogueSession] = relationship()
    proposed_by: Mapped[StaffUser | None] = relationship()


class AgendaLink(Base):
    """A submission linked to an agenda item of its session."""

    __tablename__ = "agenda_links"
    __table_args__ = (UniqueConstraint("submission_id", "agenda_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)

    agenda_item: Mapped[AgendaItem] = relationship()
