"""The session's record (``rounds.record``) and its page (``blueprints.session_record``).

The service tests run on ``consultation_world``: its open session takes the submissions, then is
moved to yesterday and closed, as a session that has just taken place. The page tests run on a
writable demo instance, signed in as its triage officer and co-chair.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import create_app
from portal.blueprints.session_record import FORM_BODY_LIMIT
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AuditEvent,
    CaseOutcome,
    DeskMembership,
    DeskText,
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
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.dialogues.catalogue import schedule_session
from portal.services.dialogues.dialogue_sessions import advance_session
from portal.services.rounds import record
from portal.services.staff import triage
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.submitters import register_new_codename
from tests.canary_scan import files_holding, instance_files, tables_holding
from tests.conftest import ConsultationWorld, DemoInstance, csrf_token_for
from tests.desk_world_support import (
    CASE_FORM,
    REPRISAL_FORM,
    SEMINAR_FORM,
    founding_member,
    included_item,
    link_to,
    sent_submission,
    staff_account,
)
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.staff_sessions_support import demo_credentials, sign_in_client

REPLY = "The minister promised a review of the detention REPLY-CANARY-7f3a"


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
        triage.accept(self.world.session, self.officer.user, sent, now=self.world.now)
        link_to(self.world.session, sent, self.item)
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
        item = included_item(self.world.session, other, title)
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
    item = included_item(world.session, world.dialogue_session, "Detention")
    other = included_item(world.session, world.dialogue_session, "Expression")
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


def test_a_session_the_hub_moved_to_held_gets_its_day_and_place(desk: Desk) -> None:
    world = desk.world
    desk.close_and_hold()
    advance_session(
        world.session, desk.held, SessionState.HELD, today=desk.today, actor=desk.officer.user
    )
    assert not record.held_day_recorded(desk.held)
    desk.hold(place=SessionPlace.BRUSSELS)
    assert record.held_day_recorded(desk.held) and desk.held.held_place is SessionPlace.BRUSSELS
    assert len(_events(world, "session.state_changed")) == 1
    assert _events(world, "session.held_recorded")[0].details["correction"] is False


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
    proposed = included_item(world.session, desk.held, "Only proposed")
    proposed.status = AgendaItemStatus.PROPOSED
    desk.record_held()
    world.session.commit()
    refusals: list[tuple[Submission, dict[str, Any], str]] = [
        (stray, {}, "neither"),
        (case, {"agenda_item_id": foreign_item.id}, "choose the item"),
        (case, {"agenda_item_id": None}, "choose the item"),
        (case, {"agenda_item_id": proposed.id}, "choose the item"),
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


# --- the page ----------------------------------------------------------------------------------

PERSON_NAME = CASE_FORM["persons"][0]["name"]
PAGE_REPLY = "The vice-minister will look into it PAGE-CANARY-91c2"


@dataclass
class Site:
    """A writable demo instance whose ``valdoria`` session took place yesterday, with one case
    linked to one agenda item."""

    instance: DemoInstance
    app: Flask
    database: Database
    slug: str
    session_id: int
    item_id: int
    case: str
    clients: dict[str, FlaskClient]

    def client(self, role: str) -> FlaskClient:
        if role not in self.clients:
            client = self.clients[role] = self.app.test_client()
            if role != "anonymous":
                account = demo_credentials(self.instance.credentials_file)[role]
                sign_in_client(self.app, client, account.email, account.password)
        return self.clients[role]

    def url(self, suffix: str = "") -> str:
        return f"/staff/dialogues/{self.slug}/sessions/{self.session_id}/record{suffix}"

    def post(self, role: str, suffix: str, data: dict[str, Any]) -> Any:
        client = self.client(role)
        return client.post(self.url(suffix), data={**data, "csrf_token": csrf_token_for(client)})

    def count(self, model: Any) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def recorded_events(self) -> int:
        """How many entries of any record the audit trail holds."""
        with self.database.session() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action.like("%recorded"))
                )
                or 0
            )

    def held_session(self) -> DialogueSession:
        with self.database.session() as session:
            found = session.get(DialogueSession, self.session_id)
            assert found is not None
            session.expunge(found)
            return found


@pytest.fixture(scope="module")
def site(writable_demo_instance: DemoInstance) -> Iterator[Site]:
    app = create_app(writable_demo_instance.settings)
    database = Database(writable_demo_instance.settings.database_url)
    officer_email = demo_credentials(writable_demo_instance.credentials_file)[
        "triage_officer"
    ].email
    secrets = InstanceFolder(writable_demo_instance.settings.instance_dir).load_secrets()
    now = utc_now()
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        held = next(
            item for item in dialogue.sessions if item.state is SessionState.CONSULTATION_OPEN
        )
        officer = session.scalars(select(StaffUser).where(StaffUser.email == officer_email)).one()
        item = included_item(session, held, "Detention")
        new = register_new_codename(
            session, secrets.codename_pepper, language="en", today=now.date()
        )
        case = accept_plain_submission(
            session,
            address=submission_address(
                session,
                dialogue=dialogue,
                dialogue_session=held,
                kind=SubmissionKind.INDIVIDUAL_CASE,
                public_id=TEST_SUBMISSION_IDS.issue(now),
                ids=TEST_SUBMISSION_IDS,
                now=now,
            ),
            submitter_key=new.secrets,
            form=CASE_FORM,
            today=now.date(),
        )
        triage.accept(session, officer, case, now=now)
        link_to(session, case, item)
        held.date = now.date() - dt.timedelta(days=1)
        held.state = SessionState.CONSULTATION_CLOSED
        session.commit()
        built = Site(
            writable_demo_instance, app, database, "valdoria", held.id, item.id, case.public_id, {}
        )
    try:
        yield built
    finally:
        database.dispose()


def _held(site: Site) -> None:
    if site.held_session().held_on is None:
        response = site.post(
            "co_chair",
            "/held",
            {"held_on": site.held_session().date.isoformat(), "place": "video"},
        )
        assert response.status_code == 302


def test_the_page_is_for_the_desk_and_shows_no_names(site: Site) -> None:
    page = site.client("co_chair").get(site.url())
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="no-names"' in body
    assert PERSON_NAME not in body
    for role in ("observer", "administrator"):
        assert site.client(role).get(site.url()).status_code == 403
    anonymous = site.client("anonymous").get(site.url())
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.headers["Location"]
    hub = site.client("co_chair").get(f"/staff/dialogues/{site.slug}/sessions/{site.session_id}")
    assert site.url() in hub.get_data(as_text=True)
    other = f"/staff/dialogues/coral-straits/sessions/{site.session_id}/record"
    assert site.client("triage_officer").get(other).status_code == 404


def test_the_held_form_refuses_bad_days_and_stores_nothing(site: Site) -> None:
    before = site.held_session()
    today = utc_now().date()
    for held_on, status in (
        ("2031-02-30", 400),
        ("20310101", 400),
        ((today + dt.timedelta(days=1)).isoformat(), 400),
        ((before.date - dt.timedelta(days=1)).isoformat(), 400),
    ):
        response = site.post("co_chair", "/held", {"held_on": held_on, "place": "video"})
        assert response.status_code == status, held_on
    assert (
        site.post("co_chair", "/held", {"held_on": today.isoformat(), "place": "moon"}).status_code
        == 400
    )
    assert (
        site.post("observer", "/held", {"held_on": today.isoformat(), "place": "video"}).status_code
        == 403
    )
    client = site.client("co_chair")
    assert client.post(site.url("/held"), data={"held_on": today.isoformat()}).status_code == 400
    if before.held_on is None:
        assert site.held_session().state is SessionState.CONSULTATION_CLOSED
    _held(site)
    assert site.held_session().state is SessionState.HELD


def test_a_case_is_recorded_from_the_page_with_its_reply_sealed(site: Site) -> None:
    _held(site)
    response = site.post(
        "triage_officer",
        f"/cases/{site.case}",
        {"raised": f"item-{site.item_id}", "reason": "", "reply": PAGE_REPLY},
    )
    assert response.status_code == 302
    page = site.client("co_chair").get(site.url()).get_data(as_text=True)
    assert PAGE_REPLY in page and "Raised during the item" in page
    assert tables_holding(site.app, "PAGE-CANARY") == []
    assert files_holding(instance_files(site.instance.settings), b"PAGE-CANARY") == []
    # The case's own page shows its record across rounds.
    triage_page = site.client("co_chair").get(f"/staff/submissions/{site.case}")
    assert 'id="record-across-rounds"' in triage_page.get_data(as_text=True)
    assert PAGE_REPLY in triage_page.get_data(as_text=True)
    with site.database.session() as session:
        found = session.scalars(select(Submission).where(Submission.public_id == site.case)).one()
        assert found.state is SubmissionState.RAISED


def test_malformed_oversized_and_unauthorised_case_posts_store_nothing(site: Site) -> None:
    _held(site)
    outcomes, texts = site.count(CaseOutcome), site.count(DeskText)
    recorded = site.recorded_events()
    cases = f"/cases/{site.case}"
    for data in (
        {"raised": "item-x"},
        {"raised": "during_item"},
        {"raised": "not_raised", "reason": "bored"},
        {"raised": f"item-{site.item_id}", "reply": "x" * (LONG_TEXT_LIMIT + 1)},
        {"raised": "not_raised", "reason": "no_time", "reply": "They said"},
    ):
        assert site.post("co_chair", cases, data).status_code == 400, data
    kept = site.post(
        "co_chair", cases, {"raised": "not_raised", "reason": "no_time", "reply": "Kept words"}
    )
    assert kept.status_code == 400 and "Kept words</textarea>" in kept.get_data(as_text=True)
    assert site.post("co_chair", "/cases/" + "A" * 22, {"raised": "not_raised"}).status_code == 404
    assert site.post("observer", cases, {"raised": "not_raised"}).status_code == 403
    huge = {"raised": "not_raised", "reply": "é" * (FORM_BODY_LIMIT // 2)}
    assert site.post("co_chair", cases, huge).status_code == 413
    without_token = site.client("co_chair").post(site.url(cases), data={"raised": "not_raised"})
    assert without_token.status_code == 400
    assert (site.count(CaseOutcome), site.count(DeskText)) == (outcomes, texts)
    # Refused posts record nothing but the reads of the page that says why.
    assert site.recorded_events() == recorded
