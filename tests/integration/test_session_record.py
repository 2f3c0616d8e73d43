"""The session's record (``rounds.record``) and its page (``blueprints.session_record``).

The service tests run on ``consultation_world``: its open session takes the submissions, then is
moved to yesterday and closed, as a session that has just taken place. The page tests run on a
writable demo instance, signed in as its triage officer and co-chair.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.models import (
    AgendaItem,
    AgendaLink,
    AuditEvent,
    CaseOutcome,
    DeskMembership,
    DeskText,
    DialogueSession,
    HandoverEntry,
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    RecommendationResponse,
    SessionPlace,
    SessionState,
    StaffRole,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.dialogues.catalogue import schedule_session
from portal.services.rounds import record
from portal.services.staff import triage
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from tests.conftest import ConsultationWorld
from tests.desk_world_support import CASE_FORM, founding_member, sent_submission, staff_account

REPLY = "The minister promised a review of the detention REPLY-CANARY-7f3a"
SEMINAR_FORM: dict[str, Any] = {
    "topics": [],
    "seminar": "Civil-society seminar, Brussels",
    "recommendations": [
        {
            "text": "Release all detained journalists.",
            "addressee": "Government",
            "topic": "freedom_of_expression",
        },
        {
            "text": "Ratify the optional protocol.",
            "addressee": "Parliament",
            "topic": "rule_of_law",
        },
    ],
}
REPRISAL_FORM: dict[str, Any] = {
    "topics": [],
    "what_happened": "The office was searched after the consultation.",
    "when": "Last month",
    "link_to_engagement": "They had met the EU delegation.",
    "urgency": "standard",
    "persons": [],
}


def _case_form(level: str) -> dict[str, Any]:
    persons = [{**CASE_FORM["persons"][0], "consent": {**CASE_FORM["persons"][0]["consent"]}}]
    persons[0]["consent"]["level"] = level
    return {**CASE_FORM, "persons": persons}


@dataclass
class Desk:
    """A consultation world whose session took place yesterday, with its desk and agenda."""

    world: ConsultationWorld
    officer: Any
    co_chair: Any
    item: AgendaItem
    other_item: AgendaItem

    @property
    def held(self) -> DialogueSession:
        return self.world.dialogue_session

    @property
    def today(self) -> dt.date:
        return self.world.now.date()

    def linked(self, kind: SubmissionKind, form: dict[str, Any]) -> Submission:
        """A submission sent, accepted and linked to the item."""
        sent = sent_submission(self.world, kind, form)
        if kind is SubmissionKind.REPRISAL_REPORT:
            # Reprisal reports belong to the dialogue: the standing point links them directly.
            self.world.session.add(AgendaLink(submission_id=sent.id, agenda_item_id=self.item.id))
            triage.change_state(sent, SubmissionState.ACCEPTED)
            triage.change_state(sent, SubmissionState.ON_AGENDA)
        else:
            triage.accept(self.world.session, self.officer.user, sent, now=self.world.now)
            triage.link_to_agenda(
                self.world.session, self.officer.user, sent, self.item.id, now=self.world.now
            )
        self.world.session.flush()
        return sent

    def enter_item(
        self, item: AgendaItem, *, discussed: bool = True, reply: str = "", by: Any = None
    ) -> None:
        record.record_item(
            self.world.session,
            by or self.co_chair,
            self.held,
            item,
            discussed=discussed,
            reply=reply,
            now=self.world.now,
        )

    def another_session(
        self, date: dt.date, state: SessionState, title: str
    ) -> tuple[DialogueSession, AgendaItem]:
        """Another session of the dialogue, with one agenda item like the first one's."""
        other = schedule_session(
            self.world.session,
            self.world.dialogue,
            date=date,
            place=SessionPlace.BRUSSELS,
            state=state,
            consultation_opens_at=None,
            consultation_closes_at=None,
        )
        item = AgendaItem(
            session_id=other.id,
            title=title,
            theme=self.item.theme,
            priority_of=self.item.priority_of,
            status=self.item.status,
        )
        self.world.session.add(item)
        self.world.session.flush()
        return other, item

    def close_and_hold(self) -> None:
        """The session took place yesterday; its consultation is closed."""
        self.held.date = self.today - dt.timedelta(days=1)
        self.held.state = SessionState.CONSULTATION_CLOSED
        self.world.session.flush()

    def record_held(self) -> None:
        self.close_and_hold()
        self.hold()

    def hold(
        self,
        *,
        on: dt.date | None = None,
        place: SessionPlace = SessionPlace.VIDEO,
        by: Any = None,
        session: DialogueSession | None = None,
    ) -> None:
        """Record a session (the first, by default) held on its day (by default), by the
        co-chair (by default)."""
        held = session or self.held
        record.record_held(
            self.world.session,
            (by or self.co_chair).user,
            held,
            held_on=on or held.date,
            place=place,
            today=self.today,
        )


@pytest.fixture
def desk(consultation_world: ConsultationWorld) -> Desk:
    world = consultation_world
    officer = founding_member(world, "tina")
    co_chair = founding_member(world, "carl", role=StaffRole.CO_CHAIR)
    item = triage.add_agenda_item(
        world.session, officer.user, world.dialogue_session, "Detention", None
    )
    other = triage.add_agenda_item(
        world.session, officer.user, world.dialogue_session, "Expression", None
    )
    return Desk(world, officer, co_chair, item, other)


def _count(world: ConsultationWorld, model: Any) -> int:
    return world.session.scalar(select(func.count()).select_from(model)) or 0


def _events(world: ConsultationWorld, action: str) -> list[AuditEvent]:
    return list(world.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _raise(desk: Desk, case: Submission, **changes: Any) -> CaseOutcome:
    arguments: dict[str, Any] = {
        "how": HowRaised.DURING_ITEM,
        "agenda_item_id": desk.item.id,
        "reason": None,
        "reply": "",
        "now": desk.world.now,
    }
    arguments.update(changes)
    return record.record_case(desk.world.session, desk.co_chair, desk.held, case, **arguments)


# --- held --------------------------------------------------------------------------------------


def test_held_only_on_or_after_its_day_and_never_in_the_future(desk: Desk) -> None:
    world = desk.world
    desk.close_and_hold()
    for held_on, words in (
        (desk.held.date - dt.timedelta(days=1), "planned for"),
        (desk.today + dt.timedelta(days=1), "still to come"),
    ):
        with pytest.raises(record.RecordRefusedError, match=words):
            desk.hold(on=held_on, place=SessionPlace.BRUSSELS)
    assert desk.held.state is SessionState.CONSULTATION_CLOSED and desk.held.held_on is None
    desk.hold(on=desk.today, place=SessionPlace.BRUSSELS, by=desk.officer)
    assert desk.held.state is SessionState.HELD and desk.held.held_on == desk.today
    # A correction changes the day and the place, not the stage.
    desk.hold()
    assert desk.held.held_place is SessionPlace.VIDEO and desk.held.state is SessionState.HELD
    events = _events(world, "session.held_recorded")
    assert [event.details["correction"] for event in events] == [False, True]
    assert len(_events(world, "session.state_changed")) == 1


def test_a_session_still_to_come_is_not_held_and_nothing_is_recorded_before(desk: Desk) -> None:
    with pytest.raises(record.RecordRefusedError, match="record first"):
        desk.enter_item(desk.item)
    desk.held.state = SessionState.CONSULTATION_CLOSED
    with pytest.raises(record.RecordRefusedError):
        desk.hold(place=SessionPlace.BRUSSELS)
    assert desk.held.state is SessionState.CONSULTATION_CLOSED


@pytest.mark.parametrize("role", [StaffRole.ADMINISTRATOR, StaffRole.OBSERVER])
def test_only_triage_officers_and_co_chairs_of_the_desk_record(desk: Desk, role: StaffRole) -> None:
    world = desk.world
    desk.close_and_hold()
    other = staff_account(world, f"someone-{role.value}", role)
    world.session.add(DeskMembership(dialogue_id=world.dialogue.id, staff_user_id=other.user.id))
    assert not record.may_record(world.session, other.user, world.dialogue)
    with pytest.raises(record.RecordForbiddenError):
        desk.hold(by=other)


# --- items -------------------------------------------------------------------------------------


def test_items_discussed_with_the_partners_reply_sealed(desk: Desk) -> None:
    world = desk.world
    desk.record_held()
    with pytest.raises(record.RecordRefusedError, match="not discussed"):
        desk.enter_item(desk.item, discussed=False, reply="Something")
    desk.enter_item(desk.item, reply=REPLY)
    desk.enter_item(desk.other_item, discussed=False, by=desk.officer)
    assert (desk.item.discussed, desk.other_item.discussed) == (True, False)
    text = world.session.scalars(select(DeskText)).one()
    assert text.agenda_item_id == desk.item.id and b"REPLY-CANARY" not in text.envelope
    events = _events(world, "agenda_item.recorded")
    assert [event.details["discussed"] for event in events] == [True, False]


# --- cases -------------------------------------------------------------------------------------


def test_a_case_raised_during_an_item_is_raised_with_its_reply_sealed(desk: Desk) -> None:
    world = desk.world
    case = desk.linked(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    desk.record_held()
    outcome = _raise(desk, case, reply=REPLY)
    assert case.state is SubmissionState.RAISED
    assert (
        outcome.agenda_item_id == desk.item.id and outcome.recorded_by_id == desk.co_chair.user.id
    )
    world.session.commit()
    stored = world.session.scalars(select(DeskText)).one()
    assert stored.submission_id == case.id and b"REPLY-CANARY" not in stored.envelope
    if world.database_file is not None:
        # Nothing of the reply in the database file or its write-ahead log.
        for path in world.database_file.parent.glob(world.database_file.name + "*"):
            assert b"REPLY-CANARY" not in path.read_bytes()
    replies = record.case_replies(world.session, desk.officer, case, now=world.now)
    assert [(entry.how_raised, read.text) for entry, read in replies if read] == [
        (HowRaised.DURING_ITEM, REPLY)
    ]
    event = _events(world, "submission.outcome_recorded")[0]
    assert event.details == {
        "dialogue_session": desk.held.id,
        "how_raised": "during_item",
        "agenda_item": desk.item.id,
        "reason": None,
        "previous": "on_agenda",
        "correction": False,
    }


def test_refused_ways_of_raising_store_nothing(desk: Desk) -> None:
    world = desk.world
    case = desk.linked(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    background = desk.linked(SubmissionKind.INDIVIDUAL_CASE, _case_form("internal_only"))
    stray = sent_submission(world, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    _elsewhere, foreign_item = desk.another_session(
        desk.today + dt.timedelta(days=400), SessionState.PLANNED, "Elsewhere"
    )
    desk.record_held()
    world.session.commit()
    refusals: list[tuple[Submission, dict[str, Any], str]] = [
        (stray, {}, "neither"),
        (case, {"agenda_item_id": foreign_item.id}, "choose the item"),
        (case, {"agenda_item_id": None}, "choose the item"),
        (case, {"how": HowRaised.HANDOVER_LIST, "agenda_item_id": None}, "no approved entry"),
        (case, {"how": HowRaised.NOT_RAISED, "agenda_item_id": None}, "say why"),
        (case, {"reason": NotRaisedReason.NO_TIME}, "only for a case that was not raised"),
        (
            case,
            {
                "how": HowRaised.NOT_RAISED,
                "agenda_item_id": None,
                "reason": NotRaisedReason.NO_TIME,
                "reply": "They said",
            },
            "no reply",
        ),
        (background, {}, "did not allow"),
        (case, {"reply": "x" * (LONG_TEXT_LIMIT + 1)}, "at most"),
    ]
    for submission, changes, words in refusals:
        with pytest.raises(record.RecordRefusedError, match=words):
            _raise(desk, submission, **changes)
        world.session.rollback()
    assert _count(world, CaseOutcome) == 0 and _count(world, DeskText) == 0
    assert case.state is SubmissionState.ON_AGENDA
    assert _events(world, "submission.outcome_recorded") == []


def test_on_the_handover_list_only_with_an_entry_in_force_and_corrections_move_back(
    desk: Desk,
) -> None:
    world = desk.world
    case = desk.linked(SubmissionKind.INDIVIDUAL_CASE, _case_form("handover_list"))
    left = desk.linked(SubmissionKind.INDIVIDUAL_CASE, _case_form("handover_list"))
    desk.close_and_hold()
    for submission in (case, left):
        triage.change_state(submission, SubmissionState.ON_HANDOVER_LIST)
        world.session.add(
            HandoverEntry(
                session_id=desk.held.id,
                submission_id=submission.id,
                proposed_by_id=desk.officer.user.id,
                approved_by_id=desk.co_chair.user.id,
                approved_at=world.now - dt.timedelta(days=3),
            )
        )
    world.session.flush()
    entry = world.session.scalars(
        select(HandoverEntry).where(HandoverEntry.submission_id == left.id)
    ).one()
    entry.left_at = world.now - dt.timedelta(days=2)
    desk.hold(place=SessionPlace.PARTNER_COUNTRY)
    listed = {"how": HowRaised.HANDOVER_LIST, "agenda_item_id": None}
    with pytest.raises(record.RecordRefusedError, match="no approved entry"):
        _raise(desk, left, **listed)
    _raise(desk, case, **listed)
    assert case.state is SubmissionState.RAISED
    # Corrected: it was not raised after all; the case is back on the list.
    _raise(
        desk, case, how=HowRaised.NOT_RAISED, agenda_item_id=None, reason=NotRaisedReason.NO_TIME
    )
    assert case.state is SubmissionState.ON_HANDOVER_LIST
    assert world.session.scalars(select(CaseOutcome)).one().how_raised is HowRaised.NOT_RAISED


def test_a_reprisal_report_naming_nobody_may_be_raised(desk: Desk) -> None:
    world = desk.world
    report = desk.linked(SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    desk.record_held()
    assert report in record.cases_on_record(world.session, desk.held)
    _raise(desk, report, reply="The ministry denied any link.")
    assert report.state is SubmissionState.RAISED


# --- recommendations ---------------------------------------------------------------------------


def test_recommendation_responses(desk: Desk) -> None:
    world = desk.world
    seminar = desk.linked(SubmissionKind.SEMINAR_RECOMMENDATIONS, SEMINAR_FORM)
    desk.record_held()
    assert record.seminars_on_record(world.session, desk.held) == [seminar]

    def respond(index: int, outcome: RecommendationOutcome, **changes: Any) -> Any:
        arguments: dict[str, Any] = {"reason": None, "note": "", "now": world.now}
        arguments.update(changes)
        return record.record_recommendation(
            world.session, desk.co_chair, desk.held, seminar, index, outcome=outcome, **arguments
        )

    with pytest.raises(record.RecordRefusedError, match="no such recommendation"):
        respond(2, RecommendationOutcome.DISCUSSED)
    with pytest.raises(record.RecordRefusedError, match="reason"):
        respond(0, RecommendationOutcome.NOT_TAKEN_UP)
    with pytest.raises(record.RecordRefusedError, match="reason"):
        respond(0, RecommendationOutcome.TAKEN_UP, reason=NotTakenUpReason.OTHER)
    assert _count(world, RecommendationResponse) == 0
    respond(0, RecommendationOutcome.TAKEN_UP, note=REPLY)
    respond(1, RecommendationOutcome.NOT_TAKEN_UP, reason=NotTakenUpReason.PARTNER_DECLINED)
    responses = world.session.scalars(
        select(RecommendationResponse).order_by(RecommendationResponse.recommendation_index)
    ).all()
    assert [(item.outcome, item.not_taken_up_reason) for item in responses] == [
        (RecommendationOutcome.TAKEN_UP, None),
        (RecommendationOutcome.NOT_TAKEN_UP, NotTakenUpReason.PARTNER_DECLINED),
    ]
    note = world.session.scalars(select(DeskText)).one()
    assert note.recommendation_index == 0 and b"REPLY-CANARY" not in note.envelope
    assert seminar.state is SubmissionState.ON_AGENDA


# --- completing, and the case across rounds ----------------------------------------------------


def test_the_record_completes_when_nothing_lacks_and_stays_correctable(desk: Desk) -> None:
    world = desk.world
    case = desk.linked(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    desk.record_held()
    with pytest.raises(record.RecordRefusedError, match="2 agenda item"):
        record.complete_record(world.session, desk.co_chair, desk.held, now=world.now)
    for item in (desk.item, desk.other_item):
        desk.enter_item(item)
    with pytest.raises(record.RecordRefusedError, match="1 case"):
        record.complete_record(world.session, desk.co_chair, desk.held, now=world.now)
    _raise(desk, case)
    record.complete_record(world.session, desk.co_chair, desk.held, now=world.now)
    assert desk.held.record_completed_at == world.now
    with pytest.raises(record.RecordRefusedError, match="already complete"):
        record.complete_record(world.session, desk.co_chair, desk.held, now=world.now)
    _raise(desk, case, reply=REPLY)
    assert [
        event.details["correction"] for event in _events(world, "submission.outcome_recorded")
    ] == [
        False,
        True,
    ]


def test_a_case_keeps_its_record_across_rounds(desk: Desk) -> None:
    world = desk.world
    case = desk.linked(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    first = desk.held
    desk.record_held()
    _raise(desk, case, reply=REPLY)
    second, item = desk.another_session(
        desk.today, SessionState.CONSULTATION_CLOSED, "Detention, again"
    )
    world.session.add(AgendaLink(submission_id=case.id, agenda_item_id=item.id))
    desk.hold(on=desk.today, place=SessionPlace.BRUSSELS, session=second)
    # Raised before: until the submitter confirms for this round, the person is background only.
    with pytest.raises(record.RecordRefusedError, match="did not allow"):
        record.record_case(
            world.session,
            desk.co_chair,
            second,
            case,
            how=HowRaised.DURING_ITEM,
            agenda_item_id=item.id,
            reason=None,
            reply="",
            now=world.now,
        )
    record.record_case(
        world.session,
        desk.co_chair,
        second,
        case,
        how=HowRaised.NOT_RAISED,
        agenda_item_id=None,
        reason=NotRaisedReason.CONSENT_DID_NOT_ALLOW,
        reply="",
        now=world.now,
    )
    assert case.state is SubmissionState.RAISED  # raised in the first round, and stays so
    history = record.case_history(world.session, case)
    assert [
        (entry.dialogue_session.id, entry.how_raised, entry.not_raised_reason, entry.has_reply)
        for entry in history
    ] == [
        (first.id, HowRaised.DURING_ITEM, None, True),
        (second.id, HowRaised.NOT_RAISED, NotRaisedReason.CONSENT_DID_NOT_ALLOW, False),
    ]
    assert history[0].agenda_item is not None and history[0].agenda_item.title == "Detention"
    before = record.case_history(world.session, case, before=second)
    assert [entry.dialogue_session.id for entry in before] == [first.id]
    replies = record.case_replies(world.session, desk.officer, case, now=world.now, before=second)
    assert [read.text for _entry, read in replies if read] == [REPLY]
