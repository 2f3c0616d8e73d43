"""The one rule of how far a round may go with each person of a case (``rounds.round_consent``).

The submission rows are real (the rule asks the database whether the case was taken up in an
earlier session); the opened content is built by hand, so that each consent history is exactly
the one the test names.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import Database
from portal.models import (
    CaseOutcome,
    DeskKey,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    HowRaised,
    NotRaisedReason,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.rounds.handover import proposal_refusal
from portal.services.rounds.round_consent import (
    PersonInRound,
    may_go_on_handover_list,
    persons_in_round,
    was_taken_up_before,
)
from portal.services.submissions.payload import ConsentLevel, PayloadError, validate_consent_change
from portal.services.submissions.provenance import CheckedItem, Provenance
from tests.conftest import DemoInstance

L = ConsentLevel


def _consent(level: str) -> dict[str, Any]:
    return {"level": level, "given_by": "person", "risks_explained": True}


def _change(
    person: int,
    level: str,
    *,
    confirms: int | None = None,
    provenance: Provenance = Provenance.SIGNED,
) -> CheckedItem:
    payload: dict[str, Any] = {"person": person, "consent": _consent(level)}
    if confirms is not None:
        payload["round"] = confirms
    return CheckedItem(payload, provenance)


@dataclass
class Opened:
    """What ``persons_in_round`` reads of a submission opened for staff."""

    levels: list[str]
    consent_changes: list[CheckedItem] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        return {"persons": [{"name": "x", "consent": _consent(level)} for level in self.levels]}


@dataclass
class Rounds:
    session: Session
    dialogue: Dialogue
    earlier: DialogueSession
    current: DialogueSession
    case: Submission
    staff: StaffUser

    def persons(self, opened: Opened) -> tuple[PersonInRound, ...]:
        return persons_in_round(self.session, opened, self.case, self.current)

    def levels(self, opened: Opened) -> list[ConsentLevel | None]:
        return [person.level for person in self.persons(opened)]


@pytest.fixture
def rounds(writable_demo_instance: DemoInstance) -> Iterator[Rounds]:
    database = Database(writable_demo_instance.settings.database_url)
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).order_by(Dialogue.id)).first()
        assert dialogue is not None
        staff = session.scalars(select(StaffUser).order_by(StaffUser.id)).first()
        desk_key = session.scalars(
            select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)
        ).first()
        assert staff is not None and desk_key is not None
        sessions = [
            DialogueSession(
                dialogue_id=dialogue.id,
                date=dt.date(2090, 1, 1) + dt.timedelta(days=days),
                place=SessionPlace.VIDEO,
                state=SessionState.PLANNED,
            )
            for days in (0, 400)
        ]
        session.add_all(sessions)
        session.flush()
        case = Submission(
            public_id="round-consent-case-0000",
            dialogue_id=dialogue.id,
            session_id=sessions[0].id,
            kind=SubmissionKind.INDIVIDUAL_CASE,
            state=SubmissionState.ACCEPTED,
            received_on=dt.date(2089, 12, 1),
            desk_key_id=desk_key.id,
            envelope=b"sealed",
            submitter_public_key=bytes(32),
            topic_tags=[],
            urgent=False,
        )
        session.add(case)
        session.flush()
        session.refresh(dialogue)
        yield Rounds(session, dialogue, sessions[0], sessions[1], case, staff)
        session.rollback()
    database.dispose()


def _raise_before(rounds: Rounds, how: HowRaised = HowRaised.DURING_ITEM) -> None:
    rounds.session.add(
        CaseOutcome(
            session_id=rounds.earlier.id,
            submission_id=rounds.case.id,
            how_raised=how,
            not_raised_reason=NotRaisedReason.NO_TIME if how is HowRaised.NOT_RAISED else None,
            recorded_by_id=rounds.staff.id,
        )
    )
    rounds.session.flush()


def test_a_new_case_keeps_its_consent_as_it_stands(rounds: Rounds) -> None:
    opened = Opened([L.HANDOVER_LIST, L.RAISE_WITHOUT_NAME], [_change(1, L.RAISE_BY_NAME)])
    persons = rounds.persons(opened)
    assert [person.level for person in persons] == [L.HANDOVER_LIST, L.RAISE_BY_NAME]
    assert not any(person.awaiting_confirmation for person in persons)
    assert persons[1].name_may_be_raised and not persons[1].may_be_handed_over
    assert not may_go_on_handover_list(persons)


def test_a_case_raised_before_is_background_until_each_person_confirms(rounds: Rounds) -> None:
    _raise_before(rounds)
    assert was_taken_up_before(rounds.session, rounds.case, rounds.current)
    assert not was_taken_up_before(rounds.session, rounds.case, rounds.earlier)
    opened = Opened([L.HANDOVER_LIST, L.HANDOVER_LIST])
    assert rounds.levels(opened) == [L.INTERNAL_ONLY, L.INTERNAL_ONLY]
    opened.consent_changes.append(_change(0, L.RAISE_BY_NAME, confirms=rounds.current.id))
    persons = rounds.persons(opened)
    assert [person.level for person in persons] == [L.RAISE_BY_NAME, L.INTERNAL_ONLY]
    assert [person.awaiting_confirmation for person in persons] == [False, True]
    # A confirmation for another round confirms nothing here.
    opened.consent_changes.append(_change(1, L.HANDOVER_LIST, confirms=rounds.earlier.id))
    assert rounds.levels(opened)[1] is L.INTERNAL_ONLY


def test_a_later_change_replaces_the_confirmation(rounds: Rounds) -> None:
    _raise_before(rounds, HowRaised.HANDOVER_LIST)
    opened = Opened([L.HANDOVER_LIST], [_change(0, L.HANDOVER_LIST, confirms=rounds.current.id)])
    assert rounds.levels(opened) == [L.HANDOVER_LIST]
    assert may_go_on_handover_list(rounds.persons(opened))
    opened.consent_changes.append(_change(0, L.RAISE_WITHOUT_NAME))
    assert rounds.levels(opened) == [L.INTERNAL_ONLY]


def test_an_approved_list_entry_before_asks_again_and_a_mere_proposal_does_not(
    rounds: Rounds,
) -> None:
    entry = HandoverEntry(
        session_id=rounds.earlier.id, submission_id=rounds.case.id, proposed_by_id=rounds.staff.id
    )
    rounds.session.add(entry)
    rounds.session.flush()
    assert not was_taken_up_before(rounds.session, rounds.case, rounds.current)
    entry.approved_at = dt.datetime(2090, 1, 1, tzinfo=dt.UTC)
    entry.approved_by_id = rounds.staff.id
    rounds.session.flush()
    assert was_taken_up_before(rounds.session, rounds.case, rounds.current)


def test_not_raised_before_is_not_taken_up(rounds: Rounds) -> None:
    _raise_before(rounds, HowRaised.NOT_RAISED)
    assert rounds.levels(Opened([L.HANDOVER_LIST])) == [L.HANDOVER_LIST]


def test_unreadable_or_unverified_consent_allows_nothing(rounds: Rounds) -> None:
    _raise_before(rounds)
    opened = Opened(["made_up"], [_change(0, L.HANDOVER_LIST, confirms=rounds.current.id)])
    opened.consent_changes[0] = CheckedItem(
        opened.consent_changes[0].payload, Provenance.UNVERIFIED
    )
    persons = rounds.persons(opened)
    assert persons[0].level is None and not persons[0].may_raise
    assert not may_go_on_handover_list(persons)
    assert not may_go_on_handover_list(())


def test_a_change_before_signatures_may_confirm_only_downwards(rounds: Rounds) -> None:
    _raise_before(rounds)
    unsigned = _change(
        0, L.HANDOVER_LIST, confirms=rounds.current.id, provenance=Provenance.BEFORE_SIGNATURES
    )
    assert rounds.levels(Opened([L.RAISE_BY_NAME], [unsigned])) == [L.INTERNAL_ONLY]
    lower = _change(
        0, L.RAISE_WITHOUT_NAME, confirms=rounds.current.id, provenance=Provenance.BEFORE_SIGNATURES
    )
    assert rounds.levels(Opened([L.RAISE_BY_NAME], [lower])) == [L.RAISE_WITHOUT_NAME]


@pytest.mark.parametrize("value", [0, -1, True, "3", 2**31, 1.5])
def test_a_confirmation_names_a_session_number(value: object) -> None:
    with pytest.raises(PayloadError) as refused:
        validate_consent_change(
            {"person": 0, "consent": _consent(L.RAISE_BY_NAME), "round": value}, 1
        )
    assert "round" in refused.value.errors


def test_a_confirmation_keeps_its_round_and_an_ordinary_change_has_none() -> None:
    confirmed = validate_consent_change(
        {"person": 0, "consent": _consent(L.RAISE_BY_NAME), "round": 7}, 1
    )
    assert confirmed["round"] == 7
    assert "round" not in validate_consent_change(
        {"person": 0, "consent": _consent(L.RAISE_BY_NAME)}, 1
    )


def test_a_case_debriefed_in_an_earlier_round_goes_on_a_later_list_once_confirmed(
    rounds: Rounds,
) -> None:
    _raise_before(rounds)
    rounds.case.state = SubmissionState.DEBRIEFED
    rounds.case.risk_level = RiskLevel.LOW
    rounds.session.flush()
    opened = Opened([L.HANDOVER_LIST])
    today = rounds.earlier.date

    refusal = proposal_refusal(rounds.session, rounds.case, opened, rounds.current, today=today)
    assert refusal == "not every person named has confirmed their consent for this round"
    opened.consent_changes.append(_change(0, L.HANDOVER_LIST, confirms=rounds.current.id))
    assert (
        proposal_refusal(rounds.session, rounds.case, opened, rounds.current, today=today) is None
    )
