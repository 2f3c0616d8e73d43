"""Desk keys, the instance recovery key and the grants that let people open desk keys.

Only public halves are stored in the clear. A desk key's private half exists in the database
solely inside grants: envelopes sealed to one recipient each (a desk member's personal key or
the recovery key). The recovery key's private half is never stored at all.
"""

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, utc_now
from portal.models.dialogue import Dialogue
from portal.models.staff import StaffUser


class RecoveryKey(Base):
    """The public half of the instance recovery key made by ``portal init``."""

    __tablename__ = "recovery_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DeskKey(Base):
    """A dialogue's desk key pair; new submissions go to the one that is not retired.

    ``generation`` counts a dialogue's desk keys from 1; ``certificate`` is the signature of a
    desk key certificate (docs/FORMATS.md, "Desk key certificate v1") by the signing key of the
    previous generation, made at rotation by the member who rotates, or by the recovery signing
    key, made by the operator (``portal.services.desks.recovery_certificates``) for a first key
    or a key made when a dialogue went to offline review; empty for those until the operator
    certifies them, and for keys made before signatures.
    """

    __tablename__ = "desk_keys"
    __table_args__ = (UniqueConstraint("dialogue_id", "generation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    # The Ed25519 public key derived from the private half (``crypto.desk_signing_seed``): set
    # when the key is made, or for a key made before signatures when a holder next opens it.
    signing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    generation: Mapped[int]
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    dialogue: Mapped[Dialogue] = relationship()
    grants: Mapped[list["DeskKeyGrant"]] = relationship(back_populates="desk_key")


class DeskKeyGrant(Base):
    """A desk key's private half sealed to exactly one recipient."""

    __tablename__ = "desk_key_grants"
    __table_args__ = (
        CheckConstraint(
            "(recipient_staff_user_id IS NULL) <> (recovery_key_id IS NULL)",
            name="one_recipient",
        ),
        UniqueConstraint("desk_key_id", "recipient_staff_user_id"),
        UniqueConstraint("desk_key_id", "recovery_key_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_key_id: Mapped[int] = mapped_column(ForeignKey("desk_keys.id"))
    recipient_staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id"), index=True
    )
    recovery_key_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_keys.id"))
    envelope: Mapped[bytes] = mapped_column(LargeBinary())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)

    desk_key: Mapped[DeskKey] = relationship(back_populates="grants")
    recipient_staff_user: Mapped[StaffUser | None] = relationship()
    recovery_key: Mapped[RecoveryKey | None] = relationship()
