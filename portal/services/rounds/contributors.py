"""Who contributed to a session, and whether each of them has been debriefed.

The guidelines make a debrief the standard after every session, so the portal keeps the promise
itself: a session moves to "debriefed" only when every contributor has a debrief notice in their
inbox or the desk has recorded why not (``DebriefWithheld``), see
``dialogue_sessions.advance_session``. This module is the one statement of both halves.

A submission contributed to a session when

- it was sent for that session (agenda input, cases and seminar recommendations name their
  session when they arrive), whatever became of it: a declined input is owed a word too; or
- it was taken up in that session without belonging to it: a reprisal report, which belongs to
  no session, or a case carried over from an earlier round, once it is linked to one of the
  session's agenda items, put on its handover list, or given an outcome or a response in its
  record.

A submission its author deleted is gone, and with it every row that named it, so it is no longer
owed anything; nothing here can (or should) find it again.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AgendaItem,
    AgendaLink,
    CaseOutcome,
    DebriefWithheld,
    DeskMessage,
    DialogueSession,
    HandoverEntry,
    MessagePurpose,
    RecommendationResponse,
    Submission,
)


@dataclass(frozen=True)
class DebriefStanding:
    """Where a session's debrief stands, by submission id."""

    contributors: tuple[Submission, ...]
    notified: frozenset[int]  # submissions with a debrief notice for this session
    withheld: frozenset[int]  # submissions the desk recorded a reason for

    @property
    def outstanding(self) -> tuple[Submission, ...]:
        """Contributors with neither a notice nor a recorded reason, oldest first."""
        done = self.notified | self.withheld
        return tuple(item for item in self.contributors if item.id not in done)

    @property
    def complete(self) -> bool:
        """Whether every contributor has a notice or a recorded reason."""
        return not self.outstanding


def contributors(session: Session, dialogue_session: DialogueSession) -> list[Submission]:
    """Every submission that contributed to ``dialogue_session`` (module docstring), by id."""
    session_id = dialogue_session.id
    taken_up = (
        select(AgendaLink.submission_id)
        .join(AgendaItem, AgendaItem.id == AgendaLink.agenda_item_id)
        .where(AgendaItem.session_id == session_id)
        .union(
            select(HandoverEntry.submission_id).where(HandoverEntry.session_id == session_id),
            select(CaseOutcome.submission_id).where(CaseOutcome.session_id == session_id),
            select(RecommendationResponse.submission_id).where(
                RecommendationResponse.session_id == session_id
            ),
        )
    )
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.dialogue_id == dialogue_session.dialogue_id,
                (Submission.session_id == session_id) | Submission.id.in_(taken_up),
            )
            .order_by(Submission.id)
        )
    )


def debrief_standing(session: Session, dialogue_session: DialogueSession) -> DebriefStanding:
    """Which contributors of ``dialogue_session`` have a debrief notice or a recorded reason."""
    notified = session.scalars(
        select(DeskMessage.submission_id).where(
            DeskMessage.session_id == dialogue_session.id,
            DeskMessage.purpose == MessagePurpose.DEBRIEF,
        )
    )
    withheld = session.scalars(
        select(DebriefWithheld.submission_id).where(
            DebriefWithheld.session_id == dialogue_session.id
        )
    )
    return DebriefStanding(
        contributors=tuple(contributors(session, dialogue_session)),
        notified=frozenset(notified),
        withheld=frozenset(withheld),
    )
