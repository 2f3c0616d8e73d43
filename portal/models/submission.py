"""Submitters (pseudonyms), what they send, and what is left when they delete it.

Everything a person wrote is inside an envelope (``Submission.envelope``, further information,
consent changes, attachment-keys records) or a STREAM file in the instance storage folder; the
other columns are the short plaintext list the triage workflow needs, documented in
``portal.services.submissions.payload``. Dates are kept to the day so that the timing of a
submission cannot be matched against a network log.
"""

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, string_enum
from portal.models.dialogue import Dialogue, DialogueSession
from portal.models.enums import DeclineReason, RiskLevel, SubmissionKind, SubmissionState
from portal.models.keys import DeskKey

if TYPE_CHECKING:
    from portal.models.followup import FollowUpActionLink
    from portal.models.rounds import (
        CaseOutcome,
        ConsentRequest,
        DebriefWithheld,
        DeskText,
        HandoverEntry,
        RecommendationResponse,
    )
    from portal.models.triage import (
        AgendaLink,
        DeskMessage,
        EmergencyAccess,
        NamedMember,
        TriageNote,
    )


class Submitter(Base):
    """A pseudonym: a keyed hash of the codename's login secret and the codename's public key.

    Nothing stored since owner tags points at it: it says that a pseudonym exists, not what it
    sent.
    """

    __tablename__ = "submitters"

    id: Mapped[int] = mapped_column(primary_key=True)
    lookup_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_on: Mapped[dt.date] = mapped_column(Date())


class Submission(Base):
    """One submission's plaintext metadata and its envelope.

    ``session`` is empty for material not tied to a round, such as a reprisal report, which can
    arrive at any time. The triage columns (risk, re-assessment date, gender-specific risk, risk
    hold, decline reason, duplicate, handover proposal) are the desk's plaintext assessment,
    set through ``portal.services.staff.triage`` only; none of them holds anything a person wrote.
    Deleting a submission deletes every row that hangs from it (the ORM cascades below), so that
    crypto-shredding cannot leave an envelope behind.
    """

    __tablename__ = "submissions"
    # The triage queue walks a dialogue's submissions newest first by id (keyset pagination),
    # narrowed by any one of its filters through the index that leads with that column, so that
    # a page reads about as many rows at any size (topics: ``SubmissionTopic``).
    __table_args__ = (
        Index("ix_submissions_dialogue_queue", "dialogue_id", "id"),
        Index("ix_submissions_queue_session", "dialogue_id", "session_id", "id"),
        Index("ix_submissions_queue_kind", "dialogue_id", "kind", "id"),
        Index("ix_submissions_queue_state", "dialogue_id", "state", "id"),
        Index("ix_submissions_queue_risk", "dialogue_id", "risk_level", "id"),
        Index("ix_submissions_queue_urgent", "dialogue_id", "urgent", "id"),
        Index("ix_submissions_queue_risk_hold", "dialogue_id", "risk_hold", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("dialogue_sessions.id"), index=True)
    kind: Mapped[SubmissionKind] = mapped_column(string_enum(SubmissionKind, "kind"))
    state: Mapped[SubmissionState] = mapped_column(string_enum(SubmissionState, "state"))
    received_on: Mapped[dt.date] = mapped_column(Date())
    risk_level: Mapped[RiskLevel | None] = mapped_column(string_enum(RiskLevel, "risk_level"))
    risk_reassess_on: Mapped[dt.date | None] = mapped_column(Date())
    gender_specific_risk: Mapped[bool] = mapped_column(default=False)
    risk_hold: Mapped[bool] = mapped_column(default=False)
    # The desk's classification at triage that the case concerns a woman human-rights defender
    # (the submitter's own flag stays inside the envelope); statistics count it.
    women_hrd: Mapped[bool] = mapped_column(default=False)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(
        string_enum(DeclineReason, "decline_reason")
    )
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # Which submitter's submission this is, as only their codename can tell: the owner tag of
    # their ``n``-th submission (``portal.services.submissions.owner_tags``). Empty only on a row
    # stored before owner tags, which names its pseudonym in ``submitter_id`` instead until its
    # submitter next signs in and the server tags it.
    owner_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("submitters.id"), index=True)
    # What the submitter's side of every envelope of this submission is sealed to: the
    # submission's own key (derived from the codename and the public id), or, for a row made
    # before per-submission keys, the codename's key itself (see ``submissions.submitter_keys``).
    submitter_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The submission's Ed25519 key (derived like its X25519 key), mirrored from inside the
    # sealed submission so that the server can check signatures on arrival; readers trust the
    # copy inside and refuse a mismatch (``portal.services.submissions.provenance``). Empty, as
    # is ``signature``, for a submission stored before signatures.
    signing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    topic_tags: Mapped[list[str]] = mapped_column(JSON())
    urgent: Mapped[bool]

    dialogue: Mapped[Dialogue] = relationship()
    session: Mapped[DialogueSession | None] = relationship()
    desk_key: Mapped[DeskKey] = relationship()
    duplicate_of: Mapped["Submission | None"] = relationship(remote_side=[id])
    further_information: Mapped[list["FurtherInformation"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="FurtherInformation.id"
    )
    consent_changes: Mapped[list["ConsentChange"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="ConsentChange.id"
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    triage_notes: Mapped[list["TriageNote"]] = relationship(
        cascade="all, delete-orphan", order_by="TriageNote.id"
    )
    messages: Mapped[list["DeskMessage"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="DeskMessage.id"
    )
    named_members: Mapped[list["NamedMember"]] = relationship(cascade="all, delete-orphan")
    emergency_accesses: Mapped[list["EmergencyAccess"]] = relationship(
        cascade="all, delete-orphan", order_by="EmergencyAccess.id"
    )
    agenda_links: Mapped[list["AgendaLink"]] = relationship(cascade="all, delete-orphan")
    handover_entries: Mapped[list["HandoverEntry"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="HandoverEntry.id"
    )
    case_outcomes: Mapped[list["CaseOutcome"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="CaseOutcome.id"
    )
    recommendation_responses: Mapped[list["RecommendationResponse"]] = relationship(
        back_populates="submission",
        cascade="all, delete-orphan",
        order_by="RecommendationResponse.id",
    )
    consent_requests: Mapped[list["ConsentRequest"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="ConsentRequest.id"
    )
    desk_texts: Mapped[list["DeskText"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="DeskText.id"
    )
    debriefs_withheld: Mapped[list["DebriefWithheld"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="DebriefWithheld.id"
    )
    follow_up_links: Mapped[list["FollowUpActionLink"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan"
    )


class SubmissionTopic(Base):
    """One of a submission's ``topic_tags``, a row each, for the triage queue's topic filter.

    A filter on the JSON column would read every row of the dialogue; this table's index hands the
    queue a topic's submissions newest first. It mirrors ``topic_tags`` and is written only with
    it (``portal.services.submissions.topic_rows``); the database deletes its rows with their
    submission.
    """

    __tablename__ = "submission_topics"
    __table_args__ = (Index("ix_submission_topics_queue", "dialogue_id", "topic", "submission_id"),)

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))


class FurtherInformation(Base):
    """An envelope the submitter added to a submission after sending it.

    Sealed to the desk key that was current when it arrived, which may be newer than the
    submission's own.
    """

    __tablename__ = "further_information"
    # A signed item's place in its submission's history is in its signed context: a copy of
    # its envelope can only claim the same place, which this constraint keeps taken.
    __table_args__ = (UniqueConstraint("submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    received_on: Mapped[dt.date] = mapped_column(Date())
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # Empty for an item stored before signatures (docs/FORMATS.md, "Signed items in use").
    position: Mapped[int | None]
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))

    submission: Mapped[Submission] = relationship(back_populates="further_information")
    desk_key: Mapped[DeskKey] = relationship()


class ConsentChange(Base):
    """A change of consent for one named person, sealed; the row itself is the plaintext marker.

    The server learns only that consent changed on this day for this submission -- not for whom,
    nor to what -- and that is enough for routing to take the case off a handover list at once.
    """

    __tablename__ = "consent_changes"
    # A signed item's place in its submission's history is in its signed context: a copy of
    # its envelope can only claim the same place, which this constraint keeps taken.
    __table_args__ = (UniqueConstraint("submission_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    received_on: Mapped[dt.date] = mapped_column(Date())
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # Empty for an item stored before signatures (docs/FORMATS.md, "Signed items in use").
    position: Mapped[int | None]
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))

    submission: Mapped[Submission] = relationship(back_populates="consent_changes")
    desk_key: Mapped[DeskKey] = relationship()


class Attachment(Base):
    """One encrypted file: STREAM ciphertext in storage, its key and metadata in an envelope.

    ``storage_name`` is random and says nothing about the file; its name, type and size are in
    ``keys_envelope`` (the attachment-keys record), sealed to the submission's recipients.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    ciphertext_size: Mapped[int] = mapped_column(BigInteger())
    keys_envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # The submitter's signature of the keys record; empty for one stored before signatures.
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class DeletedSubmission(Base):
    """What remains of a submission its author deleted: enough for the inbox to say so.

    No dialogue, session, date of receipt or content: only its owner tag (kept so that the walk
    over the submitter's tags does not stop at it), its public id, its kind and the day it was
    deleted. ``submitter_id`` is set only on a tombstone left before owner tags, like on
    ``Submission``.
    """

    __tablename__ = "deleted_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    owner_tag: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("submitters.id"), index=True)
    kind: Mapped[SubmissionKind] = mapped_column(string_enum(SubmissionKind, "kind"))
    deleted_on: Mapped[dt.date] = mapped_column(Date())
