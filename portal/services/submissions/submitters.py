"""Submitters: pseudonyms behind a codename, how they are registered and how they sign in.

A submitter is a row holding ``crypto.lookup_hash(pepper, login secret)`` and the codename's
public key; nothing else about them exists, and nothing points at the row: their submissions are
found through owner tags (``owner_tags``), whose key every sign-in is handed. With JavaScript the
browser makes the codename, derives the login secret and key pair
(``crypto.derive_codename_secrets`` in its module) and hands the server only the login secret and
the public key: the server never sees the codename.
Without JavaScript the server derives both for the length of one call and forgets them.

Signing in computes the lookup hash for every attempt, known codename or not, and finds the row
through the unique index on it, so an unknown codename costs the same work as a known one and
the only answer a wrong one gets is one generic refusal.

**Limits that a flood cannot turn into a lock-out.** No IP address is kept, so nothing tells one
client from another; a limit on everyone's failed attempts is a limit anyone can fill for
everyone. There is none. What is limited instead is what costs the server, and guessing stays
hopeless because of what a codename is: 88 random bits, so that even a million registered
codenames and a thousand guesses a second (more than the server answers) for a year leave about
one chance in ten billion.

- **Without JavaScript** the server derives the typed codename (600 000 PBKDF2 rounds, a few
  tenths of a second of a processor). Cheap checks come first: a text that is not eight words of
  one of our word lists is refused at once, with the generic refusal and nothing counted -- that
  it was malformed is all its timing says, and that depends only on the public word lists. Each
  derivation's time then counts in a budget shared by every worker, the ``codename-work``
  bucket (:class:`DerivationBudget`: three seconds of deriving, then half a second every
  second -- a quarter of a two-core server, two or three codenames a second), a second of it
  reserved before each derivation starts and the real time settled after; while it is
  spent the answer is "busy, try again in a moment" (``work_gate.BusyError``, 503 with
  Retry-After) before any derivation, so a flood costs the server a database read per request
  and every page but this one keeps its speed. Counted in seconds, the budget lets fewer in when
  the processors are slow or busy. A flood of well-formed wrong codenames does share it with the
  people it competes with: each of their attempts has a chance in proportion, and the page tells
  them to try again shortly; once the flood stops they are in at the next try. The budget is also
  the most guesses the server can be made to check without JavaScript: a few hundred thousand a
  day.
- **With JavaScript** the browser derives the login secret and the server's part is one keyed
  hash and one lookup, so a wrong one is not worth refusing anyone for. While many fail, the
  browser is asked for a proof of work first (``portal.services.proof_of_work``): a flood pays
  for its load, people pay a few seconds of their browser's time, and nobody is turned away.

Every wrong codename or login secret, on either path, adds one to the ``global`` bucket
(:class:`SignInLimit`): not a limit any more but the gauge of pressure that sets the proof of
work's difficulty. It drains at ``leak_per_second`` and never holds more than its capacity.

A browser that registers a new pseudonym sends a login secret it derived, so registration is a
guessing oracle too: someone who derives login secrets from guessed codenames could ask, through
registration, which of them are taken. :func:`browser_registration` therefore goes through
the same proof of work as a sign-in, and a login secret that is already registered is counted as
a failure and answered with the one refusal a wrong codename gets (``SignInRefusedError``), never
"already registered". The no-JavaScript path, where the server makes the codename and no guess
can be asked, is not limited.

Sign-in refusals are counted in the caller's transaction: the caller commits even when a
sign-in (or a browser's registration) is refused, or the failure is not counted.
"""

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.db import RowValues, insert_unless_taken
from portal.models import Submitter
from portal.services.leaky_bucket import (
    RESERVED_SECONDS,
    BucketRead,
    LeakyBucket,
    bucket_level,
    count,
    reserve_work,
)
from portal.services.proof_of_work import ChallengeGate, Proof
from portal.services.submissions.owner_tags import tag_untagged
from portal.services.work_gate import BusyError
from portal.translatable import translatable

LOGIN_SECRET_SIZE = 32
GLOBAL_BUCKET = "global"
WORK_BUCKET = "codename-work"


class SubmitterError(ValueError):
    """A refusal a submitter may be shown as it is."""


class RegistrationRefusedError(SubmitterError):
    """A new pseudonym that cannot be registered."""


class CodenameTakenError(RegistrationRefusedError):
    """The login secret is already registered (never told to a browser: see the docstring)."""


class SignInRefusedError(SubmitterError):
    """The one answer to any codename that opens no inbox."""

    def __init__(self) -> None:
        super().__init__(
            translatable("This codename does not open an inbox. Check each word and try again.")
        )


@dataclass(frozen=True)
class SignInLimit(LeakyBucket):
    """The submitters' failure gauge, with its default size and drain."""

    capacity: float = 100.0
    leak_per_second: float = 0.2


# The failure gauge as columns of another read (``submissions.destination``), at its default size.
SIGN_IN_GAUGE = BucketRead.of(GLOBAL_BUCKET, SignInLimit())
# What a browser's registration inserts into.
_SUBMITTERS = Submitter.__table__


def bucket_families(limit: SignInLimit = SignInLimit()) -> tuple[tuple[str, LeakyBucket], ...]:
    """The submitters' sign-in bucket with its size (for the periodic clean-up of drained rows)."""
    return ((GLOBAL_BUCKET, limit),)


@dataclass(frozen=True)
class DerivationBudget(LeakyBucket):
    """The seconds all workers together may spend deriving typed codenames (module docstring):
    three, then half a second every second."""

    capacity: float = 3.0
    leak_per_second: float = 0.5


@dataclass(frozen=True)
class NewCodename:
    """A codename made on the server (no JavaScript), to be shown to its owner once."""

    codename: str
    submitter: Submitter
    secrets: crypto.CodenameSecrets


def register_submitter(
    session: Session, pepper: bytes, *, login_secret: bytes, public_key: bytes, today: dt.date
) -> Submitter:
    """Register the pseudonym whose login secret and public key a browser derived, and return
    its row, in ``session``."""
    submitter = Submitter(**_registration(pepper, login_secret, public_key, today))
    # The unique lookup hash is the check: one insert that stores nothing if it is taken.
    if not insert_unless_taken(session, submitter):
        raise CodenameTakenError(
            translatable("this codename is already registered; sign in with it")
        )
    return submitter


@dataclass(frozen=True)
class BrowserRegistration:
    """A pseudonym a browser derived, let through the proof of work and well formed, whose row
    (``row``) is stored with its first submission, by the one insert that stores them both on
    PostgreSQL (``topic_rows.insert_values_with_topic_rows``): a request's statements cost the
    server's process more than its checks. The submission is stored only if the row is."""

    row: RowValues
    limit: SignInLimit
    now: dt.datetime

    def refuse(self, session: Session) -> NoReturn:
        """The login secret is already registered: count it as a failed sign-in and refuse it
        as a wrong codename is refused (module docstring)."""
        count(session, [(GLOBAL_BUCKET, self.limit)], self.now)
        raise SignInRefusedError()


def browser_registration(
    session: Session,
    pepper: bytes,
    *,
    login_secret: bytes,
    public_key: bytes,
    now: dt.datetime,
    challenges: ChallengeGate,
    proof: Proof | None,
    limit: SignInLimit = SignInLimit(),
    gauge: float | None = None,
) -> BrowserRegistration:
    """The registration of a pseudonym a browser derived, under the proof of work (module
    docstring), for its first submission to store.

    ``ChallengeRequiredError`` while one is asked and ``proof`` does not answer it;
    ``RegistrationRefusedError`` for a malformed login secret or key. A login secret that is
    already registered is found when the row is inserted, and refused then
    (:meth:`BrowserRegistration.refuse`). ``gauge`` is the failure gauge's level when the caller
    read it in this transaction along with its other reads (:data:`SIGN_IN_GAUGE`); it is read
    here otherwise.
    """
    challenges.require(_gauge(session, limit, now, gauge), proof, login_secret, now)
    row = _registration(pepper, login_secret, public_key, now.date())
    return BrowserRegistration(RowValues(_SUBMITTERS, row), limit, now)


def _registration(
    pepper: bytes, login_secret: bytes, public_key: bytes, today: dt.date
) -> dict[str, Any]:
    """The values of a new submitter's row (by column), once its login secret and public key
    are shown to be well formed; ``RegistrationRefusedError`` otherwise."""
    if len(login_secret) != LOGIN_SECRET_SIZE:
        raise RegistrationRefusedError(
            translatable("a login secret must be %(size)s bytes", size=LOGIN_SECRET_SIZE)
        )
    try:
        crypto.load_public_key(public_key)
    except crypto.CryptoError:
        raise RegistrationRefusedError(
            translatable("the public key is not an X25519 public key")
        ) from None
    return {
        "lookup_hash": crypto.lookup_hash(pepper, login_secret),
        "public_key": bytes(public_key),
        "created_on": today,
    }


def register_new_codename(
    session: Session, pepper: bytes, *, language: str, today: dt.date
) -> NewCodename:
    """Make a codename in ``language`` on the server and register it (no-JavaScript path)."""
    codename = crypto.generate_codename(language)
    secrets = crypto.derive_codename_secrets(codename)
    submitter = register_submitter(
        session,
        pepper,
        login_secret=secrets.login_secret,
        public_key=secrets.public_key_bytes(),
        today=today,
    )
    return NewCodename(codename=codename, submitter=submitter, secrets=secrets)


def sign_in(
    session: Session,
    pepper: bytes,
    login_secret: bytes,
    *,
    owner_tag_key: bytes,
    now: dt.datetime,
    limit: SignInLimit = SignInLimit(),
) -> Submitter:
    """The submitter whose login secret this is; ``SignInRefusedError``, counted, for any other.

    ``owner_tag_key`` is the codename's tag key, held for this sign-in: rows stored before owner
    tags that name this submitter are tagged with it now (``owner_tags.tag_untagged``). Nothing
    about it is looked at before the submitter is found, so a refusal stays the same.
    """
    digest = crypto.lookup_hash(pepper, login_secret)
    submitter = session.scalars(select(Submitter).where(Submitter.lookup_hash == digest)).first()
    if submitter is None:
        count(session, [(GLOBAL_BUCKET, limit)], now)
        raise SignInRefusedError()
    tag_untagged(session, submitter, owner_tag_key)
    return submitter


def sign_in_from_browser(
    session: Session,
    pepper: bytes,
    login_secret: bytes,
    *,
    owner_tag_key: bytes,
    now: dt.datetime,
    challenges: ChallengeGate,
    proof: Proof | None,
    limit: SignInLimit = SignInLimit(),
    gauge: float | None = None,
) -> Submitter:
    """:func:`sign_in` with a login secret a browser derived, after the proof of work it may be
    asked for (``ChallengeRequiredError`` with a fresh challenge until it answers one);
    ``gauge`` as for :func:`browser_registration`."""
    challenges.require(_gauge(session, limit, now, gauge), proof, login_secret, now)
    return sign_in(session, pepper, login_secret, owner_tag_key=owner_tag_key, now=now, limit=limit)


def _gauge(session: Session, limit: SignInLimit, now: dt.datetime, read: float | None) -> float:
    """The failure gauge's level: ``read`` when the caller read it, else read now."""
    return bucket_level(session, GLOBAL_BUCKET, limit, now) if read is None else read


def sign_in_with_codename(
    session: Session,
    pepper: bytes,
    codename: str,
    *,
    now: dt.datetime,
    limit: SignInLimit = SignInLimit(),
    budget: DerivationBudget = DerivationBudget(),
) -> tuple[Submitter, crypto.CodenameSecrets]:
    """Sign in with a typed codename (no-JavaScript path); the secrets serve this call only.

    A malformed codename is refused before anything else, uncounted; then the derivation budget
    is read, so that while it is spent a flood is answered ``BusyError`` without burning the
    server's processors, and a second of it is reserved before the derivation, committed at once
    (``leaky_bucket.reserve_work``), so that requests arriving together start no more
    derivations than it has room for. The seconds the derivation took are settled once it is
    done, the budget's row locked only from then to the end of the transaction.
    """
    try:
        crypto.normalise_codename(codename)
    except crypto.CodenameError:
        raise SignInRefusedError() from None
    level = bucket_level(session, WORK_BUCKET, budget, now)
    if not budget.fits_one_more(level):
        raise BusyError(budget.retry_after(level))
    reserve_work(session, WORK_BUCKET, budget, now)
    started = time.monotonic()
    secrets = crypto.derive_codename_secrets(codename)
    # Locked before the failure gauge, as every caller locks them: no deadlock between workers.
    seconds = time.monotonic() - started
    count(session, [(WORK_BUCKET, budget)], now, amount=seconds - RESERVED_SECONDS)
    submitter = sign_in(
        session,
        pepper,
        secrets.login_secret,
        owner_tag_key=crypto.owner_tag_key(secrets.key_seed),
        now=now,
        limit=limit,
    )
    return submitter, secrets
