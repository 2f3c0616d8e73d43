"""Staff sign-in: e-mail, passphrase and TOTP code in one form, with limits that store no address.

One call, :func:`sign_in_staff`, checks everything and either opens a staff session or raises
one of three refusals:

- :class:`StaffSignInRefusedError` -- the one answer to any wrong combination (unknown e-mail,
  wrong passphrase, deactivated account, missing, wrong or replayed code). Which of these it was
  goes only into the audit event's ``reason``.
- :class:`StaffSignInThrottledError` -- too many recent failures for this account or overall;
  nothing was tried, no Argon2 ran.
- :class:`Argon2BusyError` -- this worker process is already running as many Argon2 derivations
  as it may (:class:`Argon2Gate`); nothing was tried.

**Equal work for unknown e-mails.** An unknown (or deactivated) account costs one Argon2 login
hash check, against a stand-in hash with today's parameters, exactly as a wrong passphrase for a
known one does; only a correct passphrase goes on to the TOTP check and the second Argon2 (the
unwrap of the personal key). The TOTP code is looked at only after the passphrase was right, so
the answer's timing says nothing about the code.

**Limits, without any IP address.** Leaky buckets (the rule of ``portal.services.leaky_bucket``)
in rows of ``sign_in_throttles``, shared by every worker, named as docs/FORMATS.md, "Staff
sign-in buckets", specifies:

- ``staff-pass:<20 hex>`` per typed e-mail address: failed passphrases. The name is a keyed hash
  (the instance's codename pepper) of the normalised address, not the account id, so that an
  address that belongs to nobody fills and locks exactly like one that does: the lock-out is not
  a way to find out which addresses have accounts. Rows for addresses nobody uses are deleted
  once they have drained.
- ``staff-totp:<account id>``: wrong, missing or replayed codes after a correct passphrase.
- ``staff-global``: every failure of any kind, so a guess spread over many accounts is limited
  too.

Before anything else the three levels are read; if one more failure would overflow any of them
the answer is "too many attempts" with no Argon2 run. Failures are added after the Argon2 work,
each bucket row locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers) only
for the update, and rows are created on demand with an insert that ignores a concurrent twin
(``ON CONFLICT DO NOTHING`` on both databases). Attempts already past the first read when a
bucket fills can still each add one, so a bucket can overshoot its capacity by the number of
sign-ins in flight at that moment -- which the Argon2 gate keeps small.

Throttled and busy answers are not audit events: nothing was tried, and a flood of them must not
grow the audit chain. Every tried and refused attempt is (``STAFF_SIGN_IN_FAILED``, with a reason
label, and the account id when the e-mail belongs to an account; never the typed e-mail of an
unknown account, never the passphrase or the code).

**Argon2 concurrency cap.** :class:`Argon2Gate` is a bounded semaphore around every Argon2 call
made for a request (sign-in, enrolment, passphrase change). It is per worker process: with ``W``
worker processes at most ``W x slots`` derivations of 64 MiB run at once. A request that cannot
get a slot within ``wait_seconds`` is answered 503 "busy, try again in a moment" instead of
queueing, so a flood of sign-ins cannot exhaust the server's memory.

The caller commits after a refusal as well as after success: a failure counts only once stored.
"""

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

import crypto
from portal.models import StaffUser
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import STAFF_SIGN_IN_BUCKET_LABEL, STAFF_TOTP_SECRET_PURPOSE
from portal.services.leaky_bucket import LeakyBucket, count_failure, forget_drained, has_room
from portal.services.staff.accounts import staff_by_email
from portal.services.staff.web_sessions import start_staff_session
from portal.services.web_session_tickets import SessionTicket
from portal.settings import DEFAULT_ARGON2_SLOTS, DEFAULT_ARGON2_WAIT_SECONDS

GLOBAL_BUCKET = "staff-global"
PASSPHRASE_BUCKET_PREFIX = "staff-pass:"  # noqa: S105 (a bucket name)
TOTP_BUCKET_PREFIX = "staff-totp:"
_BUCKET_HASH_HEX = 20


class StaffSignInError(Exception):
    """A sign-in that did not open a session; the message can be shown as it is."""


class StaffSignInRefusedError(StaffSignInError):
    """The one answer to any wrong e-mail, passphrase or code."""

    def __init__(self) -> None:
        super().__init__(
            "These details do not open a staff account. Check the e-mail address, the "
            "passphrase and the code from your authenticator app, and try again."
        )


class StaffSignInThrottledError(StaffSignInError):
    """Too many failed attempts lately, for this account or overall; nothing was tried."""

    def __init__(self) -> None:
        super().__init__("Too many attempts to sign in. Please try again later.")


class Argon2BusyError(StaffSignInError):
    """Every Argon2 slot of this worker is taken; nothing was tried."""

    def __init__(self) -> None:
        super().__init__("The portal is busy. Please try again in a moment.")


@dataclass(frozen=True)
class StaffSignInLimits:
    """The three buckets. Defaults: 10 wrong passphrases per address, then one more every 6
    minutes (240 a day); 5 wrong codes per account, then one every 5 minutes; 200 failures of
    any kind, then one every 2 seconds, for everybody together."""

    passphrase: LeakyBucket = LeakyBucket(capacity=10, leak_per_second=1 / 360)
    totp: LeakyBucket = LeakyBucket(capacity=5, leak_per_second=1 / 300)
    overall: LeakyBucket = LeakyBucket(capacity=200, leak_per_second=0.5)


class Argon2Gate:
    """A per-process cap on concurrent Argon2 derivations (see the module docstring)."""

    def __init__(
        self, slots: int = DEFAULT_ARGON2_SLOTS, wait_seconds: float = DEFAULT_ARGON2_WAIT_SECONDS
    ) -> None:
        if slots < 1:
            raise ValueError("an Argon2 gate needs at least one slot")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block; ``Argon2BusyError`` if none frees up in time."""
        if not self._semaphore.acquire(timeout=self.wait_seconds):
            raise Argon2BusyError()
        try:
            yield
        finally:
            self._semaphore.release()


@dataclass(frozen=True)
class StaffSignIn:
    """A successful sign-in: the account and the new session's ticket for the cookie."""

    user: StaffUser
    ticket: SessionTicket


_stand_in_lock = threading.Lock()
_stand_in_hash: str | None = None


def prepare_stand_in() -> None:
    """Make the stand-in hash now (once per process), so that the first unknown e-mail is not
    the one sign-in that also pays for making it; the application calls this at start-up."""
    _stand_in_login_hash()


def _stand_in_login_hash() -> str:
    """A login hash of a random passphrase, made once per process with today's parameters,
    checked for unknown accounts so that they cost what a known one costs."""
    global _stand_in_hash
    with _stand_in_lock:
        if _stand_in_hash is None:
            _stand_in_hash = crypto.hash_password(crypto.random_token(24))
        return _stand_in_hash


def passphrase_bucket_name(pepper: bytes, email: str) -> str:
    """The passphrase bucket of a typed e-mail address, whether or not it has an account."""
    digest = crypto.lookup_hash(pepper, STAFF_SIGN_IN_BUCKET_LABEL + email.strip().lower().encode())
    return PASSPHRASE_BUCKET_PREFIX + digest.hex()[:_BUCKET_HASH_HEX]


def totp_bucket_name(user: StaffUser) -> str:
    """The TOTP bucket of an account."""
    return f"{TOTP_BUCKET_PREFIX}{user.id}"


def sign_in_staff(
    session: Session,
    *,
    email: str,
    passphrase: str,
    code: str,
    now: dt.datetime,
    pepper: bytes,
    at_rest_key: bytes,
    gate: Argon2Gate,
    limits: StaffSignInLimits = StaffSignInLimits(),
) -> StaffSignIn:
    """Check the details and open a staff session (see the module docstring for the rules)."""
    user = staff_by_email(session, email)
    pass_bucket = passphrase_bucket_name(pepper, email)
    totp_bucket = None if user is None else totp_bucket_name(user)
    _refuse_if_full(session, GLOBAL_BUCKET, limits.overall, now)
    _refuse_if_full(session, pass_bucket, limits.passphrase, now)
    if totp_bucket is not None:
        _refuse_if_full(session, totp_bucket, limits.totp, now)

    with gate.slot():
        if user is None:
            crypto.verify_password(_stand_in_login_hash(), passphrase)
            _fail(session, now, limits, [(pass_bucket, limits.passphrase)], None, "unknown_account")
        passphrase_right = crypto.verify_password(user.login_hash, passphrase)
        if not passphrase_right or not user.active:
            reason = "wrong_passphrase" if not passphrase_right else "account_inactive"
            _fail(session, now, limits, [(pass_bucket, limits.passphrase)], user, reason)
        if user.totp_secret_sealed is not None:
            problem = _totp_problem(user, code, now, at_rest_key)
            if problem is not None:
                _fail(session, now, limits, [(totp_bucket, limits.totp)], user, problem)
        personal_key = crypto.unwrap_private_key(user.personal_private_key_wrapped, passphrase)
        if crypto.password_needs_rehash(user.login_hash):
            user.login_hash = crypto.hash_password(passphrase)

    ticket = start_staff_session(session, user, personal_key, now=now)
    record_event(
        session,
        action=AuditAction.STAFF_SIGNED_IN,
        object_type="staff_user",
        object_id=user.id,
        actor=user,
        details={"enrolment_pending": user.must_change_passphrase or not user.totp_secret_sealed},
    )
    return StaffSignIn(user=user, ticket=ticket)


def check_current_passphrase(
    session: Session,
    user: StaffUser,
    passphrase: str,
    *,
    now: dt.datetime,
    pepper: bytes,
    limits: StaffSignInLimits = StaffSignInLimits(),
) -> bool:
    """Whether ``passphrase`` is the signed-in ``user``'s current one (to change it).

    A wrong one counts in the account's passphrase bucket and the overall one, as at sign-in,
    so a borrowed session is no way around the limits; a full bucket raises
    ``StaffSignInThrottledError`` without running Argon2. One Argon2 derivation: call it inside
    the gate. The caller commits either way.
    """
    pass_bucket = passphrase_bucket_name(pepper, user.email)
    _refuse_if_full(session, GLOBAL_BUCKET, limits.overall, now)
    _refuse_if_full(session, pass_bucket, limits.passphrase, now)
    if crypto.verify_password(user.login_hash, passphrase):
        return True
    count_failure(session, [(pass_bucket, limits.passphrase), (GLOBAL_BUCKET, limits.overall)], now)
    return False


def _totp_problem(user: StaffUser, code: str, now: dt.datetime, at_rest_key: bytes) -> str | None:
    """Why the code does not complete this sign-in, or ``None``; a good code is used up."""
    typed = code.strip()
    if not typed:
        return "totp_missing"
    secret = crypto.open_box(at_rest_key, user.totp_secret_sealed, STAFF_TOTP_SECRET_PURPOSE)
    step = crypto.verify_totp(secret, typed, now.timestamp())
    if step is None:
        return "totp_wrong"
    if user.last_totp_step is not None and step <= user.last_totp_step:
        return "totp_replayed"
    user.last_totp_step = step
    return None


def _fail(
    session: Session,
    now: dt.datetime,
    limits: StaffSignInLimits,
    buckets: list[tuple[str | None, LeakyBucket]],
    user: StaffUser | None,
    reason: str,
) -> NoReturn:
    """Count the failure in its buckets and the overall one, audit it, and refuse.

    Drained rows are cleared first, before this transaction locks any bucket, and the buckets
    are locked in one order (the account's, then the overall one), so that concurrent failures
    on PostgreSQL wait for each other instead of deadlocking.
    """
    _delete_drained_buckets(session, now, limits)
    named = [(name, limit) for name, limit in buckets if name is not None]
    count_failure(session, [*named, (GLOBAL_BUCKET, limits.overall)], now)
    details: dict[str, object] = {"reason": reason}
    if user is not None:
        details["staff_user_id"] = user.id
    record_event(
        session,
        action=AuditAction.STAFF_SIGN_IN_FAILED,
        object_type="staff_user",
        object_id="unknown" if user is None else user.id,
        details=details,
    )
    raise StaffSignInRefusedError()


def _refuse_if_full(session: Session, name: str, limit: LeakyBucket, now: dt.datetime) -> None:
    if not has_room(session, name, limit, now):
        raise StaffSignInThrottledError()


def _delete_drained_buckets(session: Session, now: dt.datetime, limits: StaffSignInLimits) -> None:
    """Forget the per-address and per-account buckets that have drained to empty."""
    for prefix, limit in bucket_families(limits)[:2]:
        forget_drained(session, prefix, limit, now)


def bucket_families(
    limits: StaffSignInLimits = StaffSignInLimits(),
) -> tuple[tuple[str, LeakyBucket], ...]:
    """The names (prefixes) of the staff sign-in buckets with their sizes: per address, per
    account, then the overall one (for the periodic clean-up of drained rows)."""
    return (
        (PASSPHRASE_BUCKET_PREFIX, limits.passphrase),
        (TOTP_BUCKET_PREFIX, limits.totp),
        (GLOBAL_BUCKET, limits.overall),
    )
