"""The path of one submission as its author follows it in the inbox: received, accepted, on the
agenda, raised, the reply, the follow-up ("you said, we did"), and the case's history across
rounds.

One function, :func:`submission_path`, builds it from what the server already keeps in the clear
about the submission: its state, the outcome the desk recorded for each held session
(``CaseOutcome``), the notices it received (the ``purpose`` and ``session_id`` beside each
desk message) and the roadmap's actions linked to it (``roadmap.case_follow_up``). Nothing is
opened for it, so the page shows the same path with and without JavaScript. The words of a
reply are in the debrief notice itself, which the page shows only once it has checked it; a
forged row can at most light a step of this path, never put words in the submitter's page.
"""

import datetime as dt
import enum
from dataclasses import dataclass

from portal.models import (
    HowRaised,
    MessageAuthor,
    MessagePurpose,
    NotRaisedReason,
    RecommendationOutcome,
    Submission,
    SubmissionState,
)
from portal.services.rounds.roadmap import ActionSummary, case_follow_up
from portal.services.rounds.round_consent import RAISED_IN_SESSION


class Step(enum.StrEnum):
    """The steps of the path, in order."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    ON_AGENDA = "on_agenda"
    RAISED = "raised"
    REPLY = "reply"
    FOLLOW_UP = "follow_up"


# The furthest step each state stands for by itself; declined and withdrawn end the path.
_STATE_REACHES = {
    SubmissionState.RECEIVED: Step.RECEIVED,
    SubmissionState.IN_TRIAGE: Step.RECEIVED,
    SubmissionState.ACCEPTED: Step.ACCEPTED,
    SubmissionState.ON_AGENDA: Step.ON_AGENDA,
    SubmissionState.ON_HANDOVER_LIST: Step.ON_AGENDA,
    SubmissionState.RAISED: Step.RAISED,
    # A debrief reaches what the desk took in, raised or not: what was raised is read from the
    # record (:func:`_raised_in`).
    SubmissionState.DEBRIEFED: Step.ACCEPTED,
    SubmissionState.DECLINED: Step.RECEIVED,
    SubmissionState.WITHDRAWN: Step.RECEIVED,
}
_STEPS = list(Step)


@dataclass(frozen=True)
class Round:
    """One held session that recorded the case: how it was taken up, and whether the debrief of
    that session has reached the inbox (the partner's reply travels in it)."""

    held_on: dt.date
    how_raised: HowRaised
    not_raised_reason: NotRaisedReason | None
    debriefed: bool


@dataclass(frozen=True)
class SubmissionPath:
    """The path of a submission: ``reached`` is the furthest step; ``ended`` is the state that
    ended it early (declined, withdrawn) or ``None``."""

    reached: Step
    ended: SubmissionState | None
    rounds: tuple[Round, ...]
    follow_up: tuple[ActionSummary, ...]
    progress_notices: int

    @property
    def steps(self) -> tuple[tuple[Step, bool], ...]:
        """Each step with whether it is reached, in order."""
        last = _STEPS.index(self.reached)
        return tuple((step, index <= last) for index, step in enumerate(_STEPS))


def submission_path(submission: Submission, *, today: dt.date) -> SubmissionPath:
    """The path of ``submission`` as its author's inbox shows it (module docstring)."""
    notices = [m for m in submission.messages if m.written_by is MessageAuthor.DESK]
    debriefed_sessions = {m.session_id for m in notices if m.purpose is MessagePurpose.DEBRIEF}
    progress_notices = sum(1 for m in notices if m.purpose is MessagePurpose.PROGRESS)
    outcomes = sorted(submission.case_outcomes, key=lambda outcome: outcome.session.date)
    rounds = tuple(
        Round(
            outcome.session.date,
            outcome.how_raised,
            outcome.not_raised_reason,
            outcome.session_id in debriefed_sessions,
        )
        for outcome in outcomes
    )
    follow_up = case_follow_up(submission, today=today)

    reached = [_STATE_REACHES[submission.state]]
    if outcomes or submission.agenda_links:
        reached.append(Step.ON_AGENDA)
    raised_in = _raised_in(submission)
    if raised_in:
        reached.append(Step.RAISED)
    if raised_in & debriefed_sessions:
        reached.append(Step.REPLY)
    if follow_up or progress_notices:
        reached.append(Step.FOLLOW_UP)
    ended = submission.state
    return SubmissionPath(
        reached=max(reached, key=_STEPS.index),
        ended=ended if ended in (SubmissionState.DECLINED, SubmissionState.WITHDRAWN) else None,
        rounds=rounds,
        follow_up=follow_up,
        progress_notices=progress_notices,
    )


def _raised_in(submission: Submission) -> set[int]:
    """The sessions in which the record says the submission was taken up: a case raised (in an
    item or on the handover list), a recommendation discussed or taken up, an input under an
    item the session discussed. A debrief for a session it was not raised in is no reply."""
    sessions = {
        outcome.session_id
        for outcome in submission.case_outcomes
        if outcome.how_raised in RAISED_IN_SESSION
    }
    sessions |= {
        response.session_id
        for response in submission.recommendation_responses
        if response.outcome is not RecommendationOutcome.NOT_TAKEN_UP
    }
    sessions |= {
        link.agenda_item.session_id
        for link in submission.agenda_links
        if link.agenda_item.discussed
    }
    return sessions
