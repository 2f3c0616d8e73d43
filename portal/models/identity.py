"""The identity compartment: who a submission names, sealed apart from what it says.

A submission's persons are read by the whole desk as "Person 1", "Person 2" with their consent;
their names and identifying details travel in a separate envelope (``SubmissionIdentity``)
sealed to the dialogue's *identity key* (``IdentityKey``, made with each desk key) and to the
submission's own key. An identity key's private half exists only inside grants to the desk's
triage officers and to the recovery key (``IdentityKeyGrant``), never to the other members.

When a triage officer names members on a case, the identities are re-sealed to a key of that case
alone (the *compartment key*, whose public half is ``SubmissionIdentity.compartment_public_key``)
and its private half is granted to each named member's personal key (``CompartmentGrant``). A row
naming someone is therefore worth nothing without a grant sealed by someone who held the key.
"""

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utc_now
from portal.models.keys import DeskKey, RecoveryKey
from portal.models.staff import StaffUser
from portal.models.submission import Submission


class IdentityKey(Base):
    """A dialogue's identity key pair, made with (and rotated with) one desk key."""

    __tablename__ = "identity_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    desk_key: Mapped[DeskKey] = relationship()


class IdentityKeyGrant(Base):
    """An identity key's private half sealed to one triage officer or to the recovery key."""

    __tablename__ = "identity_key_grants"
    __table_args__ = (
        CheckConstraint(
            "(recipient_staff_user_id IS NULL) <> (recovery_key_id IS NULL)",
            name="one_identity_recipient",
        ),
        UniqueConstraint("identity_key_id", "recipient_staff_user_id"),
        UniqueConstraint("identity_key_id", "recovery_key_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_key_id: Mapped[int] = mapped_column(ForeignKey("identity_keys.id"))
    recipient_staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), index=True
    )
    recovery_key_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_keys.id"))
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    identity_key: Mapped[IdentityKey] = relationship()
    recipient_staff_user: Mapped[StaffUser | None] = relationship()
    recovery_key: Mapped[RecoveryKey | None] = relationship()


class SubmissionIdentity(Base):
    """A submission's identities envelope, and its compartment once members are named.

    Deleted with its submission (crypto-shredding takes the names too).
    """

    __tablename__ = "submission_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    identity_key_id: Mapped[int] = mapped_column(ForeignKey("identity_keys.id"), index=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    # The submission's signature of ``envelope`` under its v2 context; empty for identities
    # stored before revision 0011 (docs/FORMATS.md, "Signed items in use").
    signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    compartment_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    compartment_envelope: Mapped[bytes | None] = mapped_column(LargeBinary())
    # Who made the compartment copy, and their staff signature of it (docs/FORMATS.md, "Staff
    # key certificate v1"); empty for a copy made before revision 0011.
    compartment_signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    compartment_signature: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    compartment_signing_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    compartment_certificate: Mapped[bytes | None] = mapped_column(LargeBinary(64))

    submission: Mapped[Submission] = relationship(
        backref=backref("identity", uselist=False, cascade="all, delete-orphan")
    )
    identity_key: Mapped[IdentityKey] = relationship()
    grants: Mapped[list["CompartmentGrant"]] = relationship(
        back_populates="identity", cascade="all, delete-orphan", order_by="CompartmentGrant.id"
    )


class CompartmentGrant(Base):
    """A case's compartment key sealed to one named member (or, for a while, emergency access).

    ``expires_at`` is empty for a member named on the case, and set for an emergency grant, which
    is honoured only until then.
    """

    __tablename__ = "compartment_grants"
    __table_args__ = (UniqueConstraint("submission_identity_id", "staff_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_identity_id: Mapped[int] = mapped_column(
        ForeignKey("submission_identities.id"), index=True
    )
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    identity: Mapped[SubmissionIdentity] = relationship(back_populates="grants")
    staff_user: Mapped[StaffUser] = relationship(foreign_keys=[staff_user_id])
