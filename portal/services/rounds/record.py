"""The session's record: the one home of its rules, entered by the desk after the session.

What the record holds, and who may enter it:

- **held**: the day the session took place (on or after its planned day, never in the future)
  and where (Brussels, the partner country, video). The first time, this moves the session to
  ``held`` through ``dialogues.dialogue_sessions`` (the one home of session stages); later it
  corrects the day or the place.
- **agenda items**: whether each was discussed, and the partner government's reply under it
  (``ITEM_REPLY``, a sealed desk text).
- **cases and reprisal reports** on the session's agenda (linked to one of its items) or its
  handover list (an approved entry of the session): how each was raised -- during an item,
  which must be of this session, and only when its persons' consent for this round lets the
  situation be raised at all (``round_consent``); on the handover list, only when its approved
  entry was in force on the day the session was held; or not raised, with a reason from a closed
  list -- and the partner's reply (``CASE_REPLY``). A case not raised has no reply. Raising moves
  the submission to ``raised`` through ``staff.triage.change_state``; a correction to "not
  raised" moves it back to the list or the agenda, unless another session raised it.
- **seminar recommendations** of the seminar submissions linked to the session's items: for each
  recommendation (its place in the submission's list), discussed / taken up / not taken up with
  a reason from a closed list, and optional words (``RECOMMENDATION_NOTE``).
- **complete**: when every item, case and recommendation has its entry, the record is declared
  complete (``record_completed_at``). It stays correctable afterwards -- a reply read wrongly or
  an outcome mistyped must be put right before the debrief is written from it -- and every change
  after completion is audited as a correction.

Who: the desk's triage officers and co-chairs (:func:`may_record`); the record of a case (and its
reply) needs read access to the case too, so a case restricted to named members is recorded by
them. Every action records one audit event with ids and closed-list values only; the words are
desk texts, sealed to the desk key and signed (``rounds.desk_texts``), never plaintext. A refused
action raises before the caller commits, so nothing is half-stored.

:func:`case_history` is the case's record across rounds, metadata only; :func:`case_replies`
adds the reply texts for a reader who may read the case.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    CaseOutcome,
    DeskText,
    DeskTextPurpose,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    RecommendationResponse,
    SessionPlace,
    SessionState,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.audit.trail import (
    AuditAction,
    record_session_event,
    record_submission_event,
)
from portal.services.desks import need_to_know
from portal.services.dialogues import dialogue_sessions
from portal.services.rounds import round_consent
from portal.services.rounds.desk_texts import (
    DeskTextRefusedError,
    ReadDeskText,
    read_desk_texts,
    subject_of,
    write_desk_text,
)
from portal.services.staff import triage
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusedError,
    open_submission_for_staff,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import KINDS_WITH_CONSENT
from portal.translatable import translatable

S = SubmissionState
RAISED = round_consent.RAISED_IN_SESSION


class RecordRefusedError(ValueError):
    """An entry that cannot be made now; the message says why and can be shown as is."""


class RecordForbiddenError(PermissionError):
    """The staff member may not enter this record, or not this case's part of it."""


@dataclass(frozen=True)
class RoundRecord:
    """How a case fared in one held session: plaintext metadata, no words."""

    dialogue_session: DialogueSession
    held_on: dt.date | None
    how_raised: HowRaised
    agenda_item: AgendaItem | None
    not_raised_reason: NotRaisedReason | None
    has_reply: bool


# --- who, and what is on the record ------------------------------------------------------------


def may_record(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` enters the records of ``dialogue``'s sessions: those who manage its
    sessions, its triage officers and co-chairs (an administrator or observer on a desk does
    not)."""
    return dialogue_sessions.may_manage_sessions(session, user, dialogue)


def held_day_recorded(dialogue_session: DialogueSession) -> bool:
    """Whether the session has taken place and its day is on the record, so that the rest of
    its record may be entered."""
    return (
        dialogue_sessions.has_been_held(dialogue_session) and dialogue_session.held_on is not None
    )


def agenda_items(session: Session, dialogue_session: DialogueSession) -> list[AgendaItem]:
    """The items of the session's agenda in their order: those a co-chair included (a proposal
    never taken in was not on the agenda the session followed)."""
    return list(
        session.scalars(
            select(AgendaItem)
            .where(
                AgendaItem.session_id == dialogue_session.id,
                AgendaItem.status == AgendaItemStatus.INCLUDED,
            )
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def _linked_to_agenda(dialogue_session: DialogueSession) -> Select[tuple[int]]:
    """The ids of the submissions linked to an included item of the session's agenda."""
    return (
        select(AgendaLink.submission_id)
        .join(AgendaItem, AgendaItem.id == AgendaLink.agenda_item_id)
        .where(
            AgendaItem.session_id == dialogue_session.id,
            AgendaItem.status == AgendaItemStatus.INCLUDED,
        )
    )


def agenda_item_of(
    session: Session, dialogue_session: DialogueSession, item_id: int
) -> AgendaItem | None:
    """Item ``item_id`` if it is on this session's agenda (included)."""
    item = session.get(AgendaItem, item_id)
    on_agenda = item is not None and item.session_id == dialogue_session.id
    return item if on_agenda and item.status is AgendaItemStatus.INCLUDED else None


def cases_on_record(session: Session, dialogue_session: DialogueSession) -> list[Submission]:
    """The cases and reprisal reports the record speaks of: linked to one of the session's items,
    or approved for its handover list (also those that left it since)."""
    linked = _linked_to_agenda(dialogue_session)
    listed = select(HandoverEntry.submission_id).where(
        HandoverEntry.session_id == dialogue_session.id, HandoverEntry.approved_at.is_not(None)
    )
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.kind.in_(KINDS_WITH_CONSENT),
                Submission.id.in_(linked) | Submission.id.in_(listed),
            )
            .order_by(Submission.kind, Submission.id)
        )
    )


def seminars_on_record(session: Session, dialogue_session: DialogueSession) -> list[Submission]:
    """The seminar submissions linked to the session's items, whose recommendations get a
    response."""
    linked = _linked_to_agenda(dialogue_session)
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.kind == SubmissionKind.SEMINAR_RECOMMENDATIONS,
                Submission.id.in_(linked),
            )
            .order_by(Submission.id)
        )
    )


def handover_entry_in_force(
    session: Session, dialogue_session: DialogueSession, submission: Submission
) -> HandoverEntry | None:
    """The case's approved entry on the session's list if it was in force on the day the session
    was held: approved by then, and not left before the day after (a case that left on the day
    itself counts as gone, the safer reading)."""
    entry = session.scalars(
        select(HandoverEntry).where(
            HandoverEntry.session_id == dialogue_session.id,
            HandoverEntry.submission_id == submission.id,
        )
    ).first()
    held_on = dialogue_session.held_on
    if entry is None or entry.approved_at is None or held_on is None:
        return None
    if _utc_day(entry.approved_at) > held_on:
        return None
    if entry.left_at is not None and _utc_day(entry.left_at) <= held_on:
        return None
    return entry


def recommendations_of(opened: OpenedForStaff) -> list[dict[str, Any]]:
    """The recommendations of an opened seminar submission, in their order."""
    found = opened.payload.get("recommendations", [])
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


# --- held --------------------------------------------------------------------------------------


def record_held(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    *,
    held_on: dt.date,
    place: SessionPlace,
    today: dt.date,
) -> None:
    """Record the day and place the session was held, moving it to ``held`` unless it is there
    already (the session's page may have moved it without a day); a second time corrects them."""
    _require_recorder(session, actor, dialogue_session)
    if held_on < dialogue_session.date:
        raise RecordRefusedError(
            translatable(
                "the session was planned for %(date)s; it cannot have been held before that day",
                date=dialogue_session.date,
            )
        )
    if held_on > today:
        raise RecordRefusedError(
            translatable(
                "%(date)s is still to come; record a session once it has taken place",
                date=held_on,
            )
        )
    correction = dialogue_session.held_on is not None
    if not dialogue_sessions.has_been_held(dialogue_session):
        try:
            dialogue_sessions.advance_session(
                session, dialogue_session, SessionState.HELD, today=today, actor=actor
            )
        except dialogue_sessions.SessionChangeRefusedError as refusal:
            raise RecordRefusedError(str(refusal)) from None
    dialogue_session.held_on = held_on
    dialogue_session.held_place = place
    session.flush()
    record_session_event(
        session,
        AuditAction.SESSION_HELD_RECORDED,
        actor,
        dialogue_session,
        held_on=held_on.isoformat(),
        place=str(place),
        correction=correction,
    )


# --- agenda items ------------------------------------------------------------------------------


def record_item(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    item: AgendaItem,
    *,
    discussed: bool,
    reply: str,
    now: dt.datetime,
) -> None:
    """Whether ``item`` was discussed, and the partner's reply under it (empty: none)."""
    actor = signed_in.user
    _require_recorder(session, actor, dialogue_session)
    _require_held(dialogue_session)
    if item.session_id != dialogue_session.id:
        raise RecordRefusedError(translatable("the item is not on this session's agenda"))
    if reply.strip() and not discussed:
        raise RecordRefusedError(
            translatable("an item that was not discussed has no reply from the partner")
        )
    correction = _is_correction(dialogue_session)
    item.discussed = discussed
    session.flush()
    _write_text(
        session,
        signed_in,
        dialogue_session,
        subject_of(DeskTextPurpose.ITEM_REPLY, agenda_item_id=item.id),
        reply,
        now,
    )
    record_session_event(
        session,
        AuditAction.AGENDA_ITEM_RECORDED,
        actor,
        dialogue_session,
        agenda_item=item.id,
        discussed=discussed,
        correction=correction,
    )


# --- cases and reprisal reports ----------------------------------------------------------------


def record_case(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    submission: Submission,
    *,
    how: HowRaised,
    agenda_item_id: int | None,
    reason: NotRaisedReason | None,
    reply: str,
    now: dt.datetime,
) -> CaseOutcome:
    """How ``submission`` was raised in the session, and the partner's reply (see the module
    docstring for the rules); returns its outcome row."""
    actor = signed_in.user
    _require_recorder(session, actor, dialogue_session)
    _require_held(dialogue_session)
    if submission not in cases_on_record(session, dialogue_session):
        raise RecordRefusedError(
            translatable("the case is on neither this session's agenda nor its list")
        )
    opened = _opened(session, signed_in, submission, now)
    item = _check_how(session, dialogue_session, submission, opened, how, agenda_item_id, reason)
    if how is HowRaised.NOT_RAISED and reply.strip():
        raise RecordRefusedError(
            translatable("a case that was not raised has no reply from the partner")
        )
    correction = _is_correction(dialogue_session)
    outcome = session.scalars(
        select(CaseOutcome).where(
            CaseOutcome.session_id == dialogue_session.id,
            CaseOutcome.submission_id == submission.id,
        )
    ).first() or CaseOutcome(session_id=dialogue_session.id, submission_id=submission.id)
    outcome.how_raised = how
    outcome.agenda_item_id = None if item is None else item.id
    outcome.not_raised_reason = reason
    outcome.recorded_by_id = actor.id
    outcome.recorded_at = now
    session.add(outcome)
    session.flush()
    previous = _follow_state(session, dialogue_session, submission)
    _write_text(
        session,
        signed_in,
        dialogue_session,
        subject_of(DeskTextPurpose.CASE_REPLY, submission=submission),
        reply,
        now,
    )
    record_submission_event(
        session,
        AuditAction.CASE_OUTCOME_RECORDED,
        actor,
        submission,
        dialogue_session=dialogue_session.id,
        how_raised=str(how),
        agenda_item=outcome.agenda_item_id,
        reason=None if reason is None else str(reason),
        previous=None if previous is None else str(previous),
        correction=correction,
    )
    return outcome


def _check_how(
    session: Session,
    dialogue_session: DialogueSession,
    submission: Submission,
    opened: OpenedForStaff,
    how: HowRaised,
    agenda_item_id: int | None,
    reason: NotRaisedReason | None,
) -> AgendaItem | None:
    """The item a case was raised under (``None`` unless during an item), once ``how`` is
    checked against the item, the reason, the consent and the list."""
    if how is not HowRaised.NOT_RAISED and reason is not None:
        raise RecordRefusedError(
            translatable("a reason is given only for a case that was not raised")
        )
    if how is not HowRaised.DURING_ITEM and agenda_item_id is not None:
        raise RecordRefusedError(
            translatable("an agenda item is named only for a case raised during one")
        )
    if how is HowRaised.NOT_RAISED:
        if reason is None:
            raise RecordRefusedError(translatable("say why the case was not raised"))
        return None
    if how is HowRaised.HANDOVER_LIST:
        if handover_entry_in_force(session, dialogue_session, submission) is None:
            raise RecordRefusedError(
                translatable(
                    "the case had no approved entry in force on this session's handover list "
                    "on the day it was held"
                )
            )
        return None
    item = (
        None
        if agenda_item_id is None
        else agenda_item_of(session, dialogue_session, agenda_item_id)
    )
    if item is None:
        raise RecordRefusedError(
            translatable("choose the item of this session's agenda it was raised under")
        )
    if not consent_allows_raising(session, opened, submission, dialogue_session):
        raise RecordRefusedError(
            translatable(
                "the consent for this round did not allow raising the case: nobody it names "
                "allowed more than background"
            )
        )
    return item


def consent_allows_raising(
    session: Session, opened: Any, submission: Submission, dialogue_session: DialogueSession
) -> bool:
    """Whether this round's consent let the case's situation be raised at all: at least one
    person it names may be raised (``round_consent``), and no consent change failed its check
    (it may be the submitter's own withdrawal, tampered with). A reprisal report that names
    nobody (the harm was done to an organisation) may be raised."""
    if any(not change.usable for change in opened.consent_changes):
        return False
    persons = round_consent.persons_in_round(session, opened, submission, dialogue_session)
    if not persons:
        return submission.kind is SubmissionKind.REPRISAL_REPORT
    return any(person.may_raise for person in persons)


def _follow_state(
    session: Session, dialogue_session: DialogueSession, submission: Submission
) -> SubmissionState | None:
    """Move the submission's state after its outcomes: ``raised`` once any session raised it;
    back to the list or the agenda when a correction leaves no session that raised it. Returns
    the state it left, or ``None`` when it stays."""
    raised = session.scalar(
        select(
            exists().where(
                CaseOutcome.submission_id == submission.id, CaseOutcome.how_raised.in_(RAISED)
            )
        )
    )
    try:
        if raised and submission.state not in (S.RAISED, S.DEBRIEFED):
            return triage.change_state(submission, S.RAISED)
        if not raised and submission.state is S.RAISED:
            listed = session.scalar(
                select(
                    exists().where(
                        HandoverEntry.session_id == dialogue_session.id,
                        HandoverEntry.submission_id == submission.id,
                        HandoverEntry.left_at.is_(None),
                    )
                )
            )
            return triage.change_state(submission, S.ON_HANDOVER_LIST if listed else S.ON_AGENDA)
    except triage.TriageRefusedError as refusal:
        raise RecordRefusedError(str(refusal)) from None
    return None


# --- seminar recommendations -------------------------------------------------------------------


def record_recommendation(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    submission: Submission,
    index: int,
    *,
    outcome: RecommendationOutcome,
    reason: NotTakenUpReason | None,
    note: str,
    now: dt.datetime,
) -> RecommendationResponse:
    """The response to recommendation ``index`` (from 0) of a seminar submission linked to the
    session, with optional words."""
    actor = signed_in.user
    _require_recorder(session, actor, dialogue_session)
    _require_held(dialogue_session)
    if submission not in seminars_on_record(session, dialogue_session):
        raise RecordRefusedError(translatable("the seminar is not linked to this session's agenda"))
    opened = _opened(session, signed_in, submission, now)
    if not 0 <= index < len(recommendations_of(opened)):
        raise RecordRefusedError(translatable("the seminar has no such recommendation"))
    if (outcome is RecommendationOutcome.NOT_TAKEN_UP) != (reason is not None):
        raise RecordRefusedError(
            translatable("give a reason when, and only when, a recommendation was not taken up")
        )
    correction = _is_correction(dialogue_session)
    response = session.scalars(
        select(RecommendationResponse).where(
            RecommendationResponse.session_id == dialogue_session.id,
            RecommendationResponse.submission_id == submission.id,
            RecommendationResponse.recommendation_index == index,
        )
    ).first() or RecommendationResponse(
        session_id=dialogue_session.id, submission_id=submission.id, recommendation_index=index
    )
    response.outcome = outcome
    response.not_taken_up_reason = reason
    response.recorded_by_id = actor.id
    response.recorded_at = now
    session.add(response)
    session.flush()
    _write_text(
        session,
        signed_in,
        dialogue_session,
        subject_of(
            DeskTextPurpose.RECOMMENDATION_NOTE, submission=submission, recommendation_index=index
        ),
        note,
        now,
    )
    record_submission_event(
        session,
        AuditAction.RECOMMENDATION_RESPONSE_RECORDED,
        actor,
        submission,
        dialogue_session=dialogue_session.id,
        recommendation=index,
        outcome=str(outcome),
        reason=None if reason is None else str(reason),
        correction=correction,
    )
    return response


# --- completing --------------------------------------------------------------------------------


def missing_entries(
    session: Session,
    dialogue_session: DialogueSession,
    recommendation_counts: dict[int, int],
) -> tuple[int, int, int]:
    """How many items, cases and recommendations still lack their entry; ``recommendation_counts``
    gives the number of recommendations of each seminar on the record by submission id."""
    items = sum(1 for item in agenda_items(session, dialogue_session) if item.discussed is None)
    recorded_cases = set(
        session.scalars(
            select(CaseOutcome.submission_id).where(CaseOutcome.session_id == dialogue_session.id)
        )
    )
    cases = sum(
        1 for case in cases_on_record(session, dialogue_session) if case.id not in recorded_cases
    )
    responded = {
        (seminar_id, index)
        for seminar_id, index in session.execute(
            select(
                RecommendationResponse.submission_id, RecommendationResponse.recommendation_index
            ).where(RecommendationResponse.session_id == dialogue_session.id)
        )
    }
    recommendations = sum(
        1
        for seminar_id, count in recommendation_counts.items()
        for index in range(count)
        if (seminar_id, index) not in responded
    )
    return items, cases, recommendations


def complete_record(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    *,
    now: dt.datetime,
) -> None:
    """Declare the record complete once every item, case and recommendation has its entry.

    Counting the recommendations opens each seminar submission linked to the session, so the
    person completing must be able to read them all.
    """
    actor = signed_in.user
    _require_recorder(session, actor, dialogue_session)
    _require_held(dialogue_session)
    if dialogue_session.record_completed_at is not None:
        raise RecordRefusedError(
            translatable("the record is already complete; it can still be corrected")
        )
    counts = {
        seminar.id: len(recommendations_of(_opened(session, signed_in, seminar, now)))
        for seminar in seminars_on_record(session, dialogue_session)
    }
    items, cases, recommendations = missing_entries(session, dialogue_session, counts)
    if items or cases or recommendations:
        raise RecordRefusedError(
            translatable(
                "the record still lacks %(items)s agenda item(s), %(cases)s case(s) and "
                "%(recommendations)s recommendation(s)",
                items=items,
                cases=cases,
                recommendations=recommendations,
            )
        )

    dialogue_session.record_completed_at = now
    session.flush()
    record_session_event(session, AuditAction.SESSION_RECORD_COMPLETED, actor, dialogue_session)


# --- the case's record across rounds ----------------------------------------------------------


def case_history(
    session: Session, submission: Submission, *, before: DialogueSession | None = None
) -> list[RoundRecord]:
    """The case's record in every session that recorded it, oldest first; with ``before``, only
    the sessions held before that one (what the next round's briefing shows). No words here:
    :func:`case_replies` reads the replies for a reader who may."""
    outcomes = session.scalars(
        select(CaseOutcome)
        .join(DialogueSession, DialogueSession.id == CaseOutcome.session_id)
        .where(CaseOutcome.submission_id == submission.id)
        .order_by(DialogueSession.date, DialogueSession.id)
    )
    with_reply = set(
        session.scalars(
            select(DeskText.session_id).where(
                DeskText.submission_id == submission.id,
                DeskText.purpose == DeskTextPurpose.CASE_REPLY,
            )
        )
    )
    return [
        RoundRecord(
            dialogue_session=outcome.session,
            held_on=outcome.session.held_on,
            how_raised=outcome.how_raised,
            agenda_item=outcome.agenda_item,
            not_raised_reason=outcome.not_raised_reason,
            has_reply=outcome.session_id in with_reply,
        )
        for outcome in outcomes
        if before is None or _earlier(outcome.session, before)
    ]


def case_replies(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    *,
    now: dt.datetime,
    before: DialogueSession | None = None,
) -> list[tuple[RoundRecord, ReadDeskText | None]]:
    """:func:`case_history` with the partner's reply of each round, read through
    ``desk_texts``: ``None`` where there is none, where the reader holds no grant of the desk key
    it was sealed to, or for a reader who may not read the case itself (a case restricted to
    named members keeps its replies with them)."""
    history = case_history(session, submission, before=before)
    access = need_to_know.submission_access(session, signed_in.user, submission, now=now)
    if access is not need_to_know.Access.READ:
        return [(record, None) for record in history]
    subject = subject_of(DeskTextPurpose.CASE_REPLY, submission=submission)
    replies = []
    for record in history:
        texts = (
            read_desk_texts(
                session,
                signed_in,
                record.dialogue_session,
                frozenset({DeskTextPurpose.CASE_REPLY}),
            )
            if record.has_reply
            else {}
        )
        replies.append((record, texts.get(subject)))
    return replies


# --- helpers -----------------------------------------------------------------------------------


def _require_recorder(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession
) -> None:
    if not may_record(session, actor, dialogue_session.dialogue):
        raise RecordForbiddenError("only the desk's triage officers and co-chairs enter the record")


def _require_held(dialogue_session: DialogueSession) -> None:
    if not held_day_recorded(dialogue_session):
        raise RecordRefusedError(
            translatable("record first that the session was held, on which day and where")
        )


def _is_correction(dialogue_session: DialogueSession) -> bool:
    return dialogue_session.record_completed_at is not None


def _opened(
    session: Session, signed_in: SignedInStaff, submission: Submission, now: dt.datetime
) -> OpenedForStaff:
    """The submission opened for the recorder; one they may not read is not theirs to record."""
    try:
        return open_submission_for_staff(session, signed_in, submission, now=now)
    except ReadRefusedError:
        raise RecordForbiddenError("you may not read this submission") from None


def _write_text(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    subject: Any,
    text: str,
    now: dt.datetime,
) -> None:
    try:
        write_desk_text(session, signed_in, dialogue_session, subject, text, now=now)
    except DeskTextRefusedError as refusal:
        raise RecordRefusedError(str(refusal)) from None


def _earlier(one: DialogueSession, other: DialogueSession) -> bool:
    return (one.date, one.id) < (other.date, other.id)


def _utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()
