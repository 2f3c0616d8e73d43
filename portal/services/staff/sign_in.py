"""Staff sign-in: e-mail, passphrase and TOTP code in one form, with limits that store no address.

One call, :func:`sign_in_staff`, checks everything and either opens a staff session or raises
one of three refusals:

- :class:`StaffSignInRefusedError` -- the one answer to any wrong combination (unknown e-mail,
  wrong passphrase, deactivated account, missing, wrong or replayed code). Which of these it was
  goes only into the audit event's ``reason``.
- :class:`StaffSignInThrottledError` -- too many recent failures for this address or account, or
  overall; nothing was tried, no Argon2 ran (429, with how long to wait).
- ``work_gate.BusyError`` -- the strangers' share of Argon2 work is spent for the moment, or this
  worker process is already running as many Argon2 derivations as it may; nothing was tried
  (503, with how long to wait).

**Equal work for unknown e-mails.** An unknown (or deactivated) account costs one Argon2 login
hash check, against a stand-in hash with today's parameters, exactly as a wrong passphrase for a
known one does; only a correct passphrase goes on to the TOTP check and the second Argon2 (the
unwrap of the personal key). The TOTP code is looked at only after the passphrase was right, so
the answer's timing says nothing about the code.

**Known devices and strangers.** A sign-in that presents a known-device token for the address it
types (``portal.services.staff.known_devices``, handed out after each successful sign-in) is a
*known device*; any other is a *stranger*, whatever the address. Strangers share limits that a
flood fills; known devices have their own, so a flood of unknown e-mails -- or of wrong
passphrases for a real address -- cannot keep out the staff who signed in on their device before.
Staff on a new device are strangers: during a flood they wait for it to pass like anyone else.

**Limits, without any IP address.** Leaky buckets (the rule of ``portal.services.leaky_bucket``)
in rows of ``sign_in_throttles``, shared by every worker, named as docs/FORMATS.md, "Staff
sign-in buckets", specifies:

- ``staff-pass:<20 hex>`` per typed e-mail address, strangers only: failed passphrases. The name
  is a keyed hash (the instance's codename pepper) of the normalised address, not the account id,
  so that an address that belongs to nobody fills and locks exactly like one that does: the
  lock-out is not a way to find out which addresses have accounts.
- ``staff-known:<20 hex>`` per address, known devices only: their failed passphrases, with the
  same size. Rows of both kinds are deleted once they have drained.
- ``staff-totp:<account id>``: wrong, missing or replayed codes after a correct passphrase.
- ``staff-global``, strangers only: every failure of any kind, so a guess spread over many
  addresses is limited too (200, then one every two seconds).
- ``staff-work``, strangers only: the seconds of Argon2 work every stranger's sign-in took,
  failed or not. It caps the Argon2 work strangers can make all workers do together (three
  seconds, then half a second every second); a full one is answered "busy" before any work, so a
  flood costs the server a database read per request and keeps no worker waiting. Counted in
  seconds, it lets fewer in when the processors are slow or busy. Known devices do not count in
  it. A stranger's sign-in reserves a second of it before its Argon2 starts, committed at once
  (``leaky_bucket.reserve_work``), and settles the real seconds afterwards: however many
  threads and workers take strangers at once, no more of their Argon2 starts than the budget
  has room for (three at once when it is empty).

Before anything else the levels are read; if one more would overflow any of them the answer is
"too many attempts" (or "busy" for the work bucket) with no Argon2 run. A stranger then waits
for an Argon2 slot and reserves its second of work, or is answered "busy" if another took the
room meanwhile. Failures are counted after the Argon2 work, each bucket row locked (``SELECT
... FOR UPDATE`` on PostgreSQL; SQLite serialises writers) only for the update, narrow buckets
first, then ``staff-work``, then ``staff-global``, and rows are created on demand with an insert
that ignores a concurrent twin (``ON CONFLICT DO NOTHING`` on both databases). Attempts already
past the first read when a failure bucket fills can still each add one, so such a bucket can
overshoot its capacity by the number of sign-ins in flight at that moment -- which the work
budget and the Argon2 gate keep small.

What a flood can still do: keep strangers out (new devices, and staff whose token expired or was
cleared) for as long as it lasts and the buckets take to drain, and slow known devices down by
taking the server's processors. What it cannot do: make a known device's sign-in wait for an
Argon2 slot (:data:`KNOWN_DEVICE_SLOTS` per worker are kept for them) or count against its limits.

Throttled and busy answers are not audit events: nothing was tried, and a flood of them must not
grow the audit chain. Every tried and refused attempt is (``STAFF_SIGN_IN_FAILED``, with a reason
label, and the account id when the e-mail belongs to an account; never the typed e-mail of an
unknown account, never the passphrase or the code).

**Argon2 concurrency cap.** Every Argon2 call made for a request (sign-in, enrolment, passphrase
change) runs inside the worker's ``work_gate.WorkGate``, which bounds the memory they take.

The caller commits after a refusal as well as after success: a failure counts only once stored.
"""

import dataclasses
import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

import crypto
from portal.models import StaffUser
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import STAFF_TOTP_SECRET_PURPOSE
from portal.services.leaky_bucket import (
    RESERVED_SECONDS,
    LeakyBucket,
    bucket_level,
    count,
    forget_drained,
    reserve_work,
)
from portal.services.staff.accounts import staff_by_email
from portal.services.staff.known_devices import address_hash, device_token_names
from portal.services.staff.web_sessions import start_staff_session
from portal.services.web_session_tickets import SessionTicket
from portal.services.work_gate import BusyError, WorkGate

GLOBAL_BUCKET = "staff-global"
WORK_BUCKET = "staff-work"
PASSPHRASE_BUCKET_PREFIX = "staff-pass:"  # noqa: S105 (a bucket name)
DEVICE_BUCKET_PREFIX = "staff-known:"
TOTP_BUCKET_PREFIX = "staff-totp:"
# Argon2 slots per worker process kept for known devices, beside the shared ones.
KNOWN_DEVICE_SLOTS = 1


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
    """Too many failed attempts lately, for this address or account or overall; nothing was
    tried. ``retry_after``: whole seconds until one more attempt fits."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts to sign in. Please try again later.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class StaffSignInLimits:
    """The buckets. Defaults: 10 wrong passphrases per address (strangers and known devices
    each), then one more every 6 minutes (240 a day); 5 wrong codes per account, then one every 5
    minutes; for strangers together, 200 failures of any kind, then one every 2 seconds, and 3
    seconds of Argon2 work, then half a second every second."""

    passphrase: LeakyBucket = LeakyBucket(capacity=10, leak_per_second=1 / 360)
    totp: LeakyBucket = LeakyBucket(capacity=5, leak_per_second=1 / 300)
    overall: LeakyBucket = LeakyBucket(capacity=200, leak_per_second=0.5)
    work: LeakyBucket = LeakyBucket(capacity=3.0, leak_per_second=0.5)


@dataclass(frozen=True)
class StaffSignIn:
    """A successful sign-in: the account, the new session's ticket for the cookie, and the
    address hash a known-device token is to name (``known_devices.issue_device_token``)."""

    user: StaffUser
    ticket: SessionTicket
    address: str


@dataclass(frozen=True)
class _Attempt:
    """Whose attempt this is (a known device's or a stranger's), where its failed passphrases
    count, and when its Argon2 work began (``time.monotonic``), for the strangers' work bucket."""

    passphrase_bucket: str
    known_device: bool
    started: float = 0.0


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
    """A stranger's passphrase bucket for a typed e-mail address, account or not."""
    return PASSPHRASE_BUCKET_PREFIX + address_hash(pepper, email)


def device_bucket_name(pepper: bytes, email: str) -> str:
    """A known device's passphrase bucket for a typed e-mail address."""
    return DEVICE_BUCKET_PREFIX + address_hash(pepper, email)


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
    gate: WorkGate,
    device_token: str | None = None,
    limits: StaffSignInLimits = StaffSignInLimits(),
) -> StaffSignIn:
    """Check the details and open a staff session (see the module docstring for the rules).

    ``device_token`` is the known-device token the browser presented, if any.
    """
    user = staff_by_email(session, email)
    attempt = _attempt(pepper, at_rest_key, email, device_token, now)
    totp_bucket = None if user is None else totp_bucket_name(user)
    if not attempt.known_device:
        _refuse_if_full(session, WORK_BUCKET, limits.work, now, busy=True)
        _refuse_if_full(session, GLOBAL_BUCKET, limits.overall, now)
    _refuse_if_full(session, attempt.passphrase_bucket, limits.passphrase, now)
    if totp_bucket is not None:
        _refuse_if_full(session, totp_bucket, limits.totp, now)

    passphrase_bucket = [(attempt.passphrase_bucket, limits.passphrase)]
    with gate.slot(reserved=attempt.known_device):
        if not attempt.known_device:
            reserve_work(session, WORK_BUCKET, limits.work, now)
        attempt = dataclasses.replace(attempt, started=time.monotonic())
        if user is None:
            crypto.verify_password(_stand_in_login_hash(), passphrase)
            _fail(session, now, limits, attempt, passphrase_bucket, None, "unknown_account")
        passphrase_right = crypto.verify_password(user.login_hash, passphrase)
        if not passphrase_right or not user.active:
            reason = "wrong_passphrase" if not passphrase_right else "account_inactive"
            _fail(session, now, limits, attempt, passphrase_bucket, user, reason)
        if user.totp_secret_sealed is not None:
            problem = _totp_problem(user, code, now, at_rest_key)
            if problem is not None:
                _fail(session, now, limits, attempt, [(totp_bucket, limits.totp)], user, problem)
        personal_key = crypto.unwrap_private_key(user.personal_private_key_wrapped, passphrase)
        if crypto.password_needs_rehash(user.login_hash):
            user.login_hash = crypto.hash_password(passphrase)

    # A stranger's success took Argon2 work as well: it counts in the work bucket.
    _count_work(session, now, limits, attempt)
    ticket = start_staff_session(session, user, personal_key, now=now)
    record_event(
        session,
        action=AuditAction.STAFF_SIGNED_IN,
        object_type="staff_user",
        object_id=user.id,
        actor=user,
        details={"enrolment_pending": user.must_change_passphrase or not user.totp_secret_sealed},
    )
    return StaffSignIn(user=user, ticket=ticket, address=address_hash(pepper, email))


def _attempt(
    pepper: bytes,
    at_rest_key: bytes,
    email: str,
    device_token: str | None,
    now: dt.datetime,
) -> _Attempt:
    """A known device's attempt or a stranger's, by the token presented for the typed address."""
    address = address_hash(pepper, email)
    if device_token is not None and device_token_names(
        at_rest_key, device_token, address, now.date()
    ):
        return _Attempt(DEVICE_BUCKET_PREFIX + address, known_device=True)
    return _Attempt(PASSPHRASE_BUCKET_PREFIX + address, known_device=False)


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

    A wrong one counts in the address's stranger passphrase bucket and the overall one, as at
    sign-in, so a borrowed session is no way around the limits; a full bucket raises
    ``StaffSignInThrottledError`` without running Argon2. One Argon2 derivation: call it inside
    the gate. The caller commits either way.
    """
    pass_bucket = passphrase_bucket_name(pepper, user.email)
    _refuse_if_full(session, GLOBAL_BUCKET, limits.overall, now)
    _refuse_if_full(session, pass_bucket, limits.passphrase, now)
    if crypto.verify_password(user.login_hash, passphrase):
        return True
    count(session, [(pass_bucket, limits.passphrase), (GLOBAL_BUCKET, limits.overall)], now)
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
    attempt: _Attempt,
    buckets: list[tuple[str | None, LeakyBucket]],
    user: StaffUser | None,
    reason: str,
) -> NoReturn:
    """Count the failure in its bucket and, for a stranger, the shared ones; audit it; refuse.

    Drained rows are cleared first, before this transaction locks any bucket, and the buckets
    are locked in one order (the narrow one, then the work bucket, then the overall one), so
    that concurrent failures on PostgreSQL wait for each other instead of deadlocking.
    """
    _delete_drained_buckets(session, now, limits)
    count(session, [(name, limit) for name, limit in buckets if name is not None], now)
    _count_work(session, now, limits, attempt)
    if not attempt.known_device:
        count(session, [(GLOBAL_BUCKET, limits.overall)], now)
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


def _count_work(
    session: Session, now: dt.datetime, limits: StaffSignInLimits, attempt: _Attempt
) -> None:
    """Settle a stranger's seconds of Argon2 work in the strangers' work bucket: what it took
    beyond the second reserved before it, or less if it took less."""
    if not attempt.known_device:
        seconds = time.monotonic() - attempt.started
        count(session, [(WORK_BUCKET, limits.work)], now, amount=seconds - RESERVED_SECONDS)


def _refuse_if_full(
    session: Session, name: str, limit: LeakyBucket, now: dt.datetime, *, busy: bool = False
) -> None:
    """Refuse before any work if one more would overflow the bucket: "busy" for a work bucket,
    "too many attempts" for one of failures."""
    level = bucket_level(session, name, limit, now)
    if limit.fits_one_more(level):
        return
    if busy:
        raise BusyError(limit.retry_after(level))
    raise StaffSignInThrottledError(limit.retry_after(level))


def _delete_drained_buckets(session: Session, now: dt.datetime, limits: StaffSignInLimits) -> None:
    """Forget the per-address and per-account buckets that have drained to empty."""
    for prefix, limit in bucket_families(limits):
        if prefix != GLOBAL_BUCKET:
            forget_drained(session, prefix, limit, now)


def bucket_families(
    limits: StaffSignInLimits = StaffSignInLimits(),
) -> tuple[tuple[str, LeakyBucket], ...]:
    """The names (prefixes) of the staff sign-in buckets with their sizes: per address, per
    account, then the overall one (for the periodic clean-up of drained rows)."""
    return (
        (PASSPHRASE_BUCKET_PREFIX, limits.passphrase),
        (DEVICE_BUCKET_PREFIX, limits.passphrase),
        (TOTP_BUCKET_PREFIX, limits.totp),
        (GLOBAL_BUCKET, limits.overall),
    )
