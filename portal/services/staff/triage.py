"""Every triage decision and every change of a submission's state, in one place.

Each action function checks everything first and only then changes anything, in the caller's
transaction, and records one audit event for what it did (details hold identifiers and
vocabulary values only, never content); the caller commits, or rolls back on a refusal, so that a
refused action leaves nothing half-stored. Two kinds of refusal:

- :class:`TriageForbiddenError` -- the person may not take this decision on this submission: not
  a triage officer on its desk (``need_to_know.may_triage``), or the submission is restricted to
  named members and they are not one (and hold no emergency access);
- :class:`TriageRefusedError` -- the decision itself is not possible now; the message says why,
  for the page.

States move only through :func:`change_state`, which consults :data:`ALLOWED_TRANSITIONS`; the
triage decisions (accept, decline) are further limited to the states :data:`DECISIONS_FROM`
names, and :func:`open_decisions` answers from it, so that the page offers only those and an
action posted anyway is refused by the same rule. The handover list's rules (propose, approve,
leave) live in ``portal.services.rounds.handover``.

Private notes are envelopes sealed to the submission dialogue's *current* desk key alone (not to
the submitter), so every desk member holding that key, and the recovery key through its grant,
can read them, and nobody else; each is signed by its author (``portal.services.staff.notes``,
which also holds the rule its readers apply). The row is flushed first (with an empty envelope)
to learn its id, then sealed, in the same transaction.

Agenda items and the links of submissions to them are the agenda's rules
(``portal.services.rounds.agenda``), which call :func:`change_state` for the moves they make.
"""

import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.models import (
    DeclineReason,
    DeskKeyGrant,
    DeskMembership,
    EmergencyAccess,
    NamedMember,
    RiskLevel,
    StaffUser,
    Submission,
    SubmissionState,
    Topic,
    TriageNote,
)
from portal.models.triage import MAX_JUSTIFICATION
from portal.services.audit.trail import AuditAction, record_event, record_submission_event
from portal.services.desks import need_to_know
from portal.services.rounds import handover  # the module: it imports this one
from portal.services.staff.notes import seal_signed_note
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.topic_rows import retag
from portal.translatable import translatable

S = SubmissionState

ALLOWED_TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    # Opening it moves a received submission into triage; a submission reviewed offline can be
    # decided without being opened on the server.
    S.RECEIVED: frozenset({S.IN_TRIAGE, S.ACCEPTED, S.DECLINED}),
    S.IN_TRIAGE: frozenset({S.ACCEPTED, S.DECLINED}),
    # A debrief notice moves what the desk took in to "debriefed" (``rounds.debrief``), raised
    # or not: its author has heard what became of it.
    S.ACCEPTED: frozenset({S.DECLINED, S.ON_AGENDA, S.ON_HANDOVER_LIST, S.DEBRIEFED}),
    S.DECLINED: frozenset({S.ACCEPTED}),
    # Back to accepted when its last agenda link is removed (``rounds.agenda``).
    S.ON_AGENDA: frozenset({S.ACCEPTED, S.ON_HANDOVER_LIST, S.RAISED, S.DEBRIEFED}),
    # Approval puts a case on the handover list; leaving it takes the case back to where it was.
    S.ON_HANDOVER_LIST: frozenset({S.ACCEPTED, S.ON_AGENDA, S.RAISED, S.DEBRIEFED}),
    # Back to the list or the agenda only when the session's record is corrected to "not
    # raised" and no other session raised it (``rounds.record``).
    S.RAISED: frozenset({S.DEBRIEFED, S.ON_AGENDA, S.ON_HANDOVER_LIST}),
    # A case debriefed in one round may go on a later round's handover list
    # (``rounds.handover``).
    S.DEBRIEFED: frozenset({S.ON_HANDOVER_LIST}),
    S.WITHDRAWN: frozenset(),
}


class Decision(enum.StrEnum):
    """A triage decision on a submission's state; marking a duplicate is a way of declining."""

    ACCEPT = "accept"
    DECLINE = "decline"


DECISIONS_FROM: dict[Decision, frozenset[SubmissionState]] = {
    # Taking it in, or reconsidering a decline. The table's other moves back to "accepted" (its
    # last agenda link removed, a handover list left) are the agenda's and the list's, not an
    # officer's decision: accepting a case on the agenda would leave it accepted with links.
    Decision.ACCEPT: frozenset({S.RECEIVED, S.IN_TRIAGE, S.DECLINED}),
    # Refusing it, or taking back an acceptance before it went further.
    Decision.DECLINE: frozenset({S.RECEIVED, S.IN_TRIAGE, S.ACCEPTED}),
}

REASSESSMENT_REQUIRED = frozenset({RiskLevel.MEDIUM, RiskLevel.HIGH})
MIN_JUSTIFICATION = 20


class TriageForbiddenError(PermissionError):
    """The person may not take triage decisions on this submission."""


class TriageRefusedError(ValueError):
    """A decision that cannot be taken now; the message says why and can be shown as is."""


# --- states ------------------------------------------------------------------------------------


def change_state(submission: Submission, new_state: SubmissionState) -> SubmissionState:
    """Move ``submission`` to ``new_state`` if the table allows it; return the old state."""
    old_state = submission.state
    if new_state not in ALLOWED_TRANSITIONS[old_state]:
        raise TriageRefusedError(
            translatable(
                'a submission at "%(state)s" cannot become "%(new_state)s"',
                state=old_state,
                new_state=new_state,
            )
        )
    submission.state = new_state
    return old_state


def open_decisions(submission: Submission) -> frozenset[Decision]:
    """The triage decisions ``submission`` is open to where it stands (:data:`DECISIONS_FROM`):
    an accepted one can still be declined, a declined one reconsidered and accepted, and one
    that has gone further (agenda, list, raised, debriefed) or was withdrawn is open to neither.
    """
    return frozenset(
        decision for decision, states in DECISIONS_FROM.items() if submission.state in states
    )


def _require_open(submission: Submission, decision: Decision) -> None:
    """Refuse ``decision`` unless :func:`open_decisions` offers it, naming where it stands."""
    if decision not in open_decisions(submission):
        raise TriageRefusedError(
            translatable(
                'a submission at "%(state)s" cannot be accepted now', state=submission.state
            )
            if decision is Decision.ACCEPT
            else translatable(
                'a submission at "%(state)s" cannot be declined now', state=submission.state
            )
        )


def note_opened(session: Session, submission: Submission) -> bool:
    """A desk member has opened ``submission``: a received one is now in triage."""
    if submission.state is not S.RECEIVED:
        return False
    change_state(submission, S.IN_TRIAGE)
    session.flush()
    return True


def note_debriefed(session: Session, submission: Submission) -> bool:
    """A debrief notice reached ``submission``'s author: it becomes "debriefed" where the table
    allows (taken in by the desk); a declined, withdrawn or untriaged one keeps its state."""
    if S.DEBRIEFED not in ALLOWED_TRANSITIONS[submission.state]:
        return False
    change_state(submission, S.DEBRIEFED)
    session.flush()
    return True


# --- who may decide ----------------------------------------------------------------------------


def require_triage(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> None:
    """Refuse unless ``user`` triages this desk and may read this submission."""
    if not need_to_know.may_triage(session, user, submission.dialogue):
        raise TriageForbiddenError("only triage officers on this desk take triage decisions")
    access = need_to_know.submission_access(session, user, submission, now=now)
    if access is not need_to_know.Access.READ:
        raise TriageForbiddenError("this submission is restricted to the members named on it")


# --- the actions -------------------------------------------------------------------------------


def set_topics(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    topics: Iterable[str],
    *,
    now: dt.datetime,
) -> None:
    """Replace the submission's topic tags with ``topics`` (values of ``Topic``)."""
    require_triage(session, actor, submission, now=now)
    chosen = set(topics)
    known = {str(topic) for topic in Topic}
    if not chosen <= known:
        raise TriageRefusedError(translatable("choose agenda themes from the list"))
    retag(session, submission, chosen)
    record_submission_event(
        session, AuditAction.SUBMISSION_TOPICS_TAGGED, actor, submission, topics=sorted(chosen)
    )


def assess_risk(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    *,
    level: RiskLevel,
    reassess_on: dt.date | None,
    gender_specific: bool,
    women_hrd: bool,
    named_member_ids: Sequence[int] = (),
    now: dt.datetime,
) -> None:
    """Record the risk assessment; a high risk restricts the submission to named members.

    ``gender_specific`` and ``women_hrd`` are the desk's own classification (a gender-specific
    threat; the case concerns a woman human-rights defender), plaintext so that the statistics
    can count them without opening anything; what the submitter said stays in the envelope.

    Medium and high need a re-assessment date (today or later). High needs at least one named
    member, each a member of the desk holding a grant of the submission's desk key; when nobody
    is named, the assessor is (the form names them by default too). Any other level removes the
    named members (the restriction ends). A new assessment takes the case off any handover list
    it is on or proposed for (``rounds.handover``): the list's second pair of eyes sees it again.
    """
    require_triage(session, actor, submission, now=now)
    if level in REASSESSMENT_REQUIRED and reassess_on is None:
        raise TriageRefusedError(translatable("a medium or high risk needs a re-assessment date"))
    if reassess_on is not None and reassess_on < now.date():
        raise TriageRefusedError(translatable("the re-assessment date cannot be in the past"))
    named: list[int] = []
    if level is RiskLevel.HIGH:
        named = sorted(set(named_member_ids) or {actor.id})
        eligible = {user.id for user in key_holders(session, submission)}
        if not set(named) <= eligible:
            raise TriageRefusedError(
                translatable(
                    "name only desk members who hold the desk key this submission is sealed to"
                )
            )
    submission.risk_level = level
    submission.risk_reassess_on = reassess_on
    submission.gender_specific_risk = gender_specific
    submission.women_hrd = women_hrd
    session.execute(delete(NamedMember).where(NamedMember.submission_id == submission.id))
    session.add_all(NamedMember(submission_id=submission.id, staff_user_id=uid) for uid in named)
    session.flush()
    session.expire(submission, ["named_members"])
    record_submission_event(
        session,
        AuditAction.SUBMISSION_RISK_ASSESSED,
        actor,
        submission,
        level=str(level),
        reassess_on=None if reassess_on is None else reassess_on.isoformat(),
        gender_specific=gender_specific,
        women_hrd=women_hrd,
    )
    record_submission_event(
        session, AuditAction.SUBMISSION_NAMED_MEMBERS_SET, actor, submission, members=named
    )
    handover.leave_on_risk_change(session, actor, submission, now=now)


def key_holders(session: Session, submission: Submission) -> list[StaffUser]:
    """The desk members who hold a grant of the key ``submission`` is sealed to, by name."""
    return list(
        session.scalars(
            select(StaffUser)
            .join(DeskKeyGrant, DeskKeyGrant.recipient_staff_user_id == StaffUser.id)
            .join(
                DeskMembership,
                (DeskMembership.staff_user_id == StaffUser.id)
                & (DeskMembership.dialogue_id == submission.dialogue_id),
            )
            .where(
                DeskKeyGrant.desk_key_id == submission.desk_key_id,
                StaffUser.active.is_(True),
                StaffUser.role.in_(need_to_know.CONTENT_ROLES),
            )
            .order_by(StaffUser.display_name, StaffUser.id)
        )
    )


def set_risk_hold(
    session: Session, actor: StaffUser, submission: Submission, hold: bool, *, now: dt.datetime
) -> None:
    """Put the submission on risk hold (nothing goes further) or take it off; either way it
    leaves any handover list it is on or proposed for (``rounds.handover``)."""
    require_triage(session, actor, submission, now=now)
    if submission.risk_hold == hold:
        raise TriageRefusedError(
            translatable("the submission is already on risk hold")
            if hold
            else translatable("there is no risk hold to clear")
        )
    submission.risk_hold = hold
    session.flush()
    action = (
        AuditAction.SUBMISSION_RISK_HOLD_SET if hold else AuditAction.SUBMISSION_RISK_HOLD_CLEARED
    )
    record_submission_event(session, action, actor, submission)
    handover.leave_on_risk_change(session, actor, submission, now=now)


def accept(session: Session, actor: StaffUser, submission: Submission, *, now: dt.datetime) -> None:
    require_triage(session, actor, submission, now=now)
    _require_open(submission, Decision.ACCEPT)
    old = change_state(submission, S.ACCEPTED)
    submission.decline_reason = None
    submission.duplicate_of_id = None
    session.flush()
    record_submission_event(
        session, AuditAction.SUBMISSION_ACCEPTED, actor, submission, previous=str(old)
    )


def decline(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    reason: DeclineReason,
    *,
    now: dt.datetime,
) -> None:
    require_triage(session, actor, submission, now=now)
    if reason is DeclineReason.DUPLICATE:
        raise TriageRefusedError(
            translatable("to decline as a duplicate, say which submission it duplicates")
        )
    _require_open(submission, Decision.DECLINE)
    old = change_state(submission, S.DECLINED)
    submission.decline_reason = reason
    submission.duplicate_of_id = None
    session.flush()
    record_submission_event(
        session,
        AuditAction.SUBMISSION_DECLINED,
        actor,
        submission,
        reason=str(reason),
        previous=str(old),
    )


def mark_duplicate(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    original_public_id: str,
    *,
    now: dt.datetime,
) -> None:
    """Decline ``submission`` as a duplicate of another submission of the same dialogue."""
    require_triage(session, actor, submission, now=now)
    _require_open(submission, Decision.DECLINE)
    original = session.scalars(
        select(Submission).where(
            Submission.public_id == original_public_id.strip(),
            Submission.dialogue_id == submission.dialogue_id,
        )
    ).first()
    if original is None:
        raise TriageRefusedError(
            translatable("there is no submission with that reference in this dialogue")
        )
    if original.id == submission.id:
        raise TriageRefusedError(translatable("a submission cannot duplicate itself"))
    if original.duplicate_of_id == submission.id:
        raise TriageRefusedError(
            translatable("that submission is already marked a duplicate of this one")
        )
    old = change_state(submission, S.DECLINED)
    submission.decline_reason = DeclineReason.DUPLICATE
    submission.duplicate_of_id = original.id
    session.flush()
    record_submission_event(
        session,
        AuditAction.SUBMISSION_MARKED_DUPLICATE,
        actor,
        submission,
        duplicate_of=original.id,
        previous=str(old),
    )


def add_note(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    text: str,
    *,
    now: dt.datetime,
) -> TriageNote:
    """Seal a private note to the dialogue's current desk key alone, signed by its author.

    The author must hold that desk key: their own grant opens it, and it certifies their
    personal signing key for the note (``notes.seal_signed_note``).
    """
    actor = signed_in.user
    require_triage(session, actor, submission, now=now)
    text = text.strip()
    if not text:
        raise TriageRefusedError(translatable("write the note first"))
    if len(text) > LONG_TEXT_LIMIT:
        raise TriageRefusedError(
            translatable("a note may hold at most %(limit)s characters", limit=LONG_TEXT_LIMIT)
        )
    try:
        desk_key, desk_private_key = need_to_know.open_current_desk_key(
            session, signed_in, submission.dialogue
        )
    except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
        raise TriageRefusedError(
            translatable(
                "you hold no grant of this dialogue's current desk key, "
                "so your note cannot be signed"
            )
        ) from None
    last = session.scalar(
        select(func.max(TriageNote.position)).where(TriageNote.submission_id == submission.id)
    )
    note = TriageNote(
        submission_id=submission.id,
        author_id=actor.id,
        desk_key=desk_key,
        envelope=b"",
        created_at=now,
        position=1 + (last or 0),
    )
    session.add(note)
    session.flush()
    seal_signed_note(
        note,
        submission,
        text,
        desk_private_key=desk_private_key,
        personal_key=signed_in.personal_key(),
    )
    session.flush()
    session.expire(submission, ["triage_notes"])
    record_event(
        session,
        action=AuditAction.TRIAGE_NOTE_ADDED,
        object_type="triage_note",
        object_id=note.id,
        actor=actor,
        dialogue=submission.dialogue,
        details={"submission": submission.id},
    )
    return note


# --- emergency access --------------------------------------------------------------------------


def grant_emergency_access(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    justification: str,
    *,
    now: dt.datetime,
) -> EmergencyAccess:
    """Open a restricted submission to a desk member who is not named on it, with a reason.

    The reason is staff prose kept on the row and shown to the desk; the audit event records
    that access was taken and until when, not the reason.
    """
    access = need_to_know.submission_access(session, actor, submission, now=now)
    if access is need_to_know.Access.NONE:
        raise TriageForbiddenError("only members of this desk may take emergency access")
    if access is need_to_know.Access.READ:
        raise TriageRefusedError(translatable("you may already read this submission"))
    grant = record_emergency_access(session, submission, actor, justification, now=now)
    record_submission_event(
        session,
        AuditAction.EMERGENCY_ACCESS,
        actor,
        submission,
        emergency_access=grant.id,
        expires_at=grant.expires_at.astimezone(dt.UTC).isoformat(),
    )
    return grant


def record_emergency_access(
    session: Session,
    submission: Submission,
    member: StaffUser,
    justification: str,
    *,
    now: dt.datetime,
) -> EmergencyAccess:
    """The row that shows the desk an emergency access of ``member`` to ``submission`` and why,
    valid for ``need_to_know.EMERGENCY_ACCESS_LIFETIME``; refused when the reason is too short
    or too long. The caller records its own audit event."""
    justification = justification.strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise TriageRefusedError(
            translatable(
                "write why the access is needed, in at least %(limit)s characters",
                limit=MIN_JUSTIFICATION,
            )
        )
    if len(justification) > MAX_JUSTIFICATION:
        raise TriageRefusedError(
            translatable("keep the reason to at most %(limit)s characters", limit=MAX_JUSTIFICATION)
        )

    grant = EmergencyAccess(
        submission_id=submission.id,
        staff_user_id=member.id,
        justification=justification,
        granted_at=now,
        expires_at=now + need_to_know.EMERGENCY_ACCESS_LIFETIME,
    )
    session.add(grant)
    session.flush()
    session.expire(submission, ["emergency_accesses"])
    return grant
