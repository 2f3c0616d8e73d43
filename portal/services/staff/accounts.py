"""Staff accounts: creation with login hash, personal key pair and second factor.

The passphrase is used twice, for two different jobs: an Argon2id login hash (checked at sign-in)
and, with its own salt, the key that wraps the personal private key. Neither can be turned into
the other, and a staff member who changes the passphrase re-wraps the key.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKeyGrant,
    StaffResetNotice,
    StaffRole,
    StaffSession,
    StaffUser,
    utc_now,
)
from portal.models.staff import MAX_DISPLAY_NAME_LENGTH, MAX_EMAIL_LENGTH
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import STAFF_TOTP_SECRET_PURPOSE
from portal.services.staff.web_sessions import end_all_staff_sessions
from portal.translatable import translatable

MIN_PASSPHRASE_LENGTH = 12
# 24 random bytes: 32 characters of URL-safe base64, typed once by the new account's owner.
ONE_TIME_PASSPHRASE_BYTES = 24


class StaffDetailsError(ValueError):
    """Details for a new staff account that cannot be accepted; the message says why."""


class TotpCodeMismatchError(ValueError):
    """The code typed at enrolment is not the authenticator's code for the pending secret."""


@dataclass(frozen=True)
class NewStaffUser:
    """A freshly created account and its TOTP secret, to be shown to its owner once."""

    user: StaffUser
    totp_secret: bytes


@dataclass(frozen=True)
class NewStaffAccount:
    """An account made by an administrator and its one-time passphrase, shown once.

    The account has no second factor yet and must choose its own passphrase: its first sign-in
    goes through enrolment.
    """

    user: StaffUser
    one_time_passphrase: str


def normalise_email(email: str) -> str:
    """Staff e-mail addresses compare case-insensitively, so they are stored in lower case."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(character.isspace() for character in address):
        raise StaffDetailsError(translatable("an e-mail address looks like name@example.org"))
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
            translatable(
                "a staff passphrase has at least %(limit)s characters",
                limit=MIN_PASSPHRASE_LENGTH,
            )
        )
    totp_secret = crypto.new_totp_secret()
    user = _add_account(
        session,
        details=_checked_details(session, email, display_name, role),
        passphrase=passphrase,
        must_change_passphrase=must_change_passphrase,
        created_by=created_by,
    )
    user.totp_secret_sealed = crypto.seal_box(at_rest_key, totp_secret, STAFF_TOTP_SECRET_PURPOSE)
    return NewStaffUser(user=user, totp_secret=totp_secret)


def staff_totp_secret(user: StaffUser, at_rest_key: bytes) -> bytes:
    """Unseal a staff member's TOTP secret with the instance's at-rest key."""
    return crypto.open_box(at_rest_key, user.totp_secret_sealed, STAFF_TOTP_SECRET_PURPOSE)


def staff_accounts(session: Session) -> list[StaffUser]:
    """Every staff account, by name, as the administration pages list them."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.display_name, StaffUser.id)))


def staff_by_email(session: Session, email: str) -> StaffUser | None:
    """The account with this e-mail address (compared case-insensitively), if any."""
    address = email.strip().lower()
    if not address:
        return None
    return session.scalars(select(StaffUser).where(StaffUser.email == address)).first()


def create_staff_account(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: StaffRole,
    created_by: StaffUser | None,
) -> NewStaffAccount:
    """Create an account with a random one-time passphrase and no second factor yet.

    The personal key pair is wrapped under the one-time passphrase; at the first sign-in the
    person chooses their own passphrase (which re-wraps it) and enrols TOTP.
    """
    details = _checked_details(session, email, display_name, role)
    one_time = crypto.random_token(ONE_TIME_PASSPHRASE_BYTES)
    user = _add_account(
        session,
        details=details,
        passphrase=one_time,
        must_change_passphrase=True,
        created_by=created_by,
    )
    return NewStaffAccount(user=user, one_time_passphrase=one_time)


@dataclass(frozen=True)
class _AccountDetails:
    email: str
    display_name: str
    role: StaffRole


def _checked_details(
    session: Session, email: str, display_name: str, role: StaffRole | str
) -> _AccountDetails:
    """What every new account must have: a free, well-formed address, a name and a role."""
    address = normalise_email(email)
    name = display_name.strip()
    if not name:
        raise StaffDetailsError(translatable("a staff account needs a display name"))
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise StaffDetailsError(
            translatable(
                "a display name has at most %(limit)s characters", limit=MAX_DISPLAY_NAME_LENGTH
            )
        )
    if len(address) > MAX_EMAIL_LENGTH:
        raise StaffDetailsError(
            translatable(
                "an e-mail address has at most %(limit)s characters", limit=MAX_EMAIL_LENGTH
            )
        )
    try:
        checked_role = StaffRole(role)
    except ValueError:
        raise StaffDetailsError(translatable("choose one of the staff roles")) from None

    if staff_by_email(session, address) is not None:
        raise StaffDetailsError(
            translatable("a staff account with this e-mail address already exists")
        )
    return _AccountDetails(email=address, display_name=name, role=checked_role)


def _add_account(
    session: Session,
    *,
    details: _AccountDetails,
    passphrase: str,
    must_change_passphrase: bool,
    created_by: StaffUser | None,
) -> StaffUser:
    """Store a new active account with a new personal key pair locked by ``passphrase``."""
    user = StaffUser(
        email=details.email,
        display_name=details.display_name,
        role=details.role,
        totp_secret_sealed=None,
        last_totp_step=None,
        must_change_passphrase=must_change_passphrase,
        active=True,
    )
    _lock_under_passphrase(user, crypto.generate_private_key(), passphrase)
    session.add(user)
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_CREATED,
        object_type="staff_user",
        object_id=user.id,
        actor=created_by,
        details={"role": str(details.role)},
    )
    return user


def _lock_under_passphrase(
    user: StaffUser, personal_key: crypto.PrivateKey, passphrase: str
) -> None:
    """Make ``passphrase`` the one that signs ``user`` in and unwraps ``personal_key``.

    Both jobs at once, so that the login hash and the key wrap can never belong to two
    different passphrases (two Argon2 derivations, each with its own salt).
    """
    user.login_hash = crypto.hash_password(passphrase)
    user.personal_public_key = crypto.public_key_bytes(personal_key)
    user.personal_private_key_wrapped = crypto.wrap_private_key(personal_key, passphrase)


def reset_staff_account(
    session: Session,
    user: StaffUser,
    *,
    reset_by: StaffUser | None,
    requested_by: StaffUser | None = None,
) -> str:
    """Give ``user`` a new one-time passphrase and a new personal key; the passphrase.

    The old personal key cannot be unwrapped without the old passphrase, so it is replaced, and
    every desk key grant sealed to it is deleted: the person keeps their desk memberships but
    opens nothing until a desk member (or the recovery key) grants each desk again, after
    confirming the new key's fingerprint with them. The second factor is cleared (enrolled again
    at the next sign-in) and every session ended.

    On the web a reset is carried out only when a second administrator approves it
    (``portal.services.staff.resets``): ``requested_by`` asked, ``reset_by`` approved. From the
    command line both are ``None`` (an operator). Either way the owner finds a notice saying when
    and by whom at their next sign-in, until they acknowledge it.
    """
    one_time = crypto.random_token(ONE_TIME_PASSPHRASE_BYTES)
    _lock_under_passphrase(user, crypto.generate_private_key(), one_time)
    user.totp_secret_sealed = None
    user.last_totp_step = None
    user.must_change_passphrase = True
    removed = session.execute(
        delete(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == user.id)
    ).rowcount
    ended = end_all_staff_sessions(session, user)
    session.execute(delete(StaffResetNotice).where(StaffResetNotice.staff_user_id == user.id))
    session.add(
        StaffResetNotice(
            staff_user_id=user.id,
            reset_at=utc_now(),
            requested_by_id=None if requested_by is None else requested_by.id,
            approved_by_id=None if reset_by is None else reset_by.id,
        )
    )
    session.flush()
    by: dict[str, str | int] = (
        {"by": "operator"} if reset_by is None else {"approved_by": reset_by.id}
    )
    if requested_by is not None:
        by["requested_by"] = requested_by.id
    record_event(
        session,
        action=AuditAction.STAFF_PASSPHRASE_RESET,
        object_type="staff_user",
        object_id=user.id,
        actor=reset_by,
        details={"grants_removed": removed or 0, "sessions_ended": ended, **by},
    )
    return one_time


def set_staff_active(
    session: Session, user: StaffUser, active: bool, *, actor: StaffUser | None
) -> None:
    """Deactivate (ending every session) or reactivate an account.

    The last active administrator cannot be deactivated: nobody could manage accounts from the
    web any more. Asking for the state an account is already in changes nothing and records
    nothing.
    """
    if user.active == active:
        return
    if not active and user.role == StaffRole.ADMINISTRATOR:
        others = session.scalar(
            select(func.count())
            .select_from(StaffUser)
            .where(
                StaffUser.role == StaffRole.ADMINISTRATOR,
                StaffUser.active.is_(True),
                StaffUser.id != user.id,
            )
        )
        if not others:
            raise StaffDetailsError(
                translatable("the last active administrator cannot be deactivated")
            )
    user.active = active
    details: dict[str, int] = {}
    if not active:
        details["sessions_ended"] = end_all_staff_sessions(session, user)
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_REACTIVATED if active else AuditAction.STAFF_DEACTIVATED,
        object_type="staff_user",
        object_id=user.id,
        actor=actor,
        details=details,
    )


def set_staff_passphrase(
    session: Session,
    user: StaffUser,
    personal_key: crypto.PrivateKey,
    new_passphrase: str,
    *,
    changed_by: StaffUser | None,
) -> None:
    """Re-wrap the personal key under ``new_passphrase`` and replace the login hash.

    The caller has checked the passphrase policy (``portal.services.staff.passphrase_policy``) and,
    for a change made from the account page, the current passphrase. ``personal_key`` comes
    from the signed-in session: the key pair stays the same, so every desk key grant still
    opens. Two Argon2 derivations; run inside the Argon2 gate.
    """
    if crypto.public_key_bytes(personal_key) != bytes(user.personal_public_key):
        raise StaffDetailsError(translatable("this personal key is not the account's"))
    first_choice = user.must_change_passphrase
    _lock_under_passphrase(user, personal_key, new_passphrase)
    user.must_change_passphrase = False
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_PASSPHRASE_CHANGED,
        object_type="staff_user",
        object_id=user.id,
        actor=changed_by,
        details={"at_enrolment": first_choice},
    )


def end_other_staff_sessions(session: Session, user: StaffUser, *, keep: str) -> int:
    """End every session of ``user`` but the one whose reference is ``keep``; how many."""
    result = session.execute(
        delete(StaffSession).where(
            StaffSession.staff_user_id == user.id, StaffSession.reference != keep
        )
    )
    return result.rowcount or 0


def end_all_sessions_audited(session: Session, user: StaffUser, *, actor: StaffUser | None) -> int:
    """End every session of ``user`` and record who did it; the number ended.

    The one place for "sign this person out everywhere", whether they ask themselves (``actor``
    is ``user``), an administrator does (another ``actor``) or an operator at the command line
    (no ``actor``): the audit event says which, so the three can be told apart afterwards.
    """
    ended = end_all_staff_sessions(session, user)
    if actor is None:
        by = "operator"
    elif actor.id == user.id:
        by = "self"
    else:
        by = "administrator"
    record_event(
        session,
        action=AuditAction.STAFF_SESSIONS_ENDED,
        object_type="staff_user",
        object_id=user.id,
        actor=actor,
        details={"sessions_ended": ended, "by": by},
    )
    return ended


def confirm_totp_enrolment(
    session: Session,
    user: StaffUser,
    secret: bytes,
    code: str,
    *,
    now: dt.datetime,
    at_rest_key: bytes,
) -> None:
    """Store ``secret`` as ``user``'s second factor once ``code`` shows the app has it.

    The secret is sealed under the instance's at-rest key (never stored in clear), the code's
    time step is remembered so that the same code cannot also sign in, and the enrolment is
    audited. ``TotpCodeMismatchError`` if the code does not match;
    then nothing is changed.
    """
    step = crypto.verify_totp(secret, code, now.timestamp())
    if step is None:
        raise TotpCodeMismatchError("the code does not match the pending secret")
    user.totp_secret_sealed = crypto.seal_box(at_rest_key, secret, STAFF_TOTP_SECRET_PURPOSE)
    user.last_totp_step = step
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_TOTP_ENROLLED,
        object_type="staff_user",
        object_id=user.id,
        actor=user,
    )
