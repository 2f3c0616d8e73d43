"""Retention: how long a dialogue keeps a session's submissions once the session is in follow-up.

Every rule about deleting submissions by age lives here:

- a dialogue keeps its submissions until their submitters delete them unless a retention period
  is set (``Dialogue.retention_days`` empty is the default): deletion cannot be undone, backups
  keep copies anyway, and how long case files must be kept depends on each dialogue's legal
  basis, which the administrator who sets the period knows and the software does not;
- the period counts from the day a session reached follow-up (``DialogueSession.follow_up_on``);
  a submission tied to no session (a reprisal report) is never deleted by age;
- the desk is told before anything goes: a session's submissions are deleted on its
  :func:`deletion_day`, which is never sooner than the dialogue's notice
  (``retention_notice_days``, at least :data:`MIN_NOTICE_DAYS`) after the session reached
  follow-up, nor after the period or notice was last set, so shortening a period never deletes
  anything at once; the desk's session pages list what is due and when
  (:func:`scheduled_deletions`);
- the deletion itself is the portal's one way to delete a submission
  (``submissions.inbox.delete_submission``): envelopes and files crypto-shredded, a tombstone
  left, an audit event recorded. The periodic clean-up (``portal.services.housekeeping``) runs it
  for every submission :func:`due_submissions` names.

Administrators (on the web) and the operator (``portal dialogue retention``) set the period;
every change is an audit event with the old and new values.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from portal.models import Dialogue, DialogueSession, SessionState, StaffUser, Submission
from portal.services.audit.trail import AuditAction, record_event
from portal.services.dialogues.catalogue import DialogueDetailsError
from portal.translatable import translatable

MIN_NOTICE_DAYS = 30
MAX_NOTICE_DAYS = 365
MAX_RETENTION_DAYS = 3650


class RetentionSettingError(DialogueDetailsError):
    """A retention period or notice outside what the rules allow; the message says which."""


@dataclass(frozen=True)
class ScheduledDeletion:
    """The submissions of one session in follow-up, and the day they will be deleted."""

    dialogue_session: DialogueSession
    submissions: int
    deletion_day: dt.date
    within_notice: bool
    """Whether the day is no further off than the dialogue's notice: the desk should act now."""


def set_retention(
    session: Session,
    dialogue: Dialogue,
    *,
    days: int | None,
    notice_days: int,
    today: dt.date,
    actor: StaffUser | None = None,
) -> None:
    """Set (or, with ``days`` None, clear) the retention period and the notice of ``dialogue``.

    ``actor`` is the administrator on the web, ``None`` the operator at the command line.
    """
    if days is not None and not 1 <= days <= MAX_RETENTION_DAYS:
        raise RetentionSettingError(
            translatable(
                "a retention period is 1 to %(most)s days, or none", most=MAX_RETENTION_DAYS
            )
        )
    if not MIN_NOTICE_DAYS <= notice_days <= MAX_NOTICE_DAYS:
        raise RetentionSettingError(
            translatable(
                "the notice before a deletion is %(least)s to %(most)s days",
                least=MIN_NOTICE_DAYS,
                most=MAX_NOTICE_DAYS,
            )
        )

    before = {"days": dialogue.retention_days, "notice_days": dialogue.retention_notice_days}
    after = {"days": days, "notice_days": notice_days}
    if before == after:
        return
    dialogue.retention_days = days
    dialogue.retention_notice_days = notice_days
    dialogue.retention_set_on = today
    record_event(
        session,
        action=AuditAction.DIALOGUE_RETENTION_SET,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={"from": before, "to": after},
    )


def deletion_day(dialogue: Dialogue, dialogue_session: DialogueSession) -> dt.date | None:
    """The day the session's submissions are deleted, or ``None`` when nothing is deleted."""
    if dialogue.retention_days is None or dialogue_session.follow_up_on is None:
        return None
    notice = dt.timedelta(days=dialogue.retention_notice_days)
    start = dialogue_session.follow_up_on
    set_on = dialogue.retention_set_on or start
    return max(start + dt.timedelta(days=dialogue.retention_days), start + notice, set_on + notice)


def scheduled_deletions(
    session: Session, dialogue: Dialogue, *, today: dt.date
) -> list[ScheduledDeletion]:
    """Every session of ``dialogue`` whose submissions will be deleted, soonest first."""
    counts = _submission_counts(session, dialogue)
    scheduled = []
    for dialogue_session in _sessions_in_follow_up(session, dialogue):
        day = deletion_day(dialogue, dialogue_session)
        count = counts.get(dialogue_session.id, 0)
        if day is None or count == 0:
            continue
        within = day <= today + dt.timedelta(days=dialogue.retention_notice_days)
        scheduled.append(ScheduledDeletion(dialogue_session, count, day, within))
    return sorted(scheduled, key=lambda item: (item.deletion_day, item.dialogue_session.id))


def due_submissions(session: Session, *, today: dt.date) -> Select[tuple[int]]:
    """The ids of the submissions whose session's deletion day has come, oldest first."""
    due_sessions = [
        dialogue_session.id
        for dialogue in session.scalars(
            select(Dialogue).where(Dialogue.retention_days.is_not(None))
        )
        for dialogue_session in _sessions_in_follow_up(session, dialogue)
        if (day := deletion_day(dialogue, dialogue_session)) is not None and day <= today
    ]
    return (
        select(Submission.id).where(Submission.session_id.in_(due_sessions)).order_by(Submission.id)
    )


def _sessions_in_follow_up(session: Session, dialogue: Dialogue) -> list[DialogueSession]:
    return list(
        session.scalars(
            select(DialogueSession).where(
                DialogueSession.dialogue_id == dialogue.id,
                DialogueSession.state == SessionState.FOLLOW_UP,
            )
        )
    )


def _submission_counts(session: Session, dialogue: Dialogue) -> dict[int, int]:
    rows = session.execute(
        select(Submission.session_id, func.count(Submission.id))
        .where(Submission.dialogue_id == dialogue.id, Submission.session_id.is_not(None))
        .group_by(Submission.session_id)
    )
    return {session_id: count for session_id, count in rows}
