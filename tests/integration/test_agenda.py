"""The agenda of a session: its rules (``portal.services.rounds.agenda``) and its pages.

One demo instance per backend for the module. Beside the demo accounts (a triage officer and a
co-chair on ``valdoria``, an observer, an administrator on no desk), the module adds a co-chair
on no desk, an administrator made a member of the ``valdoria`` desk and a triage officer on no
desk. Each test makes its own sessions of ``valdoria`` (far in the future, each on its own
dates), so that the agendas of one test never meet another's.

Service tests work in one database transaction that is rolled back at the end; the submissions
they link are bare rows (the agenda never opens content). Page tests commit through the app, and
send real submissions through the intake service where the submission page is opened.
"""

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    AuditEvent,
    DeskKey,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    Topic,
    utc_now,
)
from portal.services.contexts import new_public_id
from portal.services.desks.keys import current_desk_key
from portal.services.rounds import agenda
from portal.services.rounds.agenda import (
    AgendaForbiddenError,
    AgendaRefusedError,
    ItemDraft,
)
from portal.services.staff.triage import TriageForbiddenError
from portal.settings import Settings
from tests.conftest import DemoInstance, SentSubmission, csrf_token_for
from tests.integration.forms_client import desk_private_key
from tests.staff_sessions_support import add_test_account, demo_credentials, sign_in_client

EXTRA_PASSPHRASE = "correct horse battery staple for agenda tests"
DIALOGUE = "valdoria"
S = SubmissionState
K = SubmissionKind
P = AgendaPriority
_dates = itertools.count(1)
Send = Callable[[Settings, SubmissionKind, dict[str, Any]], SentSubmission]

GENDER_WORDS = "Women defenders face smear campaigns"
AGENDA_FORM: dict[str, Any] = {"topics": ["death_penalty"], "situation": "Moratorium debate"}
REPRISAL_FORM: dict[str, Any] = {
    "what_happened": "Searched",
    "when": "May",
    "link_to_engagement": "After the session",
    "urgency": "urgent",
}


def draft(
    title: str = "Freedom of expression online",
    *,
    theme: AgendaTheme = AgendaTheme.SPECIFIC_TOPIC,
    topic: Topic | None = Topic.FREEDOM_OF_EXPRESSION,
    priority: AgendaPriority = P.EU,
    gender: str = "",
) -> ItemDraft:
    return ItemDraft(title, theme, topic, priority, gender)


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    settings: Settings
    app: Flask
    database: Database
    accounts: dict[str, tuple[str, str]]
    _clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, who: str) -> FlaskClient:
        if who not in self._clients:
            client = self._clients[who] = self.app.test_client()
            if who != "anonymous":
                email, passphrase = self.accounts[who]
                sign_in_client(self.app, client, email, passphrase)
        return self._clients[who]

    def new_session(self, *, state: SessionState = SessionState.PLANNED) -> int:
        with self.database.session() as session:
            created = make_session(session, state=state)
            session.commit()
            return created.id

    def submission(self, public_id: str) -> Submission:
        with self.database.session() as session:
            found = session.scalars(
                select(Submission).where(Submission.public_id == public_id)
            ).one()
            session.expunge(found)
            return found

    def items(self, session_id: int) -> list[tuple[int, str, str, str]]:
        """(position, title, theme, status) of a session's items in order."""
        with self.database.session() as session:
            rows = session.execute(
                select(AgendaItem.position, AgendaItem.title, AgendaItem.theme, AgendaItem.status)
                .where(AgendaItem.session_id == session_id)
                .order_by(AgendaItem.position)
            )
            return [
                (position, title, str(theme), str(status))
                for position, title, theme, status in rows
            ]

    def item_id(self, session_id: int, title: str) -> int:
        with self.database.session() as session:
            return session.scalars(
                select(AgendaItem.id).where(
                    AgendaItem.session_id == session_id, AgendaItem.title == title
                )
            ).one()

    def stage(self, session_id: int) -> AgendaState:
        with self.database.session() as session:
            return session.get_one(DialogueSession, session_id).agenda_state

    def count(self, model: type) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model))


def make_session(
    session: Session, *, state: SessionState = SessionState.PLANNED
) -> DialogueSession:
    dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == DIALOGUE)).one()
    created = DialogueSession(
        dialogue_id=dialogue.id,
        date=dt.date(2100, 1, 1) + dt.timedelta(days=400 * next(_dates)),
        place=SessionPlace.BRUSSELS,
        state=state,
    )
    session.add(created)
    session.flush()
    session.refresh(dialogue)
    return created


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    app = create_app(writable_demo_instance.settings)
    database = Database(writable_demo_instance.settings.database_url)
    credentials = demo_credentials(writable_demo_instance.credentials_file)
    accounts = {role: (c.email, c.password) for role, c in credentials.items()}
    secrets = InstanceFolder(writable_demo_instance.settings.instance_dir).load_secrets()
    desk_private = desk_private_key(app, writable_demo_instance, DIALOGUE)
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == DIALOGUE)).one()
        desk_key = current_desk_key(session, dialogue)
        assert desk_key is not None
        for name, role, on_desk in (
            ("outside_co_chair", StaffRole.CO_CHAIR, False),
            ("outside_officer", StaffRole.TRIAGE_OFFICER, False),
            ("desk_administrator", StaffRole.ADMINISTRATOR, True),
        ):
            user = add_test_account(
                session,
                name,
                role,
                EXTRA_PASSPHRASE,
                at_rest_key=secrets.at_rest_key,
                desk=(desk_key, desk_private) if on_desk else None,
            )
            accounts[name] = (user.email, EXTRA_PASSPHRASE)
        session.commit()
    try:
        yield World(writable_demo_instance.settings, app, database, accounts)
    finally:
        database.dispose()


@dataclass
class Desk:
    """A service test's transaction: the valdoria desk's people and helpers to make rows."""

    session: Session
    dialogue: Dialogue
    desk_key: DeskKey
    people: dict[str, StaffUser]

    def __getitem__(self, who: str) -> StaffUser:
        return self.people[who]

    def new_session(self, *, state: SessionState = SessionState.PLANNED) -> DialogueSession:
        return make_session(self.session, state=state)

    def row(
        self,
        kind: SubmissionKind,
        dialogue_session: DialogueSession | None,
        state: SubmissionState = S.ACCEPTED,
        *,
        received_on: dt.date = dt.date(2099, 6, 1),
    ) -> Submission:
        """A bare submission row in ``state`` (its envelope is never opened here)."""
        row = Submission(
            public_id=new_public_id(),
            dialogue_id=self.dialogue.id,
            session_id=None if dialogue_session is None else dialogue_session.id,
            kind=kind,
            state=state,
            received_on=received_on,
            desk_key_id=self.desk_key.id,
            envelope=b"sealed",
            submitter_public_key=bytes(32),
            topic_tags=[],
            urgent=False,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def link(self, row: Submission, item: AgendaItem) -> AgendaLink:
        return agenda.link_submission(
            self.session, self["triage_officer"], row, item.id, now=utc_now()
        )


@pytest.fixture
def desk(world: World) -> Iterator[Desk]:
    with world.database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == DIALOGUE)).one()
        desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).one()
        people = {
            who: session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
            for who, (email, _passphrase) in world.accounts.items()
        }
        yield Desk(session, dialogue, desk_key, people)
        session.rollback()


def _post(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data={"csrf_token": csrf_token_for(client), **(data or {})})


def _base(session_id: int) -> str:
    return f"/staff/dialogues/{DIALOGUE}/sessions/{session_id}/agenda"


def _item_form(title: str, **fields: str) -> dict[str, str]:
    return {
        "title": title,
        "theme": "specific_topic",
        "topic": "death_penalty",
        "priority": "eu",
        "gender_dimension": "",
        **fields,
    }


# --- the life of an agenda ---------------------------------------------------------------------


def test_life_cycle_one_step_at_a_time_and_balanced_before_agreeing(desk: Desk) -> None:
    chair, ds = desk["co_chair"], desk.new_session()
    step = lambda to: agenda.change_agenda_state(desk.session, chair, ds, to)  # noqa: E731
    with pytest.raises(AgendaRefusedError, match="add at least one item"):
        step(AgendaState.SHARED)
    eu_item = agenda.add_item(desk.session, chair, ds, draft(priority=P.EU))
    with pytest.raises(AgendaRefusedError, match='cannot become "agreed" in one step'):
        step(AgendaState.AGREED)
    assert step(AgendaState.SHARED) is AgendaState.DRAFT
    # Shared: still editable; agreeing needs the partner's priority too, and says so.
    with pytest.raises(
        AgendaRefusedError, match="not balanced: it carries no priority of the partner"
    ):
        step(AgendaState.AGREED)
    partner_item = agenda.add_item(
        desk.session, chair, ds, draft("Labour rights", priority=P.PARTNER)
    )
    step(AgendaState.AGREED)
    # Agreed: nothing changes until a co-chair returns it to draft.
    for change in (
        lambda: agenda.add_item(desk.session, chair, ds, draft("Late item")),
        lambda: agenda.edit_item(desk.session, chair, eu_item, draft("Renamed")),
        lambda: agenda.move_item(desk.session, chair, partner_item, up=True),
        lambda: agenda.drop_item(desk.session, chair, partner_item),
    ):
        with pytest.raises(AgendaRefusedError, match="return it to draft"):
            change()
    step(AgendaState.FINAL)
    assert agenda.next_states(ds) == [AgendaState.DRAFT]
    step(AgendaState.DRAFT)
    agenda.edit_item(desk.session, chair, eu_item, draft("Renamed", priority=P.BOTH))
    # An item of both sides counts for each: balanced with the partner's item dropped.
    agenda.drop_item(desk.session, chair, partner_item)
    step(AgendaState.SHARED)
    step(AgendaState.AGREED)
    # Once the session is held, the agenda stays as it was.
    ds.state = SessionState.HELD
    assert agenda.next_states(ds) == [AgendaState.FINAL]
    with pytest.raises(AgendaRefusedError, match="has been held"):
        step(AgendaState.DRAFT)
    events = desk.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "agenda.state_changed", AuditEvent.object_id == str(ds.id)
        )
    ).all()
    assert [(event["previous"], event["new"]) for event in events] == [
        ("draft", "shared"),
        ("shared", "agreed"),
        ("agreed", "final"),
        ("final", "draft"),
        ("draft", "shared"),
        ("shared", "agreed"),
    ]


def test_an_agenda_of_neither_side_says_what_is_missing(desk: Desk) -> None:
    assert "neither side's priority" in (agenda.balance_refusal([]) or "")
    partner_only = AgendaItem(priority_of=P.PARTNER)
    assert "no priority of the EU" in (agenda.balance_refusal([partner_only]) or "")
    assert agenda.balance_refusal([AgendaItem(priority_of=P.BOTH)]) is None


def test_who_may_do_what(desk: Desk) -> None:
    ds = desk.new_session()
    chair, officer = desk["co_chair"], desk["triage_officer"]
    proposal = agenda.add_item(desk.session, officer, ds, draft("Officer's idea"))
    assert proposal.status is AgendaItemStatus.PROPOSED and proposal.proposed_by_id == officer.id
    for who in ("outside_co_chair", "outside_officer", "desk_administrator", "observer"):
        with pytest.raises(AgendaForbiddenError):
            agenda.add_item(desk.session, desk[who], ds, draft())
    for act in (
        lambda who: agenda.include_item(desk.session, who, proposal),
        lambda who: agenda.edit_item(desk.session, who, proposal, draft("Changed")),
        lambda who: agenda.move_item(desk.session, who, proposal, up=False),
        lambda who: agenda.drop_item(desk.session, who, proposal),
        lambda who: agenda.change_agenda_state(desk.session, who, ds, AgendaState.SHARED),
    ):
        for who in ("triage_officer", "outside_co_chair", "desk_administrator", "observer"):
            with pytest.raises(AgendaForbiddenError):
                act(desk[who])
    agenda.add_item(desk.session, chair, ds, draft("Partner item", priority=P.PARTNER))
    agenda.change_agenda_state(desk.session, chair, ds, AgendaState.SHARED)
    # Triage officers still propose while the agenda is shared; the proposal blocks agreeing.
    with pytest.raises(AgendaRefusedError, match="include or drop the items"):
        agenda.change_agenda_state(desk.session, chair, ds, AgendaState.AGREED)
    agenda.include_item(desk.session, chair, proposal)
    with pytest.raises(AgendaRefusedError, match="already on the agenda"):
        agenda.include_item(desk.session, chair, proposal)
    agenda.change_agenda_state(desk.session, chair, ds, AgendaState.AGREED)


def test_items_are_checked_before_anything_is_stored(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]
    refusals = {
        "give the item a title": draft("   "),
        "at most 200 characters": draft("x" * 201),
        "say which specific topic": draft(topic=None),
        "standing point on every agenda": draft(theme=AgendaTheme.REPRISALS, topic=None),
        "gender dimension may hold at most": draft(gender="g" * 1001),
    }
    for message, refused in refusals.items():
        with pytest.raises(AgendaRefusedError, match=message):
            agenda.add_item(desk.session, chair, ds, refused)
    assert agenda.session_agenda(desk.session, ds, include_proposed=True) == []
    # A topic goes with a specific topic only; other themes keep none.
    item = agenda.add_item(
        desk.session, chair, ds, draft(theme=AgendaTheme.UN_COOPERATION, gender="  ")
    )
    assert item.topic is None and item.gender_dimension is None
    with pytest.raises(AgendaRefusedError, match="what was sent is what is already recorded"):
        agenda.edit_item(desk.session, chair, item, draft(theme=AgendaTheme.UN_COOPERATION))


def test_reordering_keeps_positions_one_to_n(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]

    def order() -> list[str]:
        entries = agenda.session_agenda(desk.session, ds, include_proposed=True)
        assert [entry.item.position for entry in entries] == list(range(1, len(entries) + 1))
        return [entry.item.title for entry in entries]

    first = agenda.add_item(desk.session, chair, ds, draft("First"))
    second = agenda.add_item(desk.session, chair, ds, draft("Second"))
    # New items go before the standing point while it is last.
    assert order() == ["First", "Second", agenda.REPRISALS_TITLE]
    agenda.move_item(desk.session, chair, second, up=True)
    assert order() == ["Second", "First", agenda.REPRISALS_TITLE]
    with pytest.raises(AgendaRefusedError, match="already first"):
        agenda.move_item(desk.session, chair, second, up=True)
    standing = agenda.session_agenda(desk.session, ds, include_proposed=True)[-1].item
    with pytest.raises(AgendaRefusedError, match="already last"):
        agenda.move_item(desk.session, chair, standing, up=False)
    agenda.move_item(desk.session, chair, standing, up=True)
    agenda.add_item(desk.session, desk["triage_officer"], ds, draft("Proposed"))
    assert order() == ["Second", agenda.REPRISALS_TITLE, "First", "Proposed"]
    assert [
        entry.item.title
        for entry in agenda.session_agenda(desk.session, ds, include_proposed=False)
    ] == [
        "Second",
        agenda.REPRISALS_TITLE,
        "First",
    ]
    agenda.drop_item(desk.session, chair, first)
    assert order() == ["Second", agenda.REPRISALS_TITLE, "Proposed"]
    moved = desk.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "agenda_item.moved")
    ).all()
    assert {"direction": "up", "position": 1, "session": ds.id} in moved


def test_the_standing_reprisals_point(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]
    agenda.add_item(desk.session, chair, ds, draft("First"))
    agenda.add_item(desk.session, chair, ds, draft("Second"))
    standing = [
        entry.item
        for entry in agenda.session_agenda(desk.session, ds, include_proposed=True)
        if entry.is_standing
    ]
    assert len(standing) == 1
    point = standing[0]
    assert point.status is AgendaItemStatus.INCLUDED and point.priority_of is P.EU
    with pytest.raises(AgendaRefusedError, match="stays on every agenda"):
        agenda.drop_item(desk.session, chair, point)
    with pytest.raises(AgendaRefusedError, match="keeps its theme"):
        agenda.edit_item(desk.session, chair, point, draft("Renamed"))
    agenda.edit_item(
        desk.session,
        chair,
        point,
        ItemDraft("Reprisals", AgendaTheme.REPRISALS, None, P.BOTH, "Threats to women defenders"),
    )
    assert (point.title, point.priority_of, point.topic) == ("Reprisals", P.BOTH, None)
    # Open reprisal reports of the dialogue count under it without a link; others do not.
    before = dict(agenda.session_agenda(desk.session, ds, include_proposed=False)[-1].counts)
    counted = [desk.row(K.REPRISAL_REPORT, None, state) for state in (S.ACCEPTED, S.ON_AGENDA)]
    for state in (S.RECEIVED, S.IN_TRIAGE, S.DECLINED, S.WITHDRAWN, S.RAISED):
        desk.row(K.REPRISAL_REPORT, None, state)
    desk.row(K.REPRISAL_REPORT, None, received_on=ds.date + dt.timedelta(days=1))
    after = agenda.session_agenda(desk.session, ds, include_proposed=False)[-1]
    assert after.is_standing
    assert after.counts[K.REPRISAL_REPORT] == before.get(K.REPRISAL_REPORT, 0) + 2
    assert set(counted) <= set(agenda.linked_submissions(desk.session, point))
    # A report linked to the point as well counts once.
    desk.link(counted[0], point)
    assert (
        agenda.session_agenda(desk.session, ds, include_proposed=False)[-1].counts == after.counts
    )


def test_counts_per_kind_in_a_constant_number_of_queries(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]
    items = [agenda.add_item(desk.session, chair, ds, draft(f"Item {n}")) for n in range(4)]
    for kind, how_many in (
        (K.AGENDA_INPUT, 3),
        (K.INDIVIDUAL_CASE, 2),
        (K.SEMINAR_RECOMMENDATIONS, 1),
    ):
        for _ in range(how_many):
            desk.link(desk.row(kind, ds), items[0])
    desk.link(desk.row(K.AGENDA_INPUT, ds), items[1])
    # A withdrawn or declined submission no longer supports anything.
    gone = desk.row(K.AGENDA_INPUT, ds)
    desk.link(gone, items[1])
    gone.state = S.WITHDRAWN
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = desk.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        entries = agenda.session_agenda(desk.session, ds, include_proposed=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3
    by_title = {entry.item.title: entry for entry in entries}
    assert by_title["Item 0"].counts == {
        K.AGENDA_INPUT: 3,
        K.INDIVIDUAL_CASE: 2,
        K.SEMINAR_RECOMMENDATIONS: 1,
    }
    assert list(by_title["Item 0"].counts) == [
        K.AGENDA_INPUT,
        K.INDIVIDUAL_CASE,
        K.SEMINAR_RECOMMENDATIONS,
    ]
    assert by_title["Item 0"].total == 6
    assert by_title["Item 1"].counts == {K.AGENDA_INPUT: 1}
    assert by_title["Item 2"].counts == {}


def test_links_move_states_through_the_one_table(desk: Desk) -> None:
    earlier, later = desk.new_session(), desk.new_session()
    held = desk.new_session(state=SessionState.HELD)
    chair, officer = desk["co_chair"], desk["triage_officer"]
    now = utc_now()
    item_earlier = agenda.add_item(desk.session, chair, earlier, draft("Earlier"))
    item_later = agenda.add_item(desk.session, chair, later, draft("Later"))
    item_held = agenda.add_item(desk.session, chair, held, draft("Held"))
    proposal = agenda.add_item(desk.session, officer, later, draft("Proposal"))
    case = desk.row(K.INDIVIDUAL_CASE, later)
    assert agenda.linkable_items(desk.session, case) == [
        entry.item for entry in agenda.session_agenda(desk.session, later, include_proposed=False)
    ]
    for item, message in (
        (item_earlier, "not yet held"),  # an earlier session than the case's own
        (item_held, "not yet held"),
        (proposal, "not yet held"),  # a proposal is not on the agenda yet
    ):
        with pytest.raises(AgendaRefusedError, match=message):
            desk.link(case, item)
    assert case.state is S.ACCEPTED
    desk.link(case, item_later)
    assert case.state is S.ON_AGENDA
    with pytest.raises(AgendaRefusedError, match="already linked"):
        desk.link(case, item_later)
    # Carried into a later round: an accepted submission of an earlier session.
    carried = desk.row(K.SEMINAR_RECOMMENDATIONS, earlier)
    desk.link(carried, item_later)
    assert carried.state is S.ON_AGENDA
    # A reprisal report (no session of its own) links to any session not yet held.
    report = desk.row(K.REPRISAL_REPORT, None)
    desk.link(report, item_earlier)
    for state, message in ((S.IN_TRIAGE, "accept the submission"), (S.DECLINED, "accept")):
        with pytest.raises(AgendaRefusedError, match=message):
            desk.link(desk.row(K.AGENDA_INPUT, later, state), item_later)
    on_hold = desk.row(K.AGENDA_INPUT, later)
    on_hold.risk_hold = True
    with pytest.raises(AgendaRefusedError, match="risk hold"):
        desk.link(on_hold, item_later)
    for who in ("co_chair", "outside_officer", "desk_administrator"):
        with pytest.raises(TriageForbiddenError):
            agenda.link_submission(desk.session, desk[who], case, item_later.id, now=now)
    # Unlinking: back to accepted when no link remains; a case on a handover list stays there.
    second = agenda.add_item(desk.session, chair, later, draft("Second"))
    desk.link(case, second)
    agenda.unlink_submission(desk.session, officer, case, item_later, now=now)
    assert case.state is S.ON_AGENDA
    agenda.unlink_submission(desk.session, officer, case, second, now=now)
    assert case.state is S.ACCEPTED
    with pytest.raises(AgendaRefusedError, match="not linked"):
        agenda.unlink_submission(desk.session, officer, case, second, now=now)
    listed = desk.row(K.INDIVIDUAL_CASE, later)
    desk.link(listed, second)
    listed.state = S.ON_HANDOVER_LIST
    agenda.unlink_submission(desk.session, officer, listed, second, now=now)
    assert listed.state is S.ON_HANDOVER_LIST
    proposed = desk.row(K.INDIVIDUAL_CASE, later)
    desk.link(proposed, second)
    desk.session.add(
        HandoverEntry(session_id=later.id, submission_id=proposed.id, proposed_by_id=officer.id)
    )
    agenda.unlink_submission(desk.session, officer, proposed, second, now=now)
    assert proposed.state is S.ON_AGENDA
    # Dropping an item takes its links with it, each audited.
    dropped_case = desk.row(K.AGENDA_INPUT, later)
    desk.link(dropped_case, second)
    agenda.drop_item(desk.session, chair, second)
    assert dropped_case.state is S.ACCEPTED
    assert (
        desk.session.scalars(
            select(AgendaLink).where(AgendaLink.submission_id == dropped_case.id)
        ).all()
        == []
    )
    unlinked = desk.session.scalars(
        select(AuditEvent.details).where(
            AuditEvent.action == "submission.unlinked_from_agenda",
            AuditEvent.object_id == str(dropped_case.id),
        )
    ).all()
    assert unlinked == [{"agenda_item": second.id, "state": "accepted"}]


def test_observers_read_titles_and_themes_once_shared(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]
    agenda.add_item(desk.session, chair, ds, draft("Shared title", gender=GENDER_WORDS))
    agenda.add_item(desk.session, desk["triage_officer"], ds, draft("A proposal"))
    assert agenda.shared_agenda(desk.session, ds) is None
    assert ds not in agenda.shared_agendas(desk.session)
    agenda.change_agenda_state(desk.session, chair, ds, AgendaState.SHARED)
    shared = agenda.shared_agenda(desk.session, ds)
    assert shared == [
        agenda.SharedItem("Shared title", AgendaTheme.SPECIFIC_TOPIC, "freedom_of_expression"),
        agenda.SharedItem(agenda.REPRISALS_TITLE, AgendaTheme.REPRISALS, None),
    ]
    assert ds in agenda.shared_agendas(desk.session)
    assert agenda.may_read_shared(desk["observer"])
    assert not agenda.may_read_shared(desk["outside_co_chair"])


def test_every_action_is_audited_with_identifiers_only(desk: Desk) -> None:
    ds, chair = desk.new_session(), desk["co_chair"]
    secret_title = "Title that must stay out of the trail"
    item = agenda.add_item(desk.session, chair, ds, draft(secret_title, gender=GENDER_WORDS))
    agenda.edit_item(desk.session, chair, item, draft("Another title", gender="Other words"))
    proposal = agenda.add_item(desk.session, desk["triage_officer"], ds, draft("Proposal title"))
    agenda.include_item(desk.session, chair, proposal)
    agenda.move_item(desk.session, chair, proposal, up=True)
    agenda.drop_item(desk.session, chair, proposal)
    agenda.change_agenda_state(desk.session, chair, ds, AgendaState.SHARED)
    actions = {
        "agenda_item.created",
        "agenda_item.edited",
        "agenda_item.included",
        "agenda_item.moved",
        "agenda_item.dropped",
        "agenda.state_changed",
    }
    events = desk.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action.in_(actions), AuditEvent.dialogue_id == desk.dialogue.id
        )
    ).all()
    mine = [e for e in events if e.details.get("session") == ds.id or e.object_id == str(ds.id)]
    assert {e.action for e in mine} == actions
    edited = next(e for e in mine if e.action == "agenda_item.edited")
    assert edited.details["changed"] == ["gender_dimension", "title"]
    text = repr([e.details for e in mine])
    for words in (secret_title, "Another title", "Proposal title", GENDER_WORDS, "Other words"):
        assert words not in text


# --- pages -------------------------------------------------------------------------------------


def test_the_agenda_page_for_the_desk(world: World) -> None:
    session_id = world.new_session()
    base = _base(session_id)
    chair, officer = world.client("co_chair"), world.client("triage_officer")
    assert (
        _post(
            chair, f"{base}/items", _item_form("Death penalty", gender_dimension=GENDER_WORDS)
        ).status_code
        == 302
    )
    assert (
        _post(
            officer, f"{base}/items", _item_form("Officer proposal", priority="partner")
        ).status_code
        == 302
    )
    assert world.items(session_id) == [
        (1, "Death penalty", "specific_topic", "included"),
        (2, "Officer proposal", "specific_topic", "proposed"),
        (3, agenda.REPRISALS_TITLE, "reprisals", "included"),
    ]
    # The session's hub leads to its agenda, and the agenda back to the hub.
    hub = f"/staff/dialogues/{DIALOGUE}/sessions/{session_id}"
    assert f'href="{base}"' in chair.get(hub).get_data(as_text=True)
    page = chair.get(base).get_data(as_text=True)
    assert f'href="{hub}"' in page
    assert "Death penalty" in page and GENDER_WORDS in page and "Officer proposal" in page
    assert "Proposed by Demo Triage Officer" in page and "Not balanced yet" in page
    assert "Share with observers" in page and "Move up" in page
    proposal = world.item_id(session_id, "Officer proposal")
    assert _post(chair, f"{base}/items/{proposal}/include").status_code == 302
    assert _post(chair, f"{base}/items/{proposal}/move", {"direction": "up"}).status_code == 302
    assert world.items(session_id)[0][1] == "Officer proposal"
    page = officer.get(base).get_data(as_text=True)
    # A triage officer proposes and reads; no co-chair's controls.
    assert (
        "Propose an item" in page and "Move up" not in page and "Share with observers" not in page
    )
    edit_url = f"{base}/items/{proposal}/edit"
    assert chair.get(edit_url).status_code == 200 and officer.get(edit_url).status_code == 403
    response = _post(chair, edit_url, _item_form("Officer proposal, reworded", priority="partner"))
    assert response.status_code == 302
    for stage in ("shared", "agreed", "final"):
        assert _post(chair, f"{base}/stage", {"to": stage}).status_code == 302
    assert world.stage(session_id) is AgendaState.FINAL
    page = chair.get(base).get_data(as_text=True)
    assert "Return to draft" in page and "Move up" not in page
    assert "Add an item" not in page
    assert "Edit" not in page.split('id="items"')[1]
    # Refused: nothing stored, the page says why.
    response = _post(chair, f"{base}/items/{proposal}/edit", _item_form("Changed"))
    assert response.status_code == 400 and "return it to draft" in response.get_data(as_text=True)
    assert world.items(session_id)[0][1] == "Officer proposal, reworded"


def test_agreeing_an_unbalanced_agenda_is_refused_clearly(world: World) -> None:
    session_id = world.new_session()
    base, chair = _base(session_id), world.client("co_chair")
    _post(chair, f"{base}/items", _item_form("Only the EU's"))
    _post(chair, f"{base}/stage", {"to": "shared"})
    response = _post(chair, f"{base}/stage", {"to": "agreed"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "not balanced" in page and "no priority of the partner" in page
    assert world.stage(session_id) is AgendaState.SHARED


def test_observers_see_a_shared_agenda_only_titles_and_themes(
    world: World, send_under_new_codename: Send
) -> None:
    session_id = world.new_session()
    base, chair = _base(session_id), world.client("co_chair")
    observer = world.client("observer")
    _post(
        chair, f"{base}/items", _item_form("Observer-visible title", gender_dimension=GENDER_WORDS)
    )
    _post(world.client("triage_officer"), f"{base}/items", _item_form("Unreviewed proposal"))
    public_id = send_under_new_codename(world.settings, K.AGENDA_INPUT, AGENDA_FORM).public_id
    assert observer.get(base).status_code == 404
    assert "Observer-visible title" not in observer.get("/staff/").get_data(as_text=True)
    _post(chair, f"{base}/stage", {"to": "shared"})
    response = observer.get(base)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Observer-visible title" in page and "Specific topic for in-depth discussion" in page
    assert "Death penalty" in page and "Reprisals against civil society" in page
    for hidden in (
        "Unreviewed proposal",
        GENDER_WORDS,
        "Supported by",
        "Demo Triage Officer",
        public_id[:8],
        "Move up",
    ):
        assert hidden not in page
    home = observer.get("/staff/").get_data(as_text=True)
    assert base in home
    # Item pages and every action stay closed to observers.
    item_id = world.item_id(session_id, "Observer-visible title")
    assert observer.get(f"{base}/items/{item_id}").status_code == 403
    assert _post(observer, f"{base}/items", _item_form("Observer item")).status_code == 403
    assert _post(observer, f"{base}/stage", {"to": "draft"}).status_code == 403
    # Staff who are neither on the desk nor observers: 403, shared or not.
    for who in ("outside_co_chair", "outside_officer", "administrator"):
        assert world.client(who).get(base).status_code == 403


def test_bad_requests_get_a_clear_answer_and_store_nothing(world: World) -> None:
    session_id = world.new_session()
    base, chair = _base(session_id), world.client("co_chair")
    _post(chair, f"{base}/items", _item_form("Kept"))
    kept = world.item_id(session_id, "Kept")
    items, events = world.count(AgendaItem), world.count(AuditEvent)
    for data in (
        _item_form(""),
        _item_form("x" * 5000),
        _item_form("Bad theme", theme="weather"),
        _item_form("Bad topic", topic="weather"),
        _item_form("No priority", priority=""),
        _item_form("Standing twice", theme="reprisals", topic=""),
        _item_form("Long gender", gender_dimension="g" * 5000),
    ):
        response = _post(chair, f"{base}/items", data)
        assert response.status_code == 400, data
        assert "Nothing was changed" in response.get_data(as_text=True)
    assert _post(chair, f"{base}/items/{kept}/move", {"direction": "sideways"}).status_code == 400
    assert _post(chair, f"{base}/stage", {"to": "published"}).status_code == 400
    assert _post(chair, f"{base}/stage", {"to": "final"}).status_code == 400
    # No CSRF token: refused before anything.
    assert chair.post(f"{base}/items", data=_item_form("No token")).status_code == 400
    # Unknown or foreign objects: 404.
    other = world.new_session()
    assert _post(chair, f"{_base(other)}/items/{kept}/include").status_code == 404
    assert chair.get(f"{_base(other)}/items/{kept}").status_code == 404
    assert chair.get(f"{_base(999_999)}").status_code == 404
    assert chair.get(f"{_base(10**20)}").status_code == 404
    assert _post(chair, f"{base}/items/{10**20}/include").status_code == 404
    assert chair.get(f"/staff/dialogues/nowhere/sessions/{session_id}/agenda").status_code == 404
    coral = world.client("triage_officer")
    with world.database.session() as session:
        coral_session = session.scalars(
            select(DialogueSession.id)
            .join(Dialogue, Dialogue.id == DialogueSession.dialogue_id)
            .where(Dialogue.slug == "coral-straits")
        ).first()
    assert coral.get(f"{_base(coral_session)}").status_code == 404
    # Unauthorised: 403 whatever is posted; signed out: to the sign-in page.
    officer = world.client("triage_officer")
    for path in (f"items/{kept}/include", f"items/{kept}/drop", f"items/{kept}/move", "stage"):
        assert (
            _post(officer, f"{base}/{path}", {"direction": "up", "to": "shared"}).status_code == 403
        )
    assert (
        _post(world.client("outside_co_chair"), f"{base}/items", _item_form("x")).status_code == 403
    )
    assert (
        _post(world.client("desk_administrator"), f"{base}/items", _item_form("x")).status_code
        == 403
    )
    anonymous = world.client("anonymous")
    assert urlsplit(anonymous.get(base).headers["Location"]).path == "/staff/sign-in"
    assert (world.count(AgendaItem), world.count(AuditEvent)) == (items, events)


def test_links_from_the_submission_page(world: World, send_under_new_codename: Send) -> None:
    """Moved from the triage pages: the link form of a submission posts to the agenda's rule."""
    public_id = send_under_new_codename(world.settings, K.AGENDA_INPUT, AGENDA_FORM).public_id
    reprisal = send_under_new_codename(world.settings, K.REPRISAL_REPORT, REPRISAL_FORM).public_id
    officer, chair = world.client("triage_officer"), world.client("co_chair")
    own_session = world.submission(public_id).session_id
    assert own_session is not None
    _post(chair, f"{_base(own_session)}/items", _item_form("Death penalty moratorium"))
    item_id = world.item_id(own_session, "Death penalty moratorium")
    base = f"/staff/submissions/{public_id}"
    page = officer.get(base).get_data(as_text=True)
    assert "Death penalty moratorium" in page and "Link to an item" in page
    links = world.count(AgendaLink)
    # Not accepted yet: refused, nothing stored.
    assert _post(officer, f"{base}/agenda-link", {"agenda_item": str(item_id)}).status_code == 400
    assert _post(officer, f"{base}/agenda-link", {"agenda_item": "x"}).status_code == 400
    for huge in (str(10**20), "-3"):
        assert _post(officer, f"{base}/agenda-link", {"agenda_item": huge}).status_code == 400
    assert world.count(AgendaLink) == links
    _post(officer, f"{base}/accept")
    assert _post(officer, f"{base}/agenda-link", {"agenda_item": str(item_id)}).status_code == 302
    assert world.submission(public_id).state is S.ON_AGENDA
    assert _post(officer, f"{base}/agenda-link", {"agenda_item": str(item_id)}).status_code == 400
    assert world.count(AgendaLink) == links + 1
    # A co-chair reads the link, cannot make one.
    assert _post(chair, f"{base}/agenda-link", {"agenda_item": str(item_id)}).status_code == 403
    # The agenda counts it; the item's page lists it by reference.
    agenda_page = chair.get(_base(own_session)).get_data(as_text=True)
    assert "Agenda input: 1" in agenda_page
    item_page = officer.get(f"{_base(own_session)}/items/{item_id}").get_data(as_text=True)
    assert public_id[:8] in item_page and AGENDA_FORM["situation"] not in item_page
    # A reprisal report belongs to no session: it links to an agenda of the dialogue too.
    officer.get(f"/staff/submissions/{reprisal}")
    _post(officer, f"/staff/submissions/{reprisal}/accept")
    response = _post(
        officer, f"/staff/submissions/{reprisal}/agenda-link", {"agenda_item": str(item_id)}
    )
    assert response.status_code == 302
    # Unlinking from the submission's page returns to it; the state goes back.
    unlink = f"{_base(own_session)}/items/{item_id}/links/{public_id}/remove"
    assert _post(chair, unlink, {"back": "submission"}).status_code == 403
    response = _post(officer, unlink, {"back": "submission"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{base}#agenda")
    assert world.submission(public_id).state is S.ACCEPTED
    response = _post(officer, unlink)
    assert response.status_code == 400 and "not linked" in response.get_data(as_text=True)
    assert world.count(AgendaLink) == links + 1
