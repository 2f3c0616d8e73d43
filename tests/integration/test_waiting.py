"""What waits for a staff member in the sessions of their desks (``rounds.waiting``).

One world per backend (``consultation_world``): the open ``valdoria`` session, and beside it
sessions at each stage that matters, handover entries in each state and submissions in each
triage state, built as rows so that each count is exactly the one the test names.
"""

import datetime as dt
import itertools

from sqlalchemy import select

from portal.models import (
    ActionOwner,
    ActionState,
    AgendaState,
    DialogueSession,
    FollowUpAction,
    HandoverEntry,
    HandoverLeaving,
    SessionPlace,
    SessionState,
    StaffRole,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.rounds.waiting import (
    OverdueWaiting,
    SessionWaiting,
    overdue_per_dialogue,
    waiting_per_session,
)
from tests.conftest import ConsultationWorld, DeskPerson, desk_person

_numbers = itertools.count(1)


def _session(
    world: ConsultationWorld,
    days: int,
    state: SessionState,
    agenda: AgendaState = AgendaState.DRAFT,
    *,
    recorded: bool = False,
    dialogue_id: int | None = None,
) -> DialogueSession:
    held = recorded and days <= 0
    item = DialogueSession(
        dialogue_id=dialogue_id or world.dialogue.id,
        date=world.now.date() + dt.timedelta(days=days),
        place=SessionPlace.VIDEO,
        state=state,
        agenda_state=agenda,
        held_on=world.now.date() + dt.timedelta(days=days) if held else None,
        held_place=SessionPlace.VIDEO if held else None,
        record_completed_at=world.now if held else None,
    )
    world.session.add(item)
    world.session.flush()
    return item


def _case(world: ConsultationWorld, on: DialogueSession, state: SubmissionState) -> Submission:
    case = Submission(
        public_id=f"waiting-case-{next(_numbers):04d}",
        dialogue_id=on.dialogue_id,
        session_id=on.id,
        kind=SubmissionKind.INDIVIDUAL_CASE,
        state=state,
        received_on=world.now.date(),
        desk_key_id=world.desk_key.id,
        envelope=b"sealed",
        submitter_public_key=bytes(32),
        topic_tags=[],
        urgent=False,
    )
    world.session.add(case)
    world.session.flush()
    return case


def _entry(
    world: ConsultationWorld,
    on: DialogueSession,
    proposer: DeskPerson,
    *,
    approved_by: DeskPerson | None = None,
    left: bool = False,
) -> None:
    world.session.add(
        HandoverEntry(
            session_id=on.id,
            submission_id=_case(world, on, SubmissionState.ON_HANDOVER_LIST).id,
            proposed_by_id=proposer.user.id,
            approved_by_id=approved_by.user.id if approved_by else None,
            approved_at=world.now if approved_by else None,
            left_at=world.now if left else None,
            left_reason=HandoverLeaving.CONSENT if left else None,
        )
    )
    world.session.flush()


def _by_id(rows: list[SessionWaiting]) -> dict[int, tuple[bool, int, bool, int]]:
    return {
        row.dialogue_session.id: (
            row.agenda_to_agree,
            row.handover_to_approve,
            row.record_to_enter,
            row.to_triage,
        )
        for row in rows
    }


def test_what_waits_for_each_role_in_each_session(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    co_chair = desk_person(world, StaffRole.CO_CHAIR)
    officer = desk_person(world, StaffRole.TRIAGE_OFFICER)
    administrator = desk_person(world, StaffRole.ADMINISTRATOR)
    observer = desk_person(world, StaffRole.OBSERVER)
    upcoming = world.dialogue_session  # consultation open, agenda a draft
    held_unrecorded = _session(world, -10, SessionState.HELD, AgendaState.SHARED)
    held_recorded = _session(world, -30, SessionState.HELD, AgendaState.FINAL, recorded=True)
    debriefed = _session(world, -100, SessionState.DEBRIEFED)
    closed_unheld = _session(world, -2, SessionState.CONSULTATION_CLOSED, AgendaState.SHARED)
    today = _session(world, 0, SessionState.CONSULTATION_CLOSED, AgendaState.AGREED)
    finished = _session(world, -400, SessionState.FOLLOW_UP)
    elsewhere = _session(world, 5, SessionState.PLANNED, dialogue_id=world.frozen_dialogue.id)
    _entry(world, upcoming, officer)
    _entry(world, upcoming, officer)
    _entry(world, upcoming, co_chair)  # their own proposal: another co-chair approves it
    _entry(world, upcoming, officer, approved_by=co_chair)
    _entry(world, upcoming, officer, left=True)
    _entry(world, elsewhere, officer)
    for state in SubmissionState:
        _case(world, upcoming, state)
    _case(world, held_unrecorded, SubmissionState.RECEIVED)
    _case(world, finished, SubmissionState.RECEIVED)

    for_co_chair = waiting_per_session(world.session, co_chair.user, today=world.now.date())
    for_officer = waiting_per_session(world.session, officer.user, today=world.now.date())

    # By date within the dialogue; follow-up sessions and other desks' sessions left out.
    assert [row.dialogue_session.id for row in for_co_chair] == [
        debriefed.id,
        held_recorded.id,
        held_unrecorded.id,
        closed_unheld.id,
        today.id,
        upcoming.id,
    ]
    assert _by_id(for_co_chair) == {
        debriefed.id: (False, 0, False, 0),
        held_recorded.id: (False, 0, False, 0),
        held_unrecorded.id: (False, 0, True, 0),
        closed_unheld.id: (True, 0, True, 0),
        today.id: (False, 0, False, 0),
        upcoming.id: (True, 2, False, 0),
    }
    assert _by_id(for_officer) == {
        debriefed.id: (False, 0, False, 0),
        held_recorded.id: (False, 0, False, 0),
        held_unrecorded.id: (False, 0, True, 1),
        closed_unheld.id: (False, 0, True, 0),
        today.id: (False, 0, False, 0),
        upcoming.id: (False, 0, False, 2),
    }
    assert [row.anything for row in for_officer] == [False, False, True, True, False, True]
    admin_rows = waiting_per_session(world.session, administrator.user, today=world.now.date())
    assert len(admin_rows) == 6 and not any(row.anything for row in admin_rows)
    assert waiting_per_session(world.session, observer.user, today=world.now.date()) == []


def test_proposals_that_cannot_be_approved_do_not_wait(
    consultation_world: ConsultationWorld,
) -> None:
    """A frozen list takes no approval, and a case on hold or whose assessment lapsed has left
    the list by its own rule: none of them waits for a co-chair."""
    world = consultation_world
    co_chair = desk_person(world, StaffRole.CO_CHAIR)
    officer = desk_person(world, StaffRole.TRIAGE_OFFICER)
    upcoming = world.dialogue_session
    frozen = _session(world, 20, SessionState.CONSULTATION_CLOSED, AgendaState.AGREED)
    frozen.handover_frozen_at = world.now
    for on in (upcoming, upcoming, upcoming, frozen):
        _entry(world, on, officer)
    on_hold, lapsed, standing = upcoming_cases = [
        entry.submission
        for entry in world.session.scalars(
            select(HandoverEntry)
            .where(HandoverEntry.session_id == upcoming.id)
            .order_by(HandoverEntry.id)
        )
    ]
    assert len(upcoming_cases) == 3
    on_hold.risk_hold = True
    lapsed.risk_reassess_on = world.now.date()
    world.session.flush()
    rows = _by_id(waiting_per_session(world.session, co_chair.user, today=world.now.date()))
    assert rows[upcoming.id][1] == 1 and standing.risk_hold is False
    assert rows[frozen.id][1] == 0


def test_a_co_chair_sees_the_overdue_actions_of_their_desks(
    consultation_world: ConsultationWorld,
) -> None:
    """Counted by the roadmap's own rule: open (planned or in progress) and past the due day;
    a frozen dialogue off the desk is left out, and only a co-chair has this work."""
    world = consultation_world
    co_chair = desk_person(world, StaffRole.CO_CHAIR)
    officer = desk_person(world, StaffRole.TRIAGE_OFFICER)
    today = world.now.date()
    for dialogue, state, days in (
        (world.dialogue, ActionState.PLANNED, -1),
        (world.dialogue, ActionState.IN_PROGRESS, -90),
        (world.dialogue, ActionState.PLANNED, 0),  # due today: not yet overdue
        (world.dialogue, ActionState.DONE, -5),
        (world.dialogue, ActionState.DROPPED, -5),
        (world.frozen_dialogue, ActionState.PLANNED, -5),  # not on the co-chair's desk
    ):
        world.session.add(
            FollowUpAction(
                dialogue_id=dialogue.id,
                title=f"Action due {days}",
                owner=ActionOwner.EU,
                due_on=today + dt.timedelta(days=days),
                state=state,
                created_by_id=co_chair.user.id,
            )
        )
    world.session.flush()
    assert overdue_per_dialogue(world.session, co_chair.user, today=today) == [
        OverdueWaiting(world.dialogue, 2)
    ]
    tomorrow = today + dt.timedelta(days=1)
    assert overdue_per_dialogue(world.session, co_chair.user, today=tomorrow) == [
        OverdueWaiting(world.dialogue, 3)
    ]
    assert overdue_per_dialogue(world.session, officer.user, today=today) == []
