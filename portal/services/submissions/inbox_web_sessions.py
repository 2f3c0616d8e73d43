"""Inbox sessions: a server-held key without JavaScript, a browser-held key with it.

Signing in with a codename without JavaScript derives the submitter's secrets on the server for
that one request (``submitters.sign_in_with_codename``). So that the person can then move between
inbox pages without retyping the codename, and without the server keeping anything that decrypts
on its own, a session is split in two halves that are useless apart:

- the **cookie half** (:class:`SessionTicket`): a random reference and a random 32-byte session
  key, kept only in the person's signed Flask session cookie. Never the codename, the login
  secret or the private key.
- the **database half** (a ``SubmitterSession`` row): the submitter's private key and owner tag
  key (``owner_tags``) sealed with ``crypto.seal_box`` under the session key for
  ``contexts.SUBMITTER_SESSION_PURPOSE``, with the reference, when the session began, when it was
  last used and when it ends regardless of use.

Each request opens the box with the cookie's key, uses the private key for that request only
(the returned :class:`SignedInSubmitter` lives as long as the request) and forgets it. A seized
database alone opens nothing (the box key is only in the cookie); a seized cookie alone opens
nothing (the box is only in the database). Both together, while the session lasts, open what the
codename opens; that is what "signed in" means.

The box names no submitter: the tag key is what finds the submitter's submissions, and the
server forgets it when the session ends. So a seized database shows when *someone* had an inbox
open, never whose inbox: times of day are exactly what could be matched against a network log
(the same reason submissions keep only the day they arrived). A box of the layout used before
owner tags (it held the submitter's id) is refused like an ended session.

A session ends at sign-out (its row is deleted), after :attr:`SessionLifetime.idle` without a
request (the same span as the cookie's own idle limit, ``portal.security.SESSION_IDLE_LIFETIME``),
or :attr:`SessionLifetime.absolute` after it began however busy it is, which bounds what a copied
cookie can do. An ended session is refused and its row deleted when its cookie comes back; every
new sign-in also deletes every ended row, and the periodic clean-up (``portal.services.
housekeeping``, also ``portal purge``) deletes the ended rows every few minutes, so rows of people
who never came back do not linger even when nobody signs in.

With JavaScript there is no private key for the server to hold: the browser derives the secrets
from the typed codename, sends only the login secret, and keeps the key seed in the tab's
``sessionStorage`` (``static/js/inbox-key.mjs``). It sends the owner tag key it derives with
the login secret, and :func:`start_browser_held_session` seals only that key, and
:class:`SignedInSubmitter` says so (``private_key_bytes`` is ``None``): such a session can list,
fetch envelopes, store envelopes the browser sealed and delete, but never open or seal plaintext
on the server. The two kinds share the table, the cookie and the lifetimes; the box's length alone
tells them apart, which reveals only which path was used.

Every function works in the caller's transaction; the caller commits.
"""

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from portal.models import SubmitterSession
from portal.services.contexts import SUBMITTER_SESSION_PURPOSE
from portal.services.submissions.owner_tags import OWNER_TAG_KEY_SIZE
from portal.services.web_session_tickets import SessionLifetime, SessionTicket

_PRIVATE_KEY_SIZE = 32


class SessionEndedError(LookupError):
    """The cookie names no live inbox session: unknown, ended, or not openable with its key."""


class KeyHeldByBrowserError(LookupError):
    """The session was opened with JavaScript: its private key exists only in the browser."""


@dataclass(frozen=True)
class SignedInSubmitter:
    """The owner tag key of one request's submitter and, without JavaScript, their private key,
    for that request only."""

    owner_tag_key: bytes = field(repr=False)
    private_key_bytes: bytes | None = field(repr=False)

    @property
    def key_held_by_browser(self) -> bool:
        """Whether the browser holds the key, so everything is opened and sealed there."""
        return self.private_key_bytes is None

    def private_key(self) -> crypto.PrivateKey:
        """The submitter's X25519 private key (what ``inbox`` opens and seals with).

        ``KeyHeldByBrowserError`` for a session opened with JavaScript, which has none here.
        """
        if self.private_key_bytes is None:
            raise KeyHeldByBrowserError()
        return crypto.load_private_key(self.private_key_bytes)


def start_session(
    session: Session,
    secrets: crypto.CodenameSecrets,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = SessionLifetime(),
) -> SessionTicket:
    """Open an inbox session for a submitter who just signed in with their codename."""
    private_key = crypto.private_key_bytes(secrets.private_key())
    tag_key = crypto.owner_tag_key(secrets.key_seed)
    return _open_session(session, private_key + tag_key, now=now, lifetime=lifetime)


def start_browser_held_session(
    session: Session,
    owner_tag_key: bytes,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = SessionLifetime(),
) -> SessionTicket:
    """Open an inbox session for a submitter whose browser signed in and keeps the key; it sent
    ``owner_tag_key`` (32 bytes) with the login secret."""
    if len(owner_tag_key) != OWNER_TAG_KEY_SIZE:
        raise ValueError(f"an owner tag key is {OWNER_TAG_KEY_SIZE} bytes")
    return _open_session(session, bytes(owner_tag_key), now=now, lifetime=lifetime)


def _open_session(
    session: Session, plaintext: bytes, *, now: dt.datetime, lifetime: SessionLifetime
) -> SessionTicket:
    """Seal ``plaintext`` (private key and tag key, or tag key alone) in a new row under a new
    cookie key."""
    delete_ended_sessions(session, now=now, lifetime=lifetime)
    ticket = SessionTicket.new()
    row = SubmitterSession(
        reference=ticket.reference,
        sealed_key=crypto.seal_box(ticket.key, plaintext, SUBMITTER_SESSION_PURPOSE),
        **lifetime.opening_times(now),
    )
    session.add(row)
    session.flush()
    return ticket


def resume_session(
    session: Session,
    ticket: SessionTicket,
    *,
    now: dt.datetime,
    lifetime: SessionLifetime = SessionLifetime(),
) -> SignedInSubmitter:
    """The signed-in submitter of a live session; ``SessionEndedError`` for anything else.

    An ended session's row is deleted here. A box that does not open with the ticket's key is
    refused but its row kept: the cookie that came with it may be a forgery, and the real
    owner's session must survive it.
    """
    row = session.scalars(
        select(SubmitterSession).where(SubmitterSession.reference == ticket.reference)
    ).first()
    if row is None:
        raise SessionEndedError()
    if lifetime.has_ended(expires_at=row.expires_at, last_used_at=row.last_used_at, now=now):
        session.delete(row)
        session.flush()
        raise SessionEndedError()
    try:
        plaintext = crypto.open_box(ticket.key, row.sealed_key, SUBMITTER_SESSION_PURPOSE)
    except crypto.DecryptionError:
        raise SessionEndedError() from None
    if len(plaintext) not in (OWNER_TAG_KEY_SIZE, _PRIVATE_KEY_SIZE + OWNER_TAG_KEY_SIZE):
        raise SessionEndedError()  # a box of the layout before owner tags
    row.last_used_at = max(now, row.last_used_at)
    session.flush()
    tag_key_at = len(plaintext) - OWNER_TAG_KEY_SIZE
    return SignedInSubmitter(
        owner_tag_key=plaintext[tag_key_at:], private_key_bytes=plaintext[:tag_key_at] or None
    )


def end_session(session: Session, ticket: SessionTicket) -> None:
    """Sign out: delete the session's row, so that its cookie opens nothing any more."""
    session.execute(delete(SubmitterSession).where(SubmitterSession.reference == ticket.reference))


def delete_ended_sessions(
    session: Session, *, now: dt.datetime, lifetime: SessionLifetime = SessionLifetime()
) -> None:
    """Delete every session that has ended, whoever's it was."""
    session.execute(
        delete(SubmitterSession).where(
            lifetime.ended(SubmitterSession.expires_at, SubmitterSession.last_used_at, now)
        )
    )
