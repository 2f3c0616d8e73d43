"""Resets that need two administrators, and the notice an account's owner sees afterwards.

A reset gives an account a new personal key and a one-time passphrase. Whoever holds that
passphrase can enrol first and, once a desk member grants the desk key to the new key, read the
desk. So on the web no administrator resets an account alone: one asks (:func:`request_reset`),
and a *different* active administrator approves (:func:`approve_reset`) or either cancels
(:func:`cancel_reset`). The approver, not the requester, sees the one-time passphrase and hands it
to the owner: the one who asked never holds it, and the one who holds it did not choose whose
account to reset, so taking an account over needs both. (Desk members then confirm the new key's
fingerprint with its owner before granting anything, which a stranger who enrolled first fails.)

An operator's ``portal staff reset`` (someone who already controls the whole server) stays
immediate. Every reset, either way, leaves the owner a :class:`ResetNotice` shown at their next
sign-in and on their account page until they acknowledge it (:func:`acknowledge_reset_notice`):
a reset they did not ask for is how they learn that someone else may have their account.

A request lapses after :data:`REQUEST_LIFETIME`: an approval is a decision about the situation
the requester described, not one to find in a list weeks later. A lapsed request is listed no
more, cannot be approved, and a new request for the account replaces it.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import StaffResetNotice, StaffResetRequest, StaffRole, StaffUser, utc_now
from portal.services.audit.trail import AuditAction, record_event
from portal.services.staff.accounts import reset_staff_account
from portal.translatable import translatable

REQUEST_LIFETIME = dt.timedelta(hours=48)


class ResetRefusedError(ValueError):
    """A reset request, approval or cancellation that cannot be made; the message says why."""


@dataclass(frozen=True)
class PendingReset:
    """A reset waiting for a second administrator, as the administration pages list it."""

    request: StaffResetRequest
    account: StaffUser
    requested_by: StaffUser


@dataclass(frozen=True)
class ResetNotice:
    """What the owner of a reset account is told: when, and which administrators (if any)."""

    reset_at: dt.datetime
    requested_by: StaffUser | None
    approved_by: StaffUser | None


def request_reset(session: Session, user: StaffUser, *, requested_by: StaffUser) -> None:
    """Ask for ``user``'s reset; nothing changes on the account until another approves it."""
    _require_administrator(requested_by)
    if user.id == requested_by.id:
        raise ResetRefusedError(
            translatable("you cannot reset your own account; ask another administrator")
        )
    now = utc_now()
    waiting = _request_for(session, user)
    if waiting is not None and _is_live(waiting, now):
        raise ResetRefusedError(
            translatable(
                "a reset of %(name)s is already waiting for approval", name=user.display_name
            )
        )
    if waiting is not None:
        session.delete(waiting)
        session.flush()
    request = StaffResetRequest(
        staff_user_id=user.id, requested_by_id=requested_by.id, requested_at=now
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_RESET_REQUESTED,
        object_type="staff_user",
        object_id=user.id,
        actor=requested_by,
    )


def approve_reset(session: Session, user: StaffUser, *, approver: StaffUser) -> str:
    """Carry out the waiting reset of ``user``; the one-time passphrase, for the approver.

    Refused for the administrator who asked, for the account's owner and for anyone but an
    active administrator.
    """
    _require_administrator(approver)
    request = _request_for(session, user)
    if request is None or not _is_live(request, utc_now()):
        raise ResetRefusedError(
            translatable(
                "no reset of %(name)s is waiting for approval (a request lapses after "
                "%(hours)s hours; ask again)",
                name=user.display_name,
                hours=round(REQUEST_LIFETIME.total_seconds() / 3600),
            )
        )
    if request.requested_by_id == approver.id:
        raise ResetRefusedError(
            translatable("you asked for this reset, so another administrator must approve it")
        )
    if user.id == approver.id:
        raise ResetRefusedError(translatable("you cannot approve a reset of your own account"))
    requested_by = session.get(StaffUser, request.requested_by_id)
    session.delete(request)
    session.flush()
    return reset_staff_account(session, user, reset_by=approver, requested_by=requested_by)


def cancel_reset(session: Session, user: StaffUser, *, actor: StaffUser) -> None:
    """Withdraw the waiting reset of ``user`` (the requester or any other administrator)."""
    _require_administrator(actor)
    request = _request_for(session, user)
    if request is None:
        raise ResetRefusedError(
            translatable("no reset of %(name)s is waiting for approval", name=user.display_name)
        )

    requested_by_id = request.requested_by_id
    session.delete(request)
    session.flush()
    record_event(
        session,
        action=AuditAction.STAFF_RESET_CANCELLED,
        object_type="staff_user",
        object_id=user.id,
        actor=actor,
        details={"requested_by": requested_by_id},
    )


def pending_resets(session: Session) -> list[PendingReset]:
    """Every reset waiting for approval (not lapsed), oldest first."""
    rows = session.scalars(
        select(StaffResetRequest)
        .where(StaffResetRequest.requested_at > utc_now() - REQUEST_LIFETIME)
        .order_by(StaffResetRequest.requested_at, StaffResetRequest.id)
    ).all()
    return [
        PendingReset(
            request=row,
            account=session.get(StaffUser, row.staff_user_id),
            requested_by=session.get(StaffUser, row.requested_by_id),
        )
        for row in rows
    ]


def pending_reset_of(session: Session, user: StaffUser) -> PendingReset | None:
    """The reset of ``user`` waiting for approval, if any."""
    return next((item for item in pending_resets(session) if item.account.id == user.id), None)


def reset_notice_for(session: Session, user: StaffUser) -> ResetNotice | None:
    """The reset ``user`` has not acknowledged yet, if any."""
    notice = session.scalars(
        select(StaffResetNotice).where(StaffResetNotice.staff_user_id == user.id)
    ).first()
    if notice is None:
        return None
    return ResetNotice(
        reset_at=notice.reset_at,
        requested_by=_staff_or_none(session, notice.requested_by_id),
        approved_by=_staff_or_none(session, notice.approved_by_id),
    )


def acknowledge_reset_notice(session: Session, user: StaffUser) -> None:
    """The owner has read the notice: it is no longer shown (the audit trail keeps the reset)."""
    removed = session.execute(
        delete(StaffResetNotice).where(StaffResetNotice.staff_user_id == user.id)
    ).rowcount
    if removed:
        record_event(
            session,
            action=AuditAction.STAFF_RESET_ACKNOWLEDGED,
            object_type="staff_user",
            object_id=user.id,
            actor=user,
        )


def _require_administrator(user: StaffUser) -> None:
    if not user.active or user.role != StaffRole.ADMINISTRATOR:
        raise ResetRefusedError(
            translatable("only an active administrator can ask for or approve a reset")
        )


def _request_for(session: Session, user: StaffUser) -> StaffResetRequest | None:
    return session.scalars(
        select(StaffResetRequest).where(StaffResetRequest.staff_user_id == user.id)
    ).first()


def _is_live(request: StaffResetRequest, now: dt.datetime) -> bool:
    return now < request.requested_at + REQUEST_LIFETIME


def _staff_or_none(session: Session, user_id: int | None) -> StaffUser | None:
    return None if user_id is None else session.get(StaffUser, user_id)
