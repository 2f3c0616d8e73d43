"""What is waiting for a staff member in the sessions of their desks: the home page's list.

One query per kind of work, over every session of every dialogue whose desk the person sits on
(``need_to_know.desk_dialogues``), except sessions already in follow-up, whose round is over.
What counts as waiting depends on who asks, because it is the work of their role:

- a **co-chair** agrees the agenda, approves the handover list and enters the record:
  - *agenda to agree*: the agenda is still a draft or only shared with observers, and the session
    has not been held yet (afterwards the agenda is history, not work);
  - *handover entries to approve*: proposed, neither approved nor left the list, and proposed by
    someone else (nobody approves their own proposal);
- a **triage officer** reads what arrives: *to triage* counts the session's submissions received
  or in triage;
- both enter the record: *record to enter* once the session's day has passed (before today, UTC)
  while its held date or its completed record is missing, until the session is debriefed (the
  debrief is written from the record, so a debriefed session has had its record).

Beside the sessions, a **co-chair** sees the *overdue actions* of each dialogue's follow-up
roadmap (:func:`overdue_per_dialogue`), counted by ``roadmap.overdue_actions``, the one statement
of "overdue": the roadmap runs between sessions, so it is not one session's work.

An administrator or observer on a desk has no work of these kinds: their rows are all zero. Only
ids, dates, stages and counts are read; nothing here opens content.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    AgendaState,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionState,
)
from portal.services.desks.need_to_know import desk_dialogues
from portal.services.dialogues.dialogue_sessions import SESSION_MANAGER_ROLES, has_been_held
from portal.services.rounds.handover import Standing, entry_standing
from portal.services.rounds.roadmap import overdue_actions

AGENDA_OPEN = frozenset({AgendaState.DRAFT, AgendaState.SHARED})
RECORD_DONE_STAGES = frozenset({SessionState.DEBRIEFED, SessionState.FOLLOW_UP})
TO_TRIAGE = frozenset({SubmissionState.RECEIVED, SubmissionState.IN_TRIAGE})


@dataclass(frozen=True)
class SessionWaiting:
    """One session of the person's desks and what in it waits for them."""

    dialogue_session: DialogueSession
    agenda_to_agree: bool
    handover_to_approve: int
    record_to_enter: bool
    to_triage: int

    @property
    def anything(self) -> bool:
        """Whether anything at all waits for the person in this session."""
        return (
            self.agenda_to_agree
            or self.handover_to_approve > 0
            or self.record_to_enter
            or self.to_triage > 0
        )


def waiting_per_session(
    session: Session, user: StaffUser, *, today: dt.date
) -> list[SessionWaiting]:
    """The sessions of ``user``'s desks not yet in follow-up, by dialogue then date, each with
    what waits for ``user`` (``today`` is the day in UTC)."""
    dialogues = desk_dialogues(session, user)
    if not dialogues:
        return []
    sessions = list(
        session.scalars(
            select(DialogueSession)
            .where(
                DialogueSession.dialogue_id.in_([dialogue.id for dialogue in dialogues]),
                DialogueSession.state != SessionState.FOLLOW_UP,
            )
            .order_by(DialogueSession.dialogue_id, DialogueSession.date, DialogueSession.id)
        )
    )
    ids = [item.id for item in sessions]
    co_chair = user.role is StaffRole.CO_CHAIR
    approvals = _handover_to_approve(session, user, ids, today) if co_chair else {}
    to_triage = _to_triage(session, ids) if user.role is StaffRole.TRIAGE_OFFICER else {}
    order = {dialogue.id: position for position, dialogue in enumerate(dialogues)}
    sessions.sort(key=lambda item: order[item.dialogue_id])
    return [
        SessionWaiting(
            dialogue_session=item,
            agenda_to_agree=co_chair
            and item.agenda_state in AGENDA_OPEN
            and not has_been_held(item),
            handover_to_approve=approvals.get(item.id, 0),
            record_to_enter=user.role in SESSION_MANAGER_ROLES and _record_missing(item, today),
            to_triage=to_triage.get(item.id, 0),
        )
        for item in sessions
    ]


@dataclass(frozen=True)
class OverdueWaiting:
    """A dialogue of the person's desks and how many of its roadmap's actions are overdue."""

    dialogue: Dialogue
    overdue: int


def overdue_per_dialogue(
    session: Session, user: StaffUser, *, today: dt.date
) -> list[OverdueWaiting]:
    """The dialogues of a co-chair's desks that have overdue actions, by slug, with how many;
    nothing for any other role."""
    if user.role is not StaffRole.CO_CHAIR:
        return []
    dialogues = desk_dialogues(session, user)
    overdue = overdue_actions(session, [dialogue.id for dialogue in dialogues], today)
    counts = {dialogue.id: 0 for dialogue in dialogues}
    for action in overdue:
        counts[action.dialogue_id] += 1
    return [
        OverdueWaiting(dialogue, counts[dialogue.id])
        for dialogue in dialogues
        if counts[dialogue.id]
    ]


def _record_missing(dialogue_session: DialogueSession, today: dt.date) -> bool:
    return (
        dialogue_session.date < today
        and dialogue_session.state not in RECORD_DONE_STAGES
        and (dialogue_session.held_on is None or dialogue_session.record_completed_at is None)
    )


def _handover_to_approve(
    session: Session, user: StaffUser, session_ids: Iterable[int], today: dt.date
) -> dict[int, int]:
    """Proposals on lists that are not frozen, still standing by the list's own rule
    (``handover.entry_standing``: not left, not on hold, assessment not lapsed), that ``user``
    did not make."""
    entries = session.scalars(
        select(HandoverEntry)
        .join(DialogueSession, HandoverEntry.session_id == DialogueSession.id)
        .where(
            HandoverEntry.session_id.in_(list(session_ids)),
            HandoverEntry.approved_at.is_(None),
            HandoverEntry.left_at.is_(None),
            HandoverEntry.proposed_by_id != user.id,
            DialogueSession.handover_frozen_at.is_(None),
        )
    )
    counts: dict[int, int] = {}
    for entry in entries:
        if entry_standing(entry, today).standing is Standing.PROPOSED:
            counts[entry.session_id] = counts.get(entry.session_id, 0) + 1
    return counts


def _to_triage(session: Session, session_ids: Iterable[int]) -> dict[int, int]:
    rows = session.execute(
        select(Submission.session_id, func.count())
        .where(Submission.session_id.in_(list(session_ids)), Submission.state.in_(TO_TRIAGE))
        .group_by(Submission.session_id)
    )
    return {session_id: count for session_id, count in rows if session_id is not None}
