"""Staff accounts: creation with login hash, personal key pair and second factor.

The passphrase is used twice, for two different jobs: an Argon2id login hash (checked at sign-in)
and, with its own salt, the key that wraps the personal private key. Neither can be turned into
the other, and a staff member who changes the passphrase re-wraps the key.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

import crypto
from portal.models import StaffRole, StaffUser
from portal.services.audit import AuditAction, record_event

MIN_PASSPHRASE_LENGTH = 12
TOTP_SEAL_PURPOSE = "staff-totp-secret"


class StaffDetailsError(ValueError):
    """Details for a new staff account that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class NewStaffUser:
    """A freshly created account and its TOTP secret, to be shown to its owner once."""

    user: StaffUser
    totp_secret: bytes


def normalise_email(email: str) -> str:
    """Staff e-mail addresses compare case-insensitively, so they are stored in lower case."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(character.isspace() for character in address):
        raise StaffDetailsError("an e-mail address looks like name@example.org")
    return address


def create_staff_user(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: StaffRole,
    passphrase: str,
    at_rest_key: bytes,
    must_change_passphrase: bool = True,
    created_by: StaffUser | None = None,
) -> NewStaffUser:
    """Create an active account with its personal key pair and a new TOTP secret."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise StaffDetailsError(
            f"a staff passphrase has at least {MIN_PASSPHRASE_LENGTH} characters"
        )
    if not display_name.strip():
        raise StaffDetailsError("a staff account needs a display name")
    personal_key = crypto.generate_private_key()
    totp_secret = crypto.new_totp_secret()
    user = StaffUser(
        email=normalise_email(email),
        display_name=display_name.strip(),
        role=role,
        login_hash=crypto.hash_password(passphrase),
        personal_public_key=crypto.public_key_bytes(personal_key),
        personal_private_key_wrapped=crypto.wrap_private_key(personal_key, passphrase),
        totp_secret_sealed=crypto.seal_box(at_rest_key, totp_secret, TOTP_SEAL_PURPOSE),
        last_totp_step=None,
        must_change_passphrase=must_change_passphrase,
        active=True,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_CREATED,
        object_type="staff_user",
        object_id=user.id,
        actor=created_by,
        details={"role": str(role)},
    )
    return NewStaffUser(user=user, totp_secret=totp_secret)


def staff_totp_secret(user: StaffUser, at_rest_key: bytes) -> bytes:
    """Unseal a staff member's TOTP secret with the instance's at-rest key."""
    return crypto.open_box(at_rest_key, user.totp_secret_sealed, TOTP_SEAL_PURPOSE)
