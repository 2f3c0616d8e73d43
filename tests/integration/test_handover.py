"""The handover list of a session: proposed, approved by a second person, frozen, printed and
exported, and every way a case leaves it at once, even a frozen one.

The module shares the triage pages' world (``test_triage_pages``: the demo accounts plus a
second triage officer and one on no desk). Each test makes its own planned session of
``valdoria`` after the open one, so that each list starts empty and unfrozen.
"""

import datetime as dt
import re
import subprocess
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    HandoverLeaving,
    RiskLevel,
    SessionPlace,
    SessionState,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.rounds import handover
from portal.services.submissions.inbox import (
    CONSENT_CHANGE,
    addition_position,
    change_plain_consent,
    change_sealed_consent,
    sealed_addition,
)
from portal.services.submissions.provenance import CheckedItem, Provenance
from portal.services.submissions.submitter_keys import submission_keys
from tests.integration.test_triage_pages import (
    CASE_FORM,
    PERSON_NAME,
    Triage,
    _page,
    _post,
    world,
)

__all__ = ["world"]  # the shared module fixture

SECOND_NAME = "Boris Example-Witness"


def _consent(level: str) -> dict[str, Any]:
    return {"level": level, "given_by": "person", "risks_explained": True}


def _case_form(*levels: str) -> dict[str, Any]:
    names = (PERSON_NAME, SECOND_NAME)
    return {
        **CASE_FORM,
        "persons": [
            {"name": names[index], "consent": _consent(level)} for index, level in enumerate(levels)
        ],
    }


@dataclass
class Lists:
    """A fresh session's list and the helpers that drive it through the pages."""

    world: Triage
    session_id: int

    @property
    def url(self) -> str:
        return f"/staff/dialogues/valdoria/sessions/{self.session_id}/handover"

    def ready_case(self, *levels: str) -> str:
        """A case sent, accepted and assessed (low risk): ready to be proposed."""
        public_id = self.world.send(
            SubmissionKind.INDIVIDUAL_CASE, _case_form(*(levels or ("handover_list",)))
        )
        officer = self.world.client("triage_officer")
        base = f"/staff/submissions/{public_id}"
        officer.get(base)
        assert _post(officer, f"{base}/accept").status_code == 302
        assert _post(officer, f"{base}/risk", {"level": "low"}).status_code == 302
        return public_id

    def propose(self, public_id: str, who: str = "triage_officer") -> Any:
        return _post(
            self.world.client(who),
            f"/staff/submissions/{public_id}/handover",
            {"session": str(self.session_id)},
        )

    def entry(self, public_id: str) -> HandoverEntry | None:
        with self.world.database.session() as session:
            found = session.scalars(
                select(HandoverEntry)
                .join(Submission, Submission.id == HandoverEntry.submission_id)
                .where(
                    Submission.public_id == public_id,
                    HandoverEntry.session_id == self.session_id,
                )
            ).first()
            if found is not None:
                session.expunge(found)
            return found

    def decide(self, public_id: str, action: str, who: str = "co_chair") -> Any:
        entry = self.entry(public_id)
        assert entry is not None
        return _post(self.world.client(who), f"{self.url}/{entry.id}/{action}")

    def listed(self, public_id: str) -> str:
        """A case proposed and approved: on the list."""
        assert self.propose(public_id).status_code == 302
        assert self.decide(public_id, "approve").status_code == 302
        assert self.world.state(public_id).state is SubmissionState.ON_HANDOVER_LIST
        return public_id

    def freeze(self) -> None:
        assert _post(self.world.client("co_chair"), f"{self.url}/freeze").status_code == 302

    def page(self, suffix: str = "", who: str = "co_chair") -> tuple[int, str]:
        return _page(self.world.client(who), self.url + suffix)


@pytest.fixture
def lists(world: Triage) -> Lists:
    with world.database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        latest = max(item.date for item in dialogue.sessions)
        planned = DialogueSession(
            dialogue_id=dialogue.id,
            date=latest + dt.timedelta(days=30),
            place=SessionPlace.BRUSSELS,
            state=SessionState.PLANNED,
        )
        session.add(planned)
        session.commit()
        return Lists(world, planned.id)


def _events(world: Triage, action: str) -> int:
    return world.events(action)


def _change_consent_sealed(world: Triage, public_id: str, level: str) -> None:
    """A consent change sealed and signed as the inbox page's script does, stored through the
    sealed path's own check (``change_sealed_consent``)."""
    with world.database.session() as session:
        found = world.submission(session, public_id)
        secrets = world._secrets_by_id[public_id]
        addition = sealed_addition(
            session,
            found,
            {"person": 0, "consent": _consent(level)},
            CONSENT_CHANGE,
            addition_position(found),
            submission_keys(secrets, found.public_id).signing_seed,
        )
        change_sealed_consent(
            session, found, addition.envelope, addition.signature, today=utc_now().date()
        )
        session.commit()


# --- propose, approve, reject, freeze ---------------------------------------------------------


def test_proposed_then_approved_by_a_co_chair_who_did_not_propose(lists: Lists) -> None:
    world = lists.world
    public_id = lists.ready_case()
    assert lists.propose(public_id).status_code == 302
    entry = lists.entry(public_id)
    assert entry is not None and entry.approved_at is None
    assert world.state(public_id).state is SubmissionState.ACCEPTED  # a proposal changes nothing
    status, page = lists.page()
    assert status == 200 and "Proposals awaiting approval" in page and "Approve" in page
    assert PERSON_NAME not in page  # the list page is metadata only
    # The same case twice is refused.
    assert lists.propose(public_id).status_code == 400

    # The proposer is told why they may not approve; another triage officer is not a co-chair.
    response = lists.decide(public_id, "approve", who="triage_officer")
    assert response.status_code == 403
    assert "you proposed this case" in response.get_data(as_text=True)
    response = lists.decide(public_id, "approve", who="second_officer")
    assert response.status_code == 403
    assert "only co-chairs" in response.get_data(as_text=True)
    assert lists.decide(public_id, "approve", who="outsider").status_code == 403
    assert lists.entry(public_id).approved_at is None

    approvals = _events(world, "handover.approved")
    assert lists.decide(public_id, "approve").status_code == 302
    entry = lists.entry(public_id)
    assert entry is not None and entry.approved_at is not None
    assert entry.approved_by_id == world.user_id("co_chair")
    assert world.state(public_id).state is SubmissionState.ON_HANDOVER_LIST
    assert _events(world, "handover.approved") == approvals + 1
    # Approving again is refused: nothing changes.
    assert lists.decide(public_id, "approve").status_code == 400
    assert _events(world, "handover.approved") == approvals + 1
    _status, page = lists.page()
    assert "On the list" in page and public_id in page


def test_a_co_chair_rejects_a_proposal_and_it_can_be_proposed_again(lists: Lists) -> None:
    world = lists.world
    public_id = lists.ready_case()
    assert lists.propose(public_id).status_code == 302
    rejections = _events(world, "handover.rejected")
    assert lists.decide(public_id, "reject", who="triage_officer").status_code == 403
    assert lists.decide(public_id, "reject").status_code == 302
    assert lists.entry(public_id) is None
    assert _events(world, "handover.rejected") == rejections + 1
    assert world.state(public_id).state is SubmissionState.ACCEPTED
    assert lists.propose(public_id).status_code == 302


def test_a_frozen_list_takes_nothing_new_and_unfreezes_until_held(lists: Lists) -> None:
    world = lists.world
    listed = lists.listed(lists.ready_case())
    waiting = lists.ready_case()
    assert lists.propose(waiting).status_code == 302
    late = lists.ready_case()
    assert _post(world.client("triage_officer"), f"{lists.url}/freeze").status_code == 403
    lists.freeze()
    assert _post(world.client("co_chair"), f"{lists.url}/freeze").status_code == 400
    response = lists.propose(late)
    assert response.status_code == 400 and "frozen" in response.get_data(as_text=True)
    assert lists.decide(waiting, "approve").status_code == 400
    assert lists.decide(waiting, "reject").status_code == 400
    assert lists.entry(late) is None
    assert world.state(listed).state is SubmissionState.ON_HANDOVER_LIST
    # A co-chair unfreezes it before the session is held, never after.
    assert _post(world.client("co_chair"), f"{lists.url}/unfreeze").status_code == 302
    assert lists.propose(late).status_code == 302
    lists.freeze()
    with world.database.session() as session:
        session.get(DialogueSession, lists.session_id).state = SessionState.HELD
        session.commit()
    response = _post(world.client("co_chair"), f"{lists.url}/unfreeze")
    assert response.status_code == 400 and "held" in response.get_data(as_text=True)


def test_sessions_a_case_may_be_proposed_for(lists: Lists) -> None:
    """Its own session or a later one not held; never an earlier or held one, nor another
    dialogue's; a reprisal report (no session) for any session of its dialogue not held."""
    world = lists.world
    public_id = lists.ready_case()
    with world.database.session() as session:
        case = world.submission(session, public_id)
        own = case.session
        earlier = DialogueSession(
            dialogue_id=case.dialogue_id,
            date=own.date - dt.timedelta(days=300),
            place=SessionPlace.VIDEO,
            state=SessionState.PLANNED,
        )
        held = DialogueSession(
            dialogue_id=case.dialogue_id,
            date=own.date + dt.timedelta(days=10),
            place=SessionPlace.VIDEO,
            state=SessionState.HELD,
        )
        other = session.scalars(select(Dialogue).where(Dialogue.slug != "valdoria")).first()
        foreign = DialogueSession(
            dialogue_id=other.id,
            date=own.date + dt.timedelta(days=40),
            place=SessionPlace.VIDEO,
            state=SessionState.PLANNED,
        )
        session.add_all([earlier, held, foreign])
        session.commit()
        candidates = {item.id for item in handover.sessions_to_propose_for(case)}
        assert own.id in candidates and lists.session_id in candidates
        assert not {earlier.id, held.id, foreign.id} & candidates
        refused = {"earlier": earlier.id, "held": held.id, "foreign": foreign.id}
        report = SimpleNamespace(
            kind=SubmissionKind.REPRISAL_REPORT, dialogue=case.dialogue, session=None
        )
        reprisal_candidates = {
            item.id
            for item in handover.sessions_to_propose_for(report)  # type: ignore[arg-type]
        }
        assert {earlier.id, own.id, lists.session_id} <= reprisal_candidates
        assert held.id not in reprisal_candidates
    officer = world.client("triage_officer")
    for session_id in refused.values():
        response = _post(
            officer, f"/staff/submissions/{public_id}/handover", {"session": str(session_id)}
        )
        assert response.status_code == 400
    assert lists.entry(public_id) is None


# --- leaving at once, even a frozen list ------------------------------------------------------


def _consent_plain(world: Triage, public_id: str) -> None:
    world.change_consent(public_id, "handover_list")  # even a change that keeps the level


def _consent_sealed(world: Triage, public_id: str) -> None:
    _change_consent_sealed(world, public_id, "internal_only")


def _hold(world: Triage, public_id: str) -> None:
    officer = world.client("second_officer")
    officer.get(f"/staff/submissions/{public_id}")
    assert (
        _post(officer, f"/staff/submissions/{public_id}/risk-hold", {"hold": "set"}).status_code
        == 302
    )


def _reassessed(world: Triage, public_id: str) -> None:
    response = _post(
        world.client("triage_officer"), f"/staff/submissions/{public_id}/risk", {"level": "low"}
    )
    assert response.status_code == 302


LEAVING = {
    "consent-no-javascript": (_consent_plain, HandoverLeaving.CONSENT),
    "consent-sealed": (_consent_sealed, HandoverLeaving.CONSENT),
    "risk-hold": (_hold, HandoverLeaving.RISK),
    "risk-reassessed": (_reassessed, HandoverLeaving.RISK),
}


@pytest.mark.parametrize("way", list(LEAVING))
def test_a_case_leaves_a_frozen_list_at_once(lists: Lists, way: str) -> None:
    world = lists.world
    public_id = lists.listed(lists.ready_case())
    waiting = lists.ready_case()
    assert lists.propose(waiting).status_code == 302
    lists.freeze()
    left_events = _events(world, "handover.left")
    change, reason = LEAVING[way]
    change(world, public_id)
    entry = lists.entry(public_id)
    assert entry is not None and entry.left_at is not None and entry.left_reason is reason
    if reason is HandoverLeaving.CONSENT:
        # The day of the change only, like the change itself.
        assert (entry.left_at.hour, entry.left_at.minute, entry.left_at.second) == (0, 0, 0)
    assert world.state(public_id).state is SubmissionState.ACCEPTED
    assert _events(world, "handover.left") == left_events + 1
    _status, page = lists.page()
    assert f"left the list: {reason.value}" in page
    _status, printed = lists.page("/print", who="triage_officer")
    assert PERSON_NAME not in printed
    assert public_id not in printed
    # The waiting proposal of another case is untouched.
    assert lists.entry(waiting).left_at is None


def test_a_lapsed_assessment_counts_as_left_and_is_stored_at_the_next_touch(lists: Lists) -> None:
    world = lists.world
    public_id = lists.listed(lists.ready_case())
    lists.freeze()
    _status, printed = lists.page("/print", who="triage_officer")
    assert PERSON_NAME in printed
    with world.database.session() as session:
        world.submission(session, public_id).risk_reassess_on = utc_now().date()
        session.commit()
    _status, page = lists.page()
    assert "left the list: risk" in page
    _status, printed = lists.page("/print", who="triage_officer")
    assert PERSON_NAME not in printed
    assert lists.entry(public_id).left_at is None  # reading stores nothing
    # The next action that touches the list stores it as left, and the case goes back.
    assert _post(world.client("co_chair"), f"{lists.url}/unfreeze").status_code == 302
    entry = lists.entry(public_id)
    assert entry.left_at is not None and entry.left_reason is HandoverLeaving.RISK
    assert world.state(public_id).state is SubmissionState.ACCEPTED


def test_a_lapsed_assessment_is_refused_and_stored_when_approving(lists: Lists) -> None:
    world = lists.world
    public_id = lists.ready_case()
    assert lists.propose(public_id).status_code == 302
    with world.database.session() as session:
        found = world.submission(session, public_id)
        found.risk_level = RiskLevel.MEDIUM
        found.risk_reassess_on = utc_now().date() - dt.timedelta(days=1)
        session.commit()
    response = lists.decide(public_id, "approve")
    assert response.status_code == 400
    entry = lists.entry(public_id)
    assert entry.left_at is not None and entry.left_reason is HandoverLeaving.RISK
    assert world.state(public_id).state is SubmissionState.ACCEPTED


def test_a_held_sessions_list_is_history(lists: Lists) -> None:
    world = lists.world
    public_id = lists.listed(lists.ready_case())
    lists.freeze()
    with world.database.session() as session:
        session.get(DialogueSession, lists.session_id).state = SessionState.HELD
        session.commit()
    world.change_consent(public_id, "raise_by_name")
    _hold(world, public_id)
    entry = lists.entry(public_id)
    assert entry.left_at is None and entry.approved_at is not None
    _status, page = lists.page()
    assert "left the list" not in page


# --- the printed and exported sheet -----------------------------------------------------------


def test_print_and_export_show_only_allowed_names_to_readers_who_open_them(lists: Lists) -> None:
    world = lists.world
    listed = lists.listed(lists.ready_case("handover_list", "handover_list"))
    refused = lists.ready_case("handover_list", "raise_by_name")
    response = lists.propose(refused)
    assert response.status_code == 400
    assert "consented to the handover list" in response.get_data(as_text=True)
    # The export is refused for a list that is not frozen, and nothing is on record.
    exports = _events(world, "handover.exported")
    status, page = lists.page("/export", who="triage_officer")
    assert status == 400 and "freeze" in page
    assert _events(world, "handover.exported") == exports

    # A triage officer holds the identity key: both names (both allow the list).
    reads = _events(world, "submission.read")
    status, printed = lists.page("/print", who="triage_officer")
    assert status == 200 and PERSON_NAME in printed and SECOND_NAME in printed
    assert listed not in printed and refused not in printed  # no submitter's reference
    assert "handover-print.css" in printed
    assert _events(world, "submission.read") == reads + 1  # one read per case on the list
    # A co-chair does not: "Person N", and who can name them on the case.
    status, printed = lists.page("/print")
    assert status == 200 and PERSON_NAME not in printed and SECOND_NAME not in printed
    assert "Person 1" in printed and "sealed for you" in printed
    assert "Demo Triage Officer" in printed

    lists.freeze()
    response = world.client("triage_officer").get(lists.url + "/export")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert PERSON_NAME in text and SECOND_NAME in text and "Case 1" in text
    assert not re.search(r"\d{1,2}:\d{2}", text)  # days, never times
    assert listed not in text
    assert _events(world, "handover.exported") == exports + 1
    text = world.client("co_chair").get(lists.url + "/export").get_data(as_text=True)
    assert PERSON_NAME not in text and "sealed for you" in text

    # The second person lowers their consent: the case leaves, and no name is printed.
    with world.database.session() as session:
        found = world.submission(session, listed)
        secrets = world._secrets_by_id[listed]
        change_plain_consent(
            session,
            found,
            secrets,
            {"person": 1, "consent": _consent("raise_without_name")},
            today=utc_now().date(),
        )
        session.commit()
    status, printed = lists.page("/print", who="triage_officer")
    assert PERSON_NAME not in printed and SECOND_NAME not in printed
    text = world.client("triage_officer").get(lists.url + "/export").get_data(as_text=True)
    assert PERSON_NAME not in text and SECOND_NAME not in text


def test_a_co_chair_named_on_the_case_prints_its_names(lists: Lists) -> None:
    """The identity compartment decides who opens names: naming the co-chair on the case puts
    the names on their sheet, as the round allows them."""
    world = lists.world
    public_id = lists.listed(lists.ready_case())
    _status, printed = lists.page("/print")
    assert PERSON_NAME not in printed
    named = _post(
        world.client("triage_officer"),
        f"/staff/submissions/{public_id}/name-readers",
        {"named": [str(world.user_id("co_chair"))]},
    )
    assert named.status_code == 302
    _status, printed = lists.page("/print")
    assert PERSON_NAME in printed and "sealed for you" not in printed


# --- bad requests: refused, nothing stored -----------------------------------------------------


def _stored(world: Triage) -> tuple[int, int]:
    with world.database.session() as session:
        return (
            session.scalar(select(func.count()).select_from(HandoverEntry)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def test_malformed_replayed_and_unauthorised_requests_store_nothing(lists: Lists) -> None:
    world = lists.world
    public_id = lists.ready_case()
    officer = world.client("triage_officer")
    propose_url = f"/staff/submissions/{public_id}/handover"
    before = _stored(world)
    for value in ("", "abc", "-1", "0", "9" * 40, "99999"):
        assert _post(officer, propose_url, {"session": value}).status_code == 400, value
    assert _post(officer, propose_url, {"session": "1" * 2_000_000}).status_code in (400, 413)
    # Without the CSRF token.
    assert officer.post(propose_url, data={"session": str(lists.session_id)}).status_code == 400
    # Not a triage officer, not on the desk, not signed in.
    # (off the desk, the submission is answered as unknown).
    for who, status in (("co_chair", 403), ("outsider", 404)):
        response = _post(world.client(who), propose_url, {"session": str(lists.session_id)})
        assert response.status_code == status, who
    anonymous = world.app.test_client()
    assert anonymous.post(propose_url, data={"session": "1"}).status_code in (302, 400)
    assert _stored(world) == before

    assert lists.propose(public_id).status_code == 302
    entry = lists.entry(public_id)
    before = _stored(world)
    co_chair = world.client("co_chair")
    assert _post(co_chair, f"{lists.url}/{entry.id + 10_000}/approve").status_code == 404
    assert _post(co_chair, f"{lists.url}/99999999999/approve").status_code == 404
    assert (
        _post(
            co_chair, "/staff/dialogues/valdoria/sessions/99999999999/handover/freeze"
        ).status_code
        == 404
    )
    assert co_chair.post(f"{lists.url}/{entry.id}/approve").status_code == 400  # no CSRF
    other_session = f"/staff/dialogues/northvale/sessions/{lists.session_id}/handover"
    assert _page(co_chair, other_session)[0] == 404
    assert _page(world.client("outsider"), lists.url)[0] == 403
    assert _stored(world) == before
    # Replayed: the second approval is refused and stores nothing more.
    assert lists.decide(public_id, "approve").status_code == 302
    after = _stored(world)
    assert lists.decide(public_id, "approve").status_code == 400
    assert _stored(world) == after


# --- the rule, on its own ---------------------------------------------------------------------


def test_the_rule_reads_the_latest_consent() -> None:
    dialogue = Dialogue(slug="x", partner="X")
    round_ = DialogueSession(id=1, date=dt.date(2030, 1, 1), state=SessionState.PLANNED)
    round_.dialogue = dialogue
    submission = Submission(
        kind=SubmissionKind.INDIVIDUAL_CASE,
        state=SubmissionState.ACCEPTED,
        risk_level=RiskLevel.LOW,
        risk_hold=False,
        dialogue=dialogue,
    )
    submission.session = round_

    @dataclass
    class Opened:
        payload: dict[str, Any]
        consent_changes: tuple[CheckedItem, ...]

    def change(level: str, provenance: Provenance = Provenance.SIGNED) -> CheckedItem:
        return CheckedItem({"person": 1, "consent": _consent(level)}, provenance)

    def refusal(persons: dict[str, Any], changes: tuple[CheckedItem, ...]) -> str | None:
        return handover.proposal_refusal(
            None,  # type: ignore[arg-type]  # no earlier session: nothing is queried
            submission,
            Opened(persons, changes),
            round_,
            today=dt.date(2029, 6, 1),
        )

    persons = {
        "persons": [
            {"name": "a", "consent": _consent("handover_list")},
            {"name": "b", "consent": _consent("handover_list")},
        ]
    }
    assert refusal(persons, ()) is None
    withdrawn = (change("internal_only"),)
    assert refusal(persons, withdrawn) is not None
    assert refusal(persons, (*withdrawn, change("handover_list"))) is None
    assert refusal({"persons": []}, ()) is not None
    # A change sent before signatures may lower consent, never raise it.
    unsigned = Provenance.BEFORE_SIGNATURES
    assert refusal(persons, (change("internal_only", unsigned),)) is not None
    assert refusal(persons, (*withdrawn, change("handover_list", unsigned))) is not None
    # A change that could not be verified is never used, and stops the proposal.
    unverified = (CheckedItem({}, Provenance.UNVERIFIED),)
    assert refusal(persons, unverified) == "a consent change of this case could not be verified"
    # A lapsed assessment stops it too: due on its re-assessment day.
    submission.risk_reassess_on = dt.date(2029, 6, 1)
    assert "assessment is due" in (refusal(persons, ()) or "")


@pytest.mark.parametrize(
    "module",
    [
        "portal.services.submissions.inbox",
        "portal.services.staff.triage",
        "portal.services.rounds.handover",
        "portal.services.rounds.round_consent",
        "portal.services.rounds.handover_sheet",
    ],
)
def test_the_modules_that_import_one_another_load_in_any_order(module: str) -> None:
    """Consent changes (``inbox``) and risk changes (``triage``) call the list, whose rule reads
    consent (``round_consent`` -> ``inbox``) and moves states (``triage``): each loads first."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=60)
