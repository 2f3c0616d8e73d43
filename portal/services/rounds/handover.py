"""The handover list of a session: the one home of its rules.

A handover list is the paper the co-chairs hand the partner government in the margins of a
session: the cases whose named persons all allow it (DESIGN.md, section 3). Its life:

- **Proposed** by a triage officer on the desk who reads the case, for the list of the case's own
  session or of a later session of the same dialogue that is not held yet (a reprisal report has
  no session of its own: any session of its dialogue not held yet). The case's state does not
  change: a proposal is a question to the co-chairs, not a decision.
- **Approved** by a co-chair on the desk who reads the case and is not the proposer (the second
  pair of eyes), who applies the same rule again at that moment (:func:`proposal_refusal`);
  approval moves the case to "on the handover list" through ``triage.change_state``. A co-chair
  may instead **reject** a proposal: its row is deleted, the audit trail keeps the decision, and
  the case can be proposed again.
- **Frozen** by a co-chair: a frozen list takes no proposal, approval or rejection, so what is
  printed and exported is what was agreed. A co-chair may unfreeze it until the session is held
  (to add a late case, say); after that the list is history and stays frozen.

The rule a proposal and an approval must pass: an individual case or reprisal report, accepted
or on the agenda, its risk assessed with no risk hold and an assessment that has not lapsed
(no re-assessment date, or one after today: a case due for re-assessment today is re-assessed
before it is handed over), no consent change the reader could not verify, and every named person
allowing the handover list in that round (``round_consent``, which alone decides consent).

**Leaving at once, even a frozen list.** A case leaves every list on which it has an entry in
force (proposed or approved) when:

- a consent change arrives for it, on either inbox path (:func:`leave_on_consent_change`, called
  by ``inbox`` in the transaction that stores the change). The server does not read the change:
  sealed in the browser it cannot, and without JavaScript it will not look. It only knows that a
  change arrived, and that is enough: whatever the change says, the case leaves, and a desk
  member who reads the new consent proposes it again if it still allows the list;
- its risk is put on hold or assessed again (:func:`leave_on_risk_change`, called by ``triage``);
- its assessment lapses: the re-assessment date is reached. Nothing runs on that day, so
  :func:`entry_standing` counts the entry as left for risk whenever the list is read, printed or
  exported, and the next action that touches the entry (:func:`settle`) stores it as left.

Once the session is held its list is history (what was handed over): nothing leaves it any more.
An approved case that leaves goes back to "on agenda" (when linked to an agenda item) or
"accepted". The co-chairs see "left the list: consent" or "left the list: risk", never more.
A case that leaves after a consent change does so on the day the change arrived: its ``left_at``
holds that day only (midnight UTC), like the change itself, so the row does not tell when the
submitter acted.

Every action records one audit event with ids and labels only. Services check everything first
and then change, in the caller's transaction; a refusal leaves nothing stored once the caller
rolls back.
"""

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    DialogueSession,
    HandoverEntry,
    HandoverLeaving,
    StaffUser,
    Submission,
    SubmissionState,
)
from portal.services.audit.trail import (
    AuditAction,
    record_session_event,
    record_submission_event,
)
from portal.services.desks import need_to_know
from portal.services.dialogues.dialogue_sessions import has_been_held
from portal.services.rounds import round_consent
from portal.services.staff import triage
from portal.services.submissions.inbox import KINDS_WITH_CONSENT
from portal.translatable import translatable

S = SubmissionState
# A case raised or debriefed in an earlier round may go on a later round's list: its persons
# are asked again first (``round_consent.was_taken_up_before``), and its record stays with the
# earlier round (``CaseOutcome``).
PROPOSABLE_STATES = frozenset({S.ACCEPTED, S.ON_AGENDA, S.RAISED, S.DEBRIEFED})


class HandoverForbiddenError(PermissionError):
    """The person may not take this decision; the message says why and can be shown as is."""


class HandoverRefusedError(ValueError):
    """A decision that cannot be taken now; the message says why and can be shown as is."""


class Standing(enum.StrEnum):
    """Where an entry stands today."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    LEFT = "left"


@dataclass(frozen=True)
class EntryStanding:
    standing: Standing
    left_reason: HandoverLeaving | None = None

    @property
    def in_force(self) -> bool:
        return self.standing is not Standing.LEFT


# --- what a list is and where an entry stands --------------------------------------------------


def assessment_lapsed(submission: Submission, today: dt.date) -> bool:
    """Whether the case's risk assessment is due: its re-assessment date is today or past."""
    return submission.risk_reassess_on is not None and submission.risk_reassess_on <= today


def entry_standing(entry: HandoverEntry, today: dt.date) -> EntryStanding:
    """Where ``entry`` stands on ``today``: the one answer every page, print and export uses.

    A stored leaving counts first; a risk hold or a lapsed assessment counts as left for risk
    even before anything has stored it (see :func:`settle`).
    """
    if entry.left_at is not None:
        return EntryStanding(Standing.LEFT, entry.left_reason)
    at_risk = entry.submission.risk_hold or assessment_lapsed(entry.submission, today)
    if at_risk and not has_been_held(entry.session):  # a held session's list is history
        return EntryStanding(Standing.LEFT, HandoverLeaving.RISK)
    if entry.approved_at is not None:
        return EntryStanding(Standing.APPROVED)
    return EntryStanding(Standing.PROPOSED)


def session_entries(session: Session, dialogue_session: DialogueSession) -> list[HandoverEntry]:
    """Every entry of the session's list, in the order they were proposed."""
    return list(
        session.scalars(
            select(HandoverEntry)
            .where(HandoverEntry.session_id == dialogue_session.id)
            .order_by(HandoverEntry.proposed_at, HandoverEntry.id)
        )
    )


def entry_of(
    session: Session, dialogue_session: DialogueSession, entry_id: int
) -> HandoverEntry | None:
    """The entry ``entry_id`` if it belongs to this session's list."""
    entry = session.get(HandoverEntry, entry_id)
    if entry is None or entry.session_id != dialogue_session.id:
        return None
    return entry


def sessions_to_propose_for(submission: Submission) -> list[DialogueSession]:
    """The sessions whose list ``submission`` may be proposed for: its own session or a later
    one of its dialogue, not held yet; any session not held yet for a reprisal report."""
    if submission.kind not in KINDS_WITH_CONSENT:
        return []
    own = submission.session
    return [
        candidate
        for candidate in sorted(submission.dialogue.sessions, key=_order)
        if not has_been_held(candidate) and (own is None or _order(candidate) >= _order(own))
    ]


def proposal_refusal(
    session: Session,
    submission: Submission,
    opened: Any,
    dialogue_session: DialogueSession,
    *,
    today: dt.date,
) -> str | None:
    """Why ``submission`` may not go on ``dialogue_session``'s list now, or ``None`` if it may.

    ``opened`` is the case opened for staff (``reading.open_submission_for_staff``): only its
    persons' consent for this round can say whether their names may be handed over.
    """
    if submission.kind not in KINDS_WITH_CONSENT:
        return "only individual cases and reprisal reports go on the handover list"
    if dialogue_session not in sessions_to_propose_for(submission):
        return "a case goes on the list of its own session or of a later one that is not held yet"
    if dialogue_session.handover_frozen_at is not None:
        return "the handover list of this session is frozen"
    if submission.state not in PROPOSABLE_STATES:
        return (
            "only an accepted case, one on the agenda or one taken up in an earlier round goes "
            "on the handover list"
        )
    if submission.risk_level is None:
        return "assess the risk before proposing the case for the handover list"
    if submission.risk_hold:
        return "the case is on risk hold"
    if assessment_lapsed(submission, today):
        return "the risk assessment is due: assess the risk again first"
    if any(not change.usable for change in opened.consent_changes):
        return "a consent change of this case could not be verified"
    persons = round_consent.persons_in_round(session, opened, submission, dialogue_session)
    if not persons:
        return "the case names nobody who could go on the handover list"
    if round_consent.may_go_on_handover_list(persons):
        return None
    if any(person.awaiting_confirmation for person in persons):
        return "not every person named has confirmed their consent for this round"
    return "not every person named has consented to the handover list"


# --- the actions -------------------------------------------------------------------------------


def propose(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    opened: Any,
    dialogue_session: DialogueSession,
    *,
    now: dt.datetime,
) -> HandoverEntry:
    """Propose ``submission`` for ``dialogue_session``'s list; the state does not change.

    An entry that left a list earlier (or was due to) is taken back to a fresh proposal; a case
    already proposed or listed for a session is refused.
    """
    require_proposer(session, actor, submission, now=now)
    today = now.date()
    settle(session, actor, submission, now=now)
    in_force = _in_force(submission)
    if in_force:
        raise HandoverRefusedError(
            translatable("the case is already proposed for a handover list, or on one")
            if in_force[0].session_id != dialogue_session.id
            else translatable("the case is already proposed for this list, or on it")
        )
    refusal = proposal_refusal(session, submission, opened, dialogue_session, today=today)
    if refusal is not None:
        raise HandoverRefusedError(refusal)
    entry = next(
        (item for item in submission.handover_entries if item.session_id == dialogue_session.id),
        None,
    )
    if entry is None:
        entry = HandoverEntry(session_id=dialogue_session.id)
        submission.handover_entries.append(entry)
    entry.proposed_by_id = actor.id
    entry.proposed_at = now
    entry.approved_by_id = entry.approved_at = entry.left_at = entry.left_reason = None
    session.flush()
    _record(session, AuditAction.SUBMISSION_PROPOSED_FOR_HANDOVER, actor, entry)
    return entry


def approve(
    session: Session, actor: StaffUser, entry: HandoverEntry, opened: Any, *, now: dt.datetime
) -> None:
    """Approve a proposal: the rule again, then the case is on the list."""
    submission = entry.submission
    require_approver(session, actor, entry, now=now)
    if settle(session, actor, submission, now=now):
        raise HandoverRefusedError(
            translatable("the case has left the list: its risk assessment is due")
        )
    _require_open_proposal(entry)
    refusal = proposal_refusal(session, submission, opened, entry.session, today=now.date())
    if refusal is not None:
        raise HandoverRefusedError(refusal)
    triage.change_state(submission, S.ON_HANDOVER_LIST)
    entry.approved_by_id = actor.id
    entry.approved_at = now
    session.flush()
    _record(session, AuditAction.HANDOVER_APPROVED, actor, entry)


def reject(session: Session, actor: StaffUser, entry: HandoverEntry, *, now: dt.datetime) -> None:
    """Reject a proposal: its row goes, the audit event stays, the case may be proposed again."""
    require_approver(session, actor, entry, now=now)
    if settle(session, actor, entry.submission, now=now):
        raise HandoverRefusedError(
            translatable("the case has left the list: its risk assessment is due")
        )
    _require_open_proposal(entry)
    _record(session, AuditAction.HANDOVER_REJECTED, actor, entry)
    entry.submission.handover_entries.remove(entry)
    session.flush()


def freeze(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession, *, now: dt.datetime
) -> None:
    """Freeze the list: what is approved now is what is printed, exported and handed over.

    Entries whose assessment lapsed are stored as left first, so the frozen list says so.
    """
    _require_co_chair(session, actor, dialogue_session)
    if dialogue_session.handover_frozen_at is not None:
        raise HandoverRefusedError(translatable("the handover list is already frozen"))
    for entry in session_entries(session, dialogue_session):
        settle(session, actor, entry.submission, now=now)
    dialogue_session.handover_frozen_at = now
    dialogue_session.handover_frozen_by_id = actor.id
    session.flush()
    record_session_event(session, AuditAction.HANDOVER_FROZEN, actor, dialogue_session)


def unfreeze(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession, *, now: dt.datetime
) -> None:
    """Open a frozen list again, until the session is held."""
    _require_co_chair(session, actor, dialogue_session)
    if dialogue_session.handover_frozen_at is None:
        raise HandoverRefusedError(translatable("the handover list is not frozen"))
    if has_been_held(dialogue_session):
        raise HandoverRefusedError(
            translatable("the session is held: its handover list stays as it was")
        )
    for entry in session_entries(session, dialogue_session):
        settle(session, actor, entry.submission, now=now)
    dialogue_session.handover_frozen_at = None
    dialogue_session.handover_frozen_by_id = None
    session.flush()
    record_session_event(session, AuditAction.HANDOVER_UNFROZEN, actor, dialogue_session)


# --- leaving -----------------------------------------------------------------------------------


def leave_on_consent_change(session: Session, submission: Submission, *, today: dt.date) -> None:
    """A consent change arrived for ``submission``: it leaves every list it is on or proposed
    for, on the day the change arrived (see the module docstring)."""
    day = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    _leave(session, None, _in_force(submission), HandoverLeaving.CONSENT, day)


def leave_on_risk_change(
    session: Session, actor: StaffUser, submission: Submission, *, now: dt.datetime
) -> None:
    """Its risk was put on hold or assessed again: ``submission`` leaves every list."""
    _leave(session, actor, _in_force(submission), HandoverLeaving.RISK, now)


def settle(
    session: Session, actor: StaffUser | None, submission: Submission, *, now: dt.datetime
) -> bool:
    """Store as left, for risk, the entries of ``submission`` that :func:`entry_standing` already
    counts as left (a lapsed assessment, a hold set outside ``triage``); whether there were any."""
    due = [
        entry
        for entry in _in_force(submission)
        if entry_standing(entry, now.date()).standing is Standing.LEFT
    ]
    _leave(session, actor, due, HandoverLeaving.RISK, now)
    return bool(due)


def _in_force(submission: Submission) -> list[HandoverEntry]:
    """The entries a change can take off: not left, on the list of a session not held yet."""
    return [
        entry
        for entry in submission.handover_entries
        if entry.left_at is None and not has_been_held(entry.session)
    ]


def _leave(
    session: Session,
    actor: StaffUser | None,
    entries: Iterable[HandoverEntry],
    reason: HandoverLeaving,
    when: dt.datetime,
) -> None:
    for entry in entries:
        submission = entry.submission
        if entry.approved_at is not None and submission.state is S.ON_HANDOVER_LIST:
            triage.change_state(submission, S.ON_AGENDA if submission.agenda_links else S.ACCEPTED)
        entry.left_at = when
        entry.left_reason = reason
        session.flush()
        _record(session, AuditAction.HANDOVER_LEFT, actor, entry, reason=str(reason))


# --- who may ------------------------------------------------------------------------------------


def require_proposer(
    session: Session, actor: StaffUser, submission: Submission, *, now: dt.datetime
) -> None:
    """A triage officer on the desk who reads the case."""
    if not need_to_know.may_triage(session, actor, submission.dialogue):
        raise HandoverForbiddenError(
            translatable("only triage officers on this desk propose cases for the handover list")
        )
    _require_reading(session, actor, submission, now=now)


def require_approver(
    session: Session, actor: StaffUser, entry: HandoverEntry, *, now: dt.datetime
) -> None:
    """A co-chair on the desk who reads the case and did not propose it (checked first, so
    that the proposer is told why)."""
    if actor.id == entry.proposed_by_id:
        raise HandoverForbiddenError(
            translatable(
                "you proposed this case: another person, a co-chair, approves or rejects it"
            )
        )
    if not need_to_know.may_decide_handover(session, actor, entry.submission.dialogue):
        raise HandoverForbiddenError(
            translatable("only co-chairs on this desk approve the handover list")
        )
    _require_reading(session, actor, entry.submission, now=now)


def _require_reading(
    session: Session, actor: StaffUser, submission: Submission, *, now: dt.datetime
) -> None:
    access = need_to_know.submission_access(session, actor, submission, now=now)
    if access is not need_to_know.Access.READ:
        raise HandoverForbiddenError(
            translatable("this case is restricted to the members named on it")
        )


def _require_co_chair(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession
) -> None:
    if not need_to_know.may_decide_handover(session, actor, dialogue_session.dialogue):
        raise HandoverForbiddenError(
            translatable("only co-chairs on this desk freeze the handover list")
        )


def _require_open_proposal(entry: HandoverEntry) -> None:
    if entry.session.handover_frozen_at is not None:
        raise HandoverRefusedError(translatable("the handover list of this session is frozen"))
    if entry.left_at is not None:
        raise HandoverRefusedError(translatable("the case has left the list"))
    if entry.approved_at is not None:
        raise HandoverRefusedError(translatable("the case is already approved for the list"))


# --- audit -------------------------------------------------------------------------------------


def _record(
    session: Session,
    action: AuditAction,
    actor: StaffUser | None,
    entry: HandoverEntry,
    **details: Any,
) -> None:
    details = {"dialogue_session": entry.session_id, "handover_entry": entry.id, **details}
    record_submission_event(session, action, actor, entry.submission, **details)


def _order(dialogue_session: DialogueSession) -> tuple[dt.date, int]:
    return (dialogue_session.date, dialogue_session.id)
