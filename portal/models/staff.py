"""Staff accounts and their membership of dialogue desks."""

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Base, UTCDateTime, string_enum, utc_now
from portal.models.dialogue import Dialogue
from portal.models.enums import StaffRole

MAX_EMAIL_LENGTH = 254
"""The longest staff e-mail address (the column's width, which the account rules check)."""
MAX_DISPLAY_NAME_LENGTH = 200
"""The longest display name of a staff account."""
KEY_CONFIRMATION_SIZE = 80
"""The stored confirmation of a member's key: a box v1 (17 + 16 bytes) around a 32-byte key."""


class StaffUser(Base):
    """An EEAS or Member State staff account.

    Nothing here opens content by itself: the personal private key is stored only wrapped under
    a key derived from the passphrase, and the TOTP secret only sealed under the instance's
    at-rest key, which lives outside the database.

    ``totp_secret_sealed`` is empty until the person has enrolled a second factor at their first
    sign-in (or after an administrator's reset); until then, and while
    ``must_change_passphrase`` holds, a signed-in account can reach nothing but enrolment.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(MAX_DISPLAY_NAME_LENGTH))
    role: Mapped[StaffRole] = mapped_column(string_enum(StaffRole, "role"))
    login_hash: Mapped[str] = mapped_column(String(255))
    personal_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    personal_private_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary(128))
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary(128))
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger())
    must_change_passphrase: Mapped[bool]
    active: Mapped[bool]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # The content-free digest of what waits for this person, by e-mail, only if they asked for
    # it; the day of the last one keeps it to one a day at most.
    digest_opt_in: Mapped[bool] = mapped_column(default=False)
    digest_last_sent_on: Mapped[dt.date | None] = mapped_column(Date())

    memberships: Mapped[list["DeskMembership"]] = relationship(
        back_populates="staff_user", foreign_keys="DeskMembership.staff_user_id"
    )


class DeskMembership(Base):
    """A staff member's place on a dialogue's desk: the need-to-know for its content.

    ``granted_by`` is empty when the membership was made by the instance set-up itself.

    ``key_confirmation`` is the personal public key whose fingerprint a granter last confirmed
    with its owner, sealed (box v1) under the instance's at-rest key, which lives outside the
    database: someone who can only write rows can neither forge it nor move it to another
    membership (``portal.services.desks.confirmations``). Empty until the first confirmation.
    """

    __tablename__ = "desk_memberships"
    __table_args__ = (UniqueConstraint("dialogue_id", "staff_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dialogue_id: Mapped[int] = mapped_column(ForeignKey("dialogues.id"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    key_confirmation: Mapped[bytes | None] = mapped_column(LargeBinary(KEY_CONFIRMATION_SIZE))
    key_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    dialogue: Mapped[Dialogue] = relationship()
    staff_user: Mapped[StaffUser] = relationship(
        back_populates="memberships", foreign_keys=[staff_user_id]
    )


class StaffResetRequest(Base):
    """An administrator's request to reset an account, waiting for a second administrator.

    One request per account at a time; it is deleted when approved (the reset is then carried
    out) or cancelled (``portal.services.staff.resets``).
    """

    __tablename__ = "staff_reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class StaffResetNotice(Base):
    """The notice an account's owner sees after a reset, until they acknowledge it.

    ``requested_by`` and ``approved_by`` are the two administrators of a reset made on the web;
    both are empty for an operator's ``portal staff reset``.
    """

    __tablename__ = "staff_reset_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    reset_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
