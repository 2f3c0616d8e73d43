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

Failed attempts are limited without any IP address, by one leaky bucket shared by all workers
(the rule of ``portal.services.leaky_bucket``): each failure adds one, the level drains at
``SignInLimit.leak_per_second``, and while one more failure would overflow ``capacity`` every
sign-in is answered "try again later" before any lookup or key derivation is done. Why global and
not per client or per account: without an address there is no client to key on, and a failed
attempt names no account (a wrong codename hashes to a random value), so buckets per lookup-hash
prefix would only split the same global limit into smaller pieces. The defaults allow about
17,000 failures a day; against an 88-bit codename that makes online guessing hopeless. The limit
this has: someone who floods the portal with wrong codenames can make sign-in answer "try again
later" for everybody until the flood stops and the bucket drains (at most ``capacity /
leak_per_second`` seconds after it); submitting without signing in keeps working. That trade -- an
outage that can be waited out rather than a guess that can succeed -- is deliberate.

A browser that registers a new pseudonym sends a login secret it derived, so registration is a
guessing oracle too: someone who derives login secrets from guessed codenames could ask, through
registration, which of them are taken. :func:`register_browser_submitter` therefore shares the
sign-in limit: it is refused while the bucket is full, and a login secret that is already
registered is counted as a failure and answered with the one refusal a wrong codename gets
(``SignInRefusedError``), never "already registered". With JavaScript, a flood of wrong codenames
can so delay registering a new codename too; the no-JavaScript path, where the server makes the
codename and no guess can be asked, is not limited.

Sign-in refusals are counted in the caller's transaction: the caller commits even when a
sign-in (or a browser's registration) is refused, or the failure is not counted.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.db import insert_unless_taken
from portal.models import Submitter
from portal.services.leaky_bucket import LeakyBucket, count_failure, has_room, locked_bucket
from portal.services.submissions.owner_tags import tag_untagged

LOGIN_SECRET_SIZE = 32
GLOBAL_BUCKET = "global"
# A valid codename whose derivation stands in for a malformed one, so that a typing error takes
# as long to refuse as a wrong codename.
_TIMING_STAND_IN = crypto.generate_codename("en")


class SubmitterError(ValueError):
    """A refusal a submitter may be shown as it is."""


class RegistrationRefusedError(SubmitterError):
    """A new pseudonym that cannot be registered."""


class CodenameTakenError(RegistrationRefusedError):
    """The login secret is already registered (never told to a browser: see the docstring)."""


class SignInRefusedError(SubmitterError):
    """The one answer to any codename that opens no inbox."""

    def __init__(self) -> None:
        super().__init__("This codename does not open an inbox. Check each word and try again.")


class SignInThrottledError(SubmitterError):
    """Too many failed sign-ins lately, from anyone; nothing was tried."""

    def __init__(self) -> None:
        super().__init__("Too many attempts to sign in right now. Please try again later.")


@dataclass(frozen=True)
class SignInLimit(LeakyBucket):
    """The submitters' bucket, with its default size and drain."""

    capacity: float = 100.0
    leak_per_second: float = 0.2


def bucket_families(limit: SignInLimit = SignInLimit()) -> tuple[tuple[str, LeakyBucket], ...]:
    """The submitters' sign-in bucket with its size (for the periodic clean-up of drained rows)."""
    return ((GLOBAL_BUCKET, limit),)


@dataclass(frozen=True)
class NewCodename:
    """A codename made on the server (no JavaScript), to be shown to its owner once."""

    codename: str
    submitter: Submitter
    secrets: crypto.CodenameSecrets


def register_submitter(
    session: Session, pepper: bytes, *, login_secret: bytes, public_key: bytes, today: dt.date
) -> Submitter:
    """Register the pseudonym whose login secret and public key a browser derived."""
    if len(login_secret) != LOGIN_SECRET_SIZE:
        raise RegistrationRefusedError(f"a login secret is {LOGIN_SECRET_SIZE} bytes")
    try:
        crypto.load_public_key(public_key)
    except crypto.CryptoError:
        raise RegistrationRefusedError("the public key is not an X25519 public key") from None
    digest = crypto.lookup_hash(pepper, login_secret)
    submitter = Submitter(lookup_hash=digest, public_key=bytes(public_key), created_on=today)
    # The unique lookup hash is the check: one insert that stores nothing if it is taken.
    if not insert_unless_taken(session, submitter):
        raise CodenameTakenError("this codename is already registered; sign in with it")
    return submitter


def register_browser_submitter(
    session: Session,
    pepper: bytes,
    *,
    login_secret: bytes,
    public_key: bytes,
    now: dt.datetime,
    limit: SignInLimit = SignInLimit(),
) -> Submitter:
    """Register a pseudonym a browser derived, under the sign-in limit (module docstring).

    ``SignInThrottledError`` while the limit is full; ``SignInRefusedError``, counted, for a login
    secret that is already registered; ``RegistrationRefusedError`` for a malformed one.
    """
    if not has_room(session, GLOBAL_BUCKET, limit, now):
        raise SignInThrottledError()
    try:
        return register_submitter(
            session, pepper, login_secret=login_secret, public_key=public_key, today=now.date()
        )
    except CodenameTakenError:
        count_failure(session, [(GLOBAL_BUCKET, limit)], now)
        raise SignInRefusedError() from None


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
    """The submitter whose login secret this is; ``SignInRefusedError`` for any other value.

    ``owner_tag_key`` is the codename's tag key, held for this sign-in: rows stored before owner
    tags that name this submitter are tagged with it now (``owner_tags.tag_untagged``). Nothing
    about it is looked at before the submitter is found, so a refusal stays the same.
    """
    bucket = locked_bucket(session, GLOBAL_BUCKET, limit, now)
    if not limit.fits_one_more(bucket.level):
        raise SignInThrottledError()
    digest = crypto.lookup_hash(pepper, login_secret)
    submitter = session.scalars(select(Submitter).where(Submitter.lookup_hash == digest)).first()
    if submitter is None:
        bucket.level += 1
        session.flush()
        raise SignInRefusedError()
    tag_untagged(session, submitter, owner_tag_key)
    return submitter


def sign_in_with_codename(
    session: Session,
    pepper: bytes,
    codename: str,
    *,
    now: dt.datetime,
    limit: SignInLimit = SignInLimit(),
) -> tuple[Submitter, crypto.CodenameSecrets]:
    """Sign in with a typed codename (no-JavaScript path); the secrets serve this call only.

    The throttle is looked at before the slow derivation, so a flood of attempts is refused
    without burning the server's processors; the bucket is locked only for the lookup itself.
    """
    if not has_room(session, GLOBAL_BUCKET, limit, now):
        raise SignInThrottledError()
    try:
        secrets = crypto.derive_codename_secrets(codename)
    except crypto.CodenameError:
        crypto.derive_codename_secrets(_TIMING_STAND_IN)
        count_failure(session, [(GLOBAL_BUCKET, limit)], now)
        raise SignInRefusedError() from None
    submitter = sign_in(
        session,
        pepper,
        secrets.login_secret,
        owner_tag_key=crypto.owner_tag_key(secrets.key_seed),
        now=now,
        limit=limit,
    )
    return submitter, secrets
