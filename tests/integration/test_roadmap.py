"""The follow-up roadmap of a dialogue: results, actions and their history, links within the
dialogue, overdue actions, progress notices, and who may read and keep it.

The module shares the triage pages' world (``test_triage_pages``: the demo accounts plus a
second triage officer on the ``valdoria`` desk and one on no desk), and adds an included agenda
item to the open ``valdoria`` session and one to a session of ``coral-straits``, another
dialogue. Submissions are sent under new codenames and accepted through the triage pages.
"""

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

import crypto
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItem,
    AgendaItemStatus,
    AgendaPriority,
    AgendaTheme,
    AuditEvent,
    DeskMessage,
    Dialogue,
    DialogueSession,
    FollowUpAction,
    FollowUpActionChange,
    FollowUpActionLink,
    FollowUpResult,
    MessagePurpose,
    NamedMember,
    RiskLevel,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.models.followup import MAX_ROADMAP_TEXT, MAX_ROADMAP_TITLE
from portal.services.rounds.roadmap import is_overdue, overdue_actions
from portal.services.submissions.messages import message_context
from portal.services.submissions.notice_format import read_notice
from portal.services.submissions.submitter_keys import submission_private_key
from tests.integration.test_triage_pages import CASE_FORM, Triage, _page, _post, world

__all__ = ["world"]  # the shared module fixture

ROADMAP = "/staff/dialogues/valdoria/roadmap"
SEMINAR_FORM: dict[str, Any] = {
    "topics": ["death_penalty"],
    "seminar": "Civil-society seminar, Valdoria city",
    "recommendations": [
        {"text": "Abolish the death penalty", "addressee": "Parliament", "topic": "death_penalty"},
        {
            "text": "Release detained journalists",
            "addressee": "Government",
            "topic": "freedom_of_expression",
        },
    ],
}
TODAY = utc_now().date()


@dataclass
class Roadmap:
    """The shared world with the agenda items the links need."""

    world: Triage
    item: int  # included, on the open valdoria session
    foreign_item: int  # included, on a coral-straits session
    valdoria_session: int
    foreign_session: int

    def client(self, who: str) -> Any:
        return self.world.client(who)

    def accepted(self, kind: SubmissionKind, form: dict[str, Any]) -> str:
        public_id = self.world.send(kind, form)
        officer = self.client("triage_officer")
        officer.get(f"/staff/submissions/{public_id}")
        assert _post(officer, f"/staff/submissions/{public_id}/accept").status_code == 302
        return public_id

    def add_action(self, who: str = "co_chair", **fields: str) -> int:
        data = {"title": "Invite the rapporteur", "owner": "partner", "due_on": _day(30)}
        response = _post(self.client(who), f"{ROADMAP}/actions", {**data, **fields})
        assert response.status_code == 302, response.get_data(as_text=True)
        found = re.search(r"/actions/(\d+)$", response.headers["Location"])
        assert found is not None
        return int(found.group(1))

    def action(self, action_id: int) -> FollowUpAction:
        with self.world.database.session() as session:
            found = session.get(FollowUpAction, action_id)
            assert found is not None
            found.links, found.changes  # noqa: B018 (loaded before the session closes)
            session.expunge_all()
            return found

    def counts(self) -> tuple[int, ...]:
        models = (
            FollowUpResult,
            FollowUpAction,
            FollowUpActionChange,
            FollowUpActionLink,
            DeskMessage,
        )
        return tuple(self.world.count(model) for model in models)


@pytest.fixture(scope="module")
def roadmap(world: Triage) -> Roadmap:
    with world.database.session() as session:
        ids = {}
        for slug in ("valdoria", "coral-straits"):
            dialogue_session = session.scalars(
                select(DialogueSession)
                .join(Dialogue)
                .where(Dialogue.slug == slug, DialogueSession.state != "follow_up")
                .order_by(DialogueSession.date)
            ).first()
            assert dialogue_session is not None
            item = AgendaItem(
                session_id=dialogue_session.id,
                title=f"Freedom of expression in {slug}",
                theme=AgendaTheme.GENERAL_DEVELOPMENTS,
                position=9,
                priority_of=AgendaPriority.EU,
                status=AgendaItemStatus.INCLUDED,
            )
            session.add(item)
            session.flush()
            ids[slug] = (item.id, dialogue_session.id)
        session.commit()
    (item, valdoria_session), (foreign_item, foreign_session) = ids.values()
    return Roadmap(world, item, foreign_item, valdoria_session, foreign_session)


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- results and actions -----------------------------------------------------------------------


def test_results_and_actions_are_kept_with_their_history(roadmap: Roadmap) -> None:
    co_chair = roadmap.client("co_chair")
    response = _post(
        co_chair,
        f"{ROADMAP}/results",
        {"title": "Moratorium on executions", "measure": "Official moratorium by 2028"},
    )
    assert response.status_code == 302
    with roadmap.world.database.session() as session:
        result_id = session.scalars(
            select(FollowUpResult.id).where(FollowUpResult.title == "Moratorium on executions")
        ).one()
    action_id = roadmap.add_action(
        title="Table the moratorium bill",
        owner="partner",
        result=str(result_id),
        session=str(roadmap.valdoria_session),
    )
    status, page = _page(co_chair, ROADMAP)
    text = _text(page)
    assert status == 200
    assert "Moratorium on executions" in text and "Official moratorium by 2028" in text
    assert "Table the moratorium bill" in text and "The partner government" in text

    officer = roadmap.client("triage_officer")  # triage officers keep the roadmap too
    edited = {"title": "Table the bill", "owner": "eu", "due_on": _day(60)}
    assert _post(officer, f"{ROADMAP}/actions/{action_id}", edited).status_code == 302
    note = "The committee **heard** civil society"
    response = _post(
        officer, f"{ROADMAP}/actions/{action_id}/state", {"state": "in_progress", "note": note}
    )
    assert response.status_code == 302
    action = roadmap.action(action_id)
    assert (action.title, action.owner, action.result_id) == (
        "Table the bill",
        ActionOwner.EU,
        None,
    )
    assert action.state is ActionState.IN_PROGRESS
    assert [(change.state, change.note) for change in action.changes] == [
        (ActionState.PLANNED, None),
        (ActionState.IN_PROGRESS, note),
    ]
    status, page = _page(co_chair, f"{ROADMAP}/actions/{action_id}")
    assert status == 200
    assert "The committee <strong>heard</strong> civil society" in page
    assert "In progress" in _text(page)

    # The same state again is a progress report: it needs a note, and is then kept.
    same = {"state": "in_progress"}
    assert _post(officer, f"{ROADMAP}/actions/{action_id}/state", same).status_code == 400
    same["note"] = "Second reading scheduled"
    assert _post(officer, f"{ROADMAP}/actions/{action_id}/state", same).status_code == 302
    assert len(roadmap.action(action_id).changes) == 3

    reworded = {"title": "Moratorium on executions", "measure": "A law in force by 2029"}
    assert _post(co_chair, f"{ROADMAP}/results/{result_id}", reworded).status_code == 302
    assert _post(co_chair, f"{ROADMAP}/results/{result_id}", reworded).status_code == 400
    assert "A law in force by 2029" in _page(co_chair, f"{ROADMAP}/results/{result_id}")[1]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/results", {"title": "", "measure": "Measured"}),
        ("/results", {"title": "x" * (MAX_ROADMAP_TITLE + 1), "measure": "Measured"}),
        ("/results", {"title": "A result", "measure": "m" * (MAX_ROADMAP_TEXT + 1)}),
        ("/actions", {"title": " ", "owner": "eu", "due_on": _day(3)}),
        ("/actions", {"title": "x" * (MAX_ROADMAP_TITLE + 1), "owner": "eu", "due_on": _day(3)}),
        ("/actions", {"title": "An action", "owner": "ngo", "due_on": _day(3)}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": ""}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": "2031-02-30"}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": "20310101"}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": _day(3), "result": "x"}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": _day(3), "result": "999999"}),
    ],
)
def test_malformed_results_and_actions_store_nothing(
    roadmap: Roadmap, path: str, data: dict[str, str]
) -> None:
    before = roadmap.counts()
    response = _post(roadmap.client("co_chair"), ROADMAP + path, data)
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert roadmap.counts() == before


def test_results_and_sessions_of_another_dialogue_are_refused(roadmap: Roadmap) -> None:
    with roadmap.world.database.session() as session:
        coral = session.scalars(select(Dialogue).where(Dialogue.slug == "coral-straits")).one()
        foreign = FollowUpResult(
            dialogue_id=coral.id,
            title="Elsewhere",
            measure="Elsewhere",
            created_by_id=roadmap.world.user_id("co_chair"),
        )
        session.add(foreign)
        session.commit()
        foreign_result = foreign.id
    before = roadmap.counts()
    co_chair = roadmap.client("co_chair")
    base = {"title": "An action", "owner": "eu", "due_on": _day(3)}
    for extra in ({"result": str(foreign_result)}, {"session": str(roadmap.foreign_session)}):
        response = _post(co_chair, f"{ROADMAP}/actions", {**base, **extra})
        assert response.status_code == 400
    assert _page(co_chair, f"{ROADMAP}/results/{foreign_result}")[0] == 404
    assert roadmap.counts() == before


def test_a_bad_state_change_stores_nothing(roadmap: Roadmap) -> None:
    action_id = roadmap.add_action()
    before = roadmap.counts()
    url = f"{ROADMAP}/actions/{action_id}/state"
    for data in (
        {"state": "finished"},
        {"state": ""},
        {"state": "done", "note": "n" * (MAX_ROADMAP_TEXT + 1)},
        {"state": "planned"},
    ):
        assert _post(roadmap.client("co_chair"), url, data).status_code == 400
    assert roadmap.counts() == before
    assert roadmap.action(action_id).state is ActionState.PLANNED


# --- overdue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "due", "overdue"),
    [
        (ActionState.PLANNED, -1, True),
        (ActionState.IN_PROGRESS, -30, True),
        (ActionState.PLANNED, 0, False),
        (ActionState.IN_PROGRESS, 5, False),
        (ActionState.DONE, -1, False),
        (ActionState.DROPPED, -1, False),
    ],
)
def test_overdue_is_open_and_past_its_day(state: ActionState, due: int, overdue: bool) -> None:
    action = FollowUpAction(state=state, due_on=TODAY + dt.timedelta(days=due))
    assert is_overdue(action, TODAY) is overdue


def test_overdue_actions_show_on_the_roadmap_and_the_co_chairs_home(roadmap: Roadmap) -> None:
    late = roadmap.add_action(title="Report on the prison visits", due_on=_day(-3))
    done = roadmap.add_action(title="Share the list", due_on=_day(-3))
    co_chair = roadmap.client("co_chair")
    assert _post(co_chair, f"{ROADMAP}/actions/{done}/state", {"state": "done"}).status_code == 302
    with roadmap.world.database.session() as session:
        valdoria = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        overdue = {action.id for action in overdue_actions(session, [valdoria.id], TODAY)}
    assert late in overdue and done not in overdue
    assert all(roadmap.action(action_id).due_on < TODAY for action_id in overdue)

    page = _page(co_chair, f"{ROADMAP}/actions/{late}")[1]
    assert "Overdue" in page
    assert "Overdue" not in _page(co_chair, f"{ROADMAP}/actions/{done}")[1]
    text = _text(_page(co_chair, ROADMAP)[1])
    assert "Planned, " in text and "Done, " in text  # each action's history
    assert f"{len(overdue)} action{'s are' if len(overdue) > 1 else ' is'} overdue." in text

    home = _text(_page(co_chair, "/staff/")[1])
    count = len(overdue)
    assert f"Republic of Valdoria: {count} overdue action{'s' if count > 1 else ''}" in home
    assert "overdue action" not in _text(_page(roadmap.client("triage_officer"), "/staff/")[1])


# --- links -------------------------------------------------------------------------------------


def test_links_stay_within_the_dialogue(roadmap: Roadmap) -> None:
    action_id = roadmap.add_action()
    case = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    seminar = roadmap.accepted(SubmissionKind.SEMINAR_RECOMMENDATIONS, SEMINAR_FORM)
    received = roadmap.world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    moved = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    with roadmap.world.database.session() as session:
        # The rule reads only which dialogue a submission belongs to: move one elsewhere.
        coral = session.scalars(select(Dialogue).where(Dialogue.slug == "coral-straits")).one()
        roadmap.world.submission(session, moved).dialogue_id = coral.id
        session.commit()
    co_chair = roadmap.client("co_chair")
    links = f"{ROADMAP}/actions/{action_id}/links"

    assert _post(co_chair, f"{links}/item", {"item": str(roadmap.item)}).status_code == 302
    assert _post(co_chair, f"{links}/case", {"case": case}).status_code == 302
    good = {"submission": seminar, "number": "2"}
    assert _post(co_chair, f"{links}/recommendation", good).status_code == 302
    before = roadmap.counts()
    for path, data in (
        ("item", {"item": str(roadmap.foreign_item)}),
        ("item", {"item": str(roadmap.item)}),  # the same link twice
        ("item", {"item": "abc"}),
        ("case", {"case": moved}),  # another dialogue's
        ("case", {"case": received}),  # not accepted
        ("case", {"case": seminar}),  # not a case
        ("case", {"case": "no-such-reference"}),
        ("case", {"case": case}),  # the same link twice
        ("recommendation", {"submission": seminar, "number": "3"}),
        ("recommendation", {"submission": seminar, "number": "0"}),
        ("recommendation", {"submission": case, "number": "1"}),
        ("recommendation", good),  # the same link twice
    ):
        response = _post(co_chair, f"{links}/{path}", data)
        assert response.status_code == 400, (path, data)
        typed = data.get("case") or data.get("submission")
        assert typed is None or f'value="{typed}"' in response.get_data(as_text=True)
    assert roadmap.counts() == before

    case_page = _text(_page(co_chair, f"/staff/submissions/{case}")[1])
    assert "Follow-up actions linked to it" in case_page and "Invite the rapporteur" in case_page
    page = _text(_page(co_chair, f"{ROADMAP}/actions/{action_id}")[1])
    assert "Freedom of expression in valdoria" in page
    assert f"Individual case {case}" in page and f"Recommendation 2 of {seminar}" in page
    action = roadmap.action(action_id)
    assert {(link.submission_id is None, link.recommendation_index) for link in action.links} == {
        (True, None),
        (False, None),
        (False, 1),
    }
    first = action.links[0].id
    assert _post(co_chair, f"{links}/{first}/remove").status_code == 302
    assert _post(co_chair, f"{links}/{first}/remove").status_code == 400
    assert len(roadmap.action(action_id).links) == 2
    assert roadmap.world.events("roadmap.action_unlinked") >= 1


def test_a_restricted_case_is_linked_and_shown_only_by_its_named_members(
    roadmap: Roadmap,
) -> None:
    case = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    with roadmap.world.database.session() as session:
        found = roadmap.world.submission(session, case)
        found.risk_level = RiskLevel.HIGH
        session.add(
            NamedMember(
                submission_id=found.id, staff_user_id=roadmap.world.user_id("second_officer")
            )
        )
        session.commit()
    action_id = roadmap.add_action()
    url = f"{ROADMAP}/actions/{action_id}/links/case"
    before = roadmap.counts()
    assert _post(roadmap.client("co_chair"), url, {"case": case}).status_code == 403
    assert roadmap.counts() == before
    assert _post(roadmap.client("second_officer"), url, {"case": case}).status_code == 302
    page = _page(roadmap.client("co_chair"), f"{ROADMAP}/actions/{action_id}")[1]
    assert case not in page
    assert "restricted to other members of the desk" in page
    # Nor may the co-chair send its contributor a progress notice.
    state = {"state": "in_progress", "note": "Under way", "notify": [case]}
    before = roadmap.counts()
    url = f"{ROADMAP}/actions/{action_id}/state"
    assert _post(roadmap.client("co_chair"), url, state).status_code == 400
    assert roadmap.counts() == before
    assert case in _page(roadmap.client("second_officer"), f"{ROADMAP}/actions/{action_id}")[1]
    case_page = _page(roadmap.client("co_chair"), f"/staff/submissions/{case}")[1]
    assert "Follow-up actions linked to it" not in case_page


# --- progress notices --------------------------------------------------------------------------


def _notices(roadmap: Roadmap, public_id: str, action_id: int) -> list[Any]:
    """The progress notices of ``action_id`` in the thread of ``public_id``, opened with the
    submitter's own key."""
    secrets = roadmap.world._secrets_by_id[public_id]
    with roadmap.world.database.session() as session:
        submission = roadmap.world.submission(session, public_id)
        key = submission_private_key(submission, secrets)
        return [
            read_notice(crypto.open_envelope(message.envelope, key, message_context(message)))
            for message in submission.messages
            if message.purpose is MessagePurpose.PROGRESS
            and message.follow_up_action_id == action_id
        ]


def test_progress_notices_reach_only_the_linked_contributors_the_desk_picks(
    roadmap: Roadmap,
) -> None:
    action_id = roadmap.add_action(title="Visit the northern prison")
    picked = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    left_out = roadmap.accepted(SubmissionKind.SEMINAR_RECOMMENDATIONS, SEMINAR_FORM)
    unlinked = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    withdrawn = roadmap.accepted(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    co_chair = roadmap.client("co_chair")
    links = f"{ROADMAP}/actions/{action_id}/links"
    assert _post(co_chair, f"{links}/case", {"case": picked}).status_code == 302
    assert _post(co_chair, f"{links}/case", {"case": withdrawn}).status_code == 302
    with roadmap.world.database.session() as session:
        roadmap.world.submission(session, withdrawn).state = SubmissionState.WITHDRAWN
        session.commit()
    recommendation = {"submission": left_out, "number": "1"}
    assert _post(co_chair, f"{links}/recommendation", recommendation).status_code == 302
    page = _page(co_chair, f"{ROADMAP}/actions/{action_id}")[1]
    assert f'value="{picked}"' in page and f'value="{left_out}"' in page
    assert f'value="{unlinked}"' not in page and f'value="{withdrawn}"' not in page

    state = f"{ROADMAP}/actions/{action_id}/state"
    before = roadmap.counts()
    for notify in ([unlinked], [picked, unlinked], [withdrawn], ["not-a-reference"]):
        data = {"state": "in_progress", "note": "Visit agreed", "notify": notify}
        assert _post(co_chair, state, data).status_code == 400
    assert roadmap.counts() == before
    assert roadmap.action(action_id).state is ActionState.PLANNED

    note = "The visit is **agreed** for the spring"
    data = {"state": "in_progress", "note": note, "notify": [picked]}
    assert _post(co_chair, state, data).status_code == 302
    (notice,) = _notices(roadmap, picked, action_id)
    assert notice is not None and notice.action_id == action_id
    assert "Visit the northern prison" in notice.html and "In progress" in notice.html
    assert "The visit is <strong>agreed</strong> for the spring" in notice.html
    assert _notices(roadmap, left_out, action_id) == []
    assert _notices(roadmap, unlinked, action_id) == []

    # Nothing is sent unless the desk picks it.
    before = roadmap.counts()
    assert _post(co_chair, state, {"state": "done"}).status_code == 302
    assert roadmap.counts()[-1] == before[-1]
    with roadmap.world.database.session() as session:
        details = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "notice.sent")
        ).all()
    assert {"submission_id", "purpose"} <= set(details[-1])


# --- who ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["observer", "administrator", "outsider"])
def test_observers_and_anyone_off_the_desk_are_refused(roadmap: Roadmap, who: str) -> None:
    action_id = roadmap.add_action()
    client = roadmap.client(who)
    before = roadmap.counts()
    assert _page(client, ROADMAP)[0] == 403
    assert _page(client, f"{ROADMAP}/actions/{action_id}")[0] == 403
    for path, data in (
        ("/results", {"title": "A result", "measure": "Measured"}),
        ("/actions", {"title": "An action", "owner": "eu", "due_on": _day(3)}),
        (f"/actions/{action_id}/state", {"state": "done"}),
        (f"/actions/{action_id}/links/item", {"item": str(roadmap.item)}),
    ):
        assert _post(client, ROADMAP + path, data).status_code == 403
    assert roadmap.counts() == before


def test_pages_name_no_submission_off_the_action_and_audit_ids_only(roadmap: Roadmap) -> None:
    action_id = roadmap.add_action(title="UNIQUE-ROADMAP-TITLE")
    page = _page(roadmap.client("triage_officer"), ROADMAP)[1]
    assert "UNIQUE-ROADMAP-TITLE" in page and "/staff/submissions/" not in page
    with roadmap.world.database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("roadmap.%"))
        ).all()
        added = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "roadmap.action_added",
                AuditEvent.object_id == str(action_id),
            )
        )
    assert added == 1
    for event in events:
        assert "UNIQUE-ROADMAP-TITLE" not in json.dumps(event.details)
        assert not {"title", "measure", "note"} & set(event.details)
