"""Staff web sessions: the personal key re-wrapped under a key that lives only in the cookie.

At sign-in the passphrase unwraps the personal private key (``crypto.unwrap_private_key``) for
the length of that one request. So that the person can then work without typing the passphrase
on every page, and without the server keeping anything that decrypts on its own, the key is
re-sealed (``crypto.seal_box``) under a random per-session key:

- the **cookie half** (:class:`~portal.services.web_session_tickets.SessionTicket`): the session's
  random reference and key, kept only in the signed Flask session cookie;
- the **database half** (a ``StaffSession`` row): the personal private key sealed under that key
  for the account's purpose (``contexts.staff_session_purpose``), with the account it belongs to
  and when the session began, was last used and ends regardless of use.

Any worker process can serve any request, because everything needed is in the cookie and the
row. A seized database alone opens nothing; a seized cookie alone opens nothing. A session ends
at sign-out (its row is deleted), after :attr:`SessionLifetime.idle` without a request, after
:attr:`SessionLifetime.absolute` however busy it is, when the person signs out everywhere, and
when an administrator ends the person's sessions, resets their passphrase or deactivates them.

Every function works in the caller's transaction; the caller commits.
"""

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, not_, select
from sqlalchemy.orm import Session

import crypto
from portal.models import StaffSession, StaffUser
from portal.services.contexts import staff_session_purpose
from portal.services.web_session_tickets import SessionLifetime, SessionTicket

STAFF_SESSION_LIFETIME = SessionLifetime(
    idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=10)
)


class StaffSessionEndedError(LookupError):
    """The cookie names no live staff session: unknown, ended, or not openable with its key."""


@dataclass(frozen=True)
class SignedInStaff:
    """The staff member of one request and their personal private key, for that request only."""

    user: StaffUser
    session_reference: str
    personal_key_bytes: bytes = field(repr=False)

    def personal_key(self) -> crypto.PrivateKey:
        """The personal X25519 private key, which opens this person's desk key grants."""
        return crypto.load_private_key(self.personal_key_bytes)

    @property
    def enrolment_pending(self) -> bool:
        """Whether the account must still choose a passphrase or enrol a second factor; until
        then it may reach the enrolment pages and nothing else."""
        return self.user.must_change_passphrase or self.user.totp_secret_sealed is None


def start_staff_session(
    session: Session,
    user: StaffUser,
    personal_key: crypto.PrivateKey,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = STAFF_SESSION_LIFETIME,
) -> SessionTicket:
    """Open a session for ``user``, who has just proved their passphrase (and second factor)."""
    delete_ended_staff_sessions(session, now=now, lifetime=lifetime)
    ticket = SessionTicket.new()
    row = StaffSession(
        reference=ticket.reference,
        staff_user=user,
        sealed_key=crypto.seal_box(
            ticket.key, crypto.private_key_bytes(personal_key), staff_session_purpose(user.id)
        ),
        **lifetime.opening_times(now),
    )
    session.add(row)
    session.flush()
    return ticket


def resume_staff_session(
    session: Session,
    ticket: SessionTicket,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = STAFF_SESSION_LIFETIME,
) -> SignedInStaff:
    """The signed-in staff member of a live session; ``StaffSessionEndedError`` otherwise.

    A session of a deactivated account is ended here. A box that does not open with the ticket's
    key is refused but its row kept: the cookie may be a forgery, and the owner's session must
    survive it.
    """
    row = session.scalars(
        select(StaffSession).where(StaffSession.reference == ticket.reference)
    ).first()
    if row is None:
        raise StaffSessionEndedError()
    if (
        lifetime.has_ended(expires_at=row.expires_at, last_used_at=row.last_used_at, now=now)
        or not row.staff_user.active
    ):
        session.delete(row)
        session.flush()
        raise StaffSessionEndedError()
    try:
        personal_key = crypto.open_box(
            ticket.key, row.sealed_key, staff_session_purpose(row.staff_user.id)
        )
    except crypto.DecryptionError:
        raise StaffSessionEndedError() from None
    row.last_used_at = max(now, row.last_used_at)
    session.flush()
    return SignedInStaff(
        user=row.staff_user, session_reference=row.reference, personal_key_bytes=personal_key
    )


def end_staff_session(session: Session, reference: str) -> None:
    """Sign out: delete the session's row, so that its cookie opens nothing any more."""
    session.execute(delete(StaffSession).where(StaffSession.reference == reference))


def end_all_staff_sessions(session: Session, user: StaffUser) -> int:
    """End every session of ``user`` (sign out everywhere); the number ended."""
    result = session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))
    return result.rowcount or 0


def live_session_count(
    session: Session,
    user: StaffUser,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = STAFF_SESSION_LIFETIME,
) -> int:
    """How many sessions of ``user`` are still live, for the account and administration pages."""
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffSession)
            .where(
                StaffSession.staff_user_id == user.id,
                not_(lifetime.ended(StaffSession.expires_at, StaffSession.last_used_at, now)),
            )
        )
        or 0
    )


def delete_ended_staff_sessions(
    session: Session, *, now: dt.datetime, lifetime: SessionLifetime = STAFF_SESSION_LIFETIME
) -> None:
    """Delete every staff session that has ended, whoever's it was."""
    session.execute(
        delete(StaffSession).where(
            lifetime.ended(StaffSession.expires_at, StaffSession.last_used_at, now)
        )
    )
