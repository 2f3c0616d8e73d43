"""No name goes further than its person's consent for the round, whatever happens in between.

A property-based test (``hypothesis.stateful``): one example is a dialogue's run of up to three
sessions (rounds) of the ``valdoria`` dialogue, with two or three individual cases and a
reprisal report, each naming one to three persons with a unique canary name, accepted,
risk-assessed and linked to an item of each session's agenda (a reprisal report stands under
each session's reprisals point). Random steps then change consent on both inbox paths (sealed
in the browser, and posted without JavaScript), answer the requests to confirm consent for a
round on both paths, assess the risk again (a re-assessment date of today lapses at once; a
date reached later is the clock moving on), set and clear a risk hold, propose (triage
officer), approve (co-chair; the proposer's own approval is refused), freeze and unfreeze lists,
open a new round's consultation (which asks again), ask again from the desk, record a case as
raised in a session, and name the co-chair on a case (or not), so that the co-chair opens its
names (or not).

After every step, for every session and for the triage officer (who opens names by the identity
key) and the co-chair: the briefing pack's page, its print view and its offline bundle
(decrypted with the offline code), and the handover list's page, print view and export are
rendered through the Flask test client, and each canary name must appear only where the
test's own model of the actions allows it:

- the model keeps each person's consent as the last change on either path, which round a
  change confirmed, where each case was raised or approved for a list, and each list entry's
  standing. A case raised, or approved for a list, in an earlier session counts in a round only
  through confirmations for that round; every other person of it is background only;
- a name is in a briefing only when the model says the name may be raised in that round and the
  reader opens the case's names; on a handover print or export only when the model says the
  person allows the list, the case's entry is approved and in force, and the reader opens names.
  For the triage officer the converse is checked too (the name is there when allowed), so a
  pack that drops everything does not pass;
- the model and ``round_consent.persons_in_round`` must agree on every person in every round.

Each example makes fresh rows; at its end its submissions are withdrawn so that the next
example's rounds neither ask them again nor brief them.
"""

import collections
import datetime as dt
import io
import itertools
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AgendaPriority,
    AgendaTheme,
    CaseOutcome,
    Dialogue,
    DialogueSession,
    HowRaised,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.bundles.offline import decrypt_bundle, read_offline_key
from portal.services.dialogues.dialogue_sessions import (
    consultation_accepts_submissions,
    open_consultation,
)
from portal.services.rounds import consent_requests, handover, round_consent
from portal.services.staff import identities, triage
from portal.services.staff.reading import ReadRefusedError, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import (
    CONSENT_CHANGE,
    addition_position,
    change_plain_consent,
    change_sealed_consent,
    sealed_addition,
)
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.payload import ConsentLevel
from portal.services.submissions.submitter_keys import submission_keys
from portal.services.submissions.submitters import register_new_codename
from tests.conftest import DemoInstance, csrf_token_for
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.staff_sessions_support import demo_credentials, sign_in_client

READERS = ("triage_officer", "co_chair")
LEVELS = list(ConsentLevel)
PATHS = ("plain", "sealed")
# Any level, but the list's level more often: a case reaches a handover list only when all of
# its persons allow it.
LEVEL = st.one_of(st.just(ConsentLevel.HANDOVER_LIST), st.sampled_from(LEVELS))
MAX_SESSIONS = 3
_ORDER = {level: rank for rank, level in enumerate(LEVELS)}
_canaries = itertools.count(1)
SEEN: collections.Counter[str] = collections.Counter()  # what the run exercised, for its report


def event(what: str) -> None:
    """Count ``what`` for the run's report, and tell hypothesis (its statistics)."""
    SEEN[what] += 1
    hypothesis_event(what)


# --- the world: one demo instance per backend, reused by every example ------------------------


@dataclass
class World:
    instance: DemoInstance
    app: Flask
    database: Database
    dialogue_id: int
    slug: str
    own_session_id: int  # the open session the cases are sent to
    first_date: dt.date  # the first example's first round; each example moves on
    staff_ids: dict[str, int]
    personal_keys: dict[str, bytes]
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    examples: int = 0

    def signed_in(self, session: Any, who: str) -> SignedInStaff:
        user = session.get(StaffUser, self.staff_ids[who])
        return SignedInStaff(user, f"property-{who}", self.personal_keys[who])


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    instance = writable_demo_instance
    app = create_app(instance.settings)
    database = Database(instance.settings.database_url)
    credentials = demo_credentials(instance.credentials_file)
    now = utc_now()
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        own = next(
            item
            for item in dialogue.sessions
            if consultation_accepts_submissions(item, now) and item.state is not SessionState.HELD
        )
        staff_ids, keys = {}, {}
        for who in READERS:
            user = session.scalars(
                select(StaffUser).where(StaffUser.email == credentials[who].email)
            ).one()
            staff_ids[who] = user.id
            keys[who] = crypto.private_key_bytes(
                crypto.unwrap_private_key(
                    user.personal_private_key_wrapped, credentials[who].password
                )
            )
        built = World(
            instance,
            app,
            database,
            dialogue.id,
            dialogue.slug,
            own.id,
            max(own.date, now.date()) + dt.timedelta(days=30),
            staff_ids,
            keys,
        )
    for who in READERS:
        client = built.clients[who] = app.test_client()
        sign_in_client(app, client, credentials[who].email, credentials[who].password)
    try:
        yield built
    finally:
        database.dispose()


# --- the model --------------------------------------------------------------------------------


@dataclass
class Entry:
    """A case's entry on one session's list, as the model sees it."""

    approved_ever: bool = False  # approved and not proposed afresh since (it "was listed")
    proposed: bool = False  # in force, waiting for a co-chair
    approved: bool = False  # in force, on the list


@dataclass
class Case:
    public_id: str
    row_id: int
    kind: SubmissionKind
    secrets: Any = field(repr=False)  # never in a failure report
    names: list[str]
    levels: list[ConsentLevel]  # each person's consent: the last change on either path
    confirms: list[int | None]  # the round each person's last change confirmed
    raised_in: set[int] = field(default_factory=set)
    entries: dict[int, Entry] = field(default_factory=dict)
    hold: bool = False
    lapsed: bool = False
    high_risk_co_chair: bool | None = None  # None: not high risk; else whether co-chair is named
    co_chair_names: bool = False  # the co-chair is named on the case (identity compartment)

    def entry(self, session_id: int) -> Entry:
        return self.entries.setdefault(session_id, Entry())

    def leave_every_list(self) -> None:
        for entry in self.entries.values():
            entry.proposed = entry.approved = False

    def co_chair_reads(self) -> bool:
        return self.high_risk_co_chair is not False

    def opens_names(self, reader: str) -> bool:
        if reader == "triage_officer":
            return True
        return self.co_chair_reads() and self.co_chair_names


def _consent(level: ConsentLevel) -> dict[str, Any]:
    return {"level": str(level), "given_by": "person", "risks_explained": True}


class ConsentRounds(RuleBasedStateMachine):
    """One dialogue's rounds; ``WORLD`` is set by the test before the machine runs."""

    WORLD: World

    def __init__(self) -> None:
        super().__init__()
        self.world = self.WORLD
        self.world.examples += 1
        self.sessions: list[int] = []  # in order: each later than the one before
        self.frozen: set[int] = set()
        self.requests: set[tuple[int, int]] = set()  # (case row id, session id)
        self.cases: list[Case] = []
        self.checks = 0
        self._bundle_reader = READERS[0]

    # --- setting up ---------------------------------------------------------------------------

    @initialize(
        shapes=st.lists(st.lists(LEVEL, min_size=1, max_size=3), min_size=3, max_size=4),
        # The first value is the one hypothesis starts from: the richer start.
        raised_first=st.lists(st.sampled_from([True, False]), min_size=4, max_size=4),
        listed_first=st.lists(st.sampled_from([True, False]), min_size=4, max_size=4),
    )
    def send_cases(
        self,
        shapes: list[list[ConsentLevel]],
        raised_first: list[bool],
        listed_first: list[bool],
    ) -> None:
        """Two or three individual cases and a reprisal report (the last shape), accepted,
        assessed low and ready; the first round's consultation opened, some cases raised in
        it, some proposed and approved for its list where all their persons allow it, and the
        second round's consultation opened (which asks again for those)."""
        now = utc_now()
        secrets = InstanceFolder(self.world.instance.settings.instance_dir).load_secrets()
        with self.world.database.session() as session:
            dialogue = session.get(Dialogue, self.world.dialogue_id)
            own = session.get(DialogueSession, self.world.own_session_id)
            officer = self.world.signed_in(session, "triage_officer")
            for number, levels in enumerate(shapes):
                kind = (
                    SubmissionKind.REPRISAL_REPORT
                    if number == len(shapes) - 1
                    else SubmissionKind.INDIVIDUAL_CASE
                )
                names = [f"Kanari{next(_canaries):06d} Witness" for _ in levels]
                persons = [
                    {"name": name, "consent": _consent(level)}
                    for name, level in zip(names, levels, strict=True)
                ]
                new = register_new_codename(
                    session, secrets.codename_pepper, language="en", today=now.date()
                )
                submission = accept_plain_submission(
                    session,
                    address=submission_address(
                        session,
                        dialogue=dialogue,
                        dialogue_session=None if kind is SubmissionKind.REPRISAL_REPORT else own,
                        kind=kind,
                        public_id=TEST_SUBMISSION_IDS.issue(now),
                        ids=TEST_SUBMISSION_IDS,
                        now=now,
                    ),
                    submitter_key=new.secrets,
                    form=_form(kind, persons),
                    today=now.date(),
                )
                session.flush()
                triage.accept(session, officer.user, submission, now=now)
                triage.assess_risk(
                    session,
                    officer.user,
                    submission,
                    level=RiskLevel.LOW,
                    reassess_on=None,
                    gender_specific=False,
                    women_hrd=False,
                    now=now,
                )
                self.cases.append(
                    Case(
                        submission.public_id,
                        submission.id,
                        kind,
                        new.secrets,
                        names,
                        list(levels),
                        [None] * len(levels),
                    )
                )
            session.commit()
        self._new_round()
        for case, raised in zip(self.cases, raised_first, strict=False):
            if raised:
                self._raise(case, self.sessions[0], HowRaised.DURING_ITEM)
        for case, listed in zip(self.cases, listed_first, strict=False):
            if listed and self._may_list(case, self.sessions[0]):
                self._propose(case, self.sessions[0])
                self._approve(case, self.sessions[0], by_the_proposer=False)
        self._new_round()

    def teardown(self) -> None:
        """Withdraw this example's submissions: later examples neither ask nor brief them."""
        with self.world.database.session() as session:
            for case in self.cases:
                session.get(Submission, case.row_id).state = SubmissionState.WITHDRAWN
            session.commit()

    # --- rules --------------------------------------------------------------------------------

    @precondition(lambda self: len(self.sessions) < MAX_SESSIONS)
    @rule()
    def new_round(self) -> None:
        self._new_round()

    @rule(data=st.data())
    def ask_again_from_the_desk(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(self.sessions))
        with self.world.database.session() as session:
            consent_requests.ask_again(
                session,
                session.get(DialogueSession, session_id),
                today=utc_now().date(),
                actor=session.get(StaffUser, self.world.staff_ids["co_chair"]),
            )
            session.commit()
        self._asked(session_id)

    @rule(data=st.data(), level=LEVEL, path=st.sampled_from(PATHS))
    def change_consent(self, data: st.DataObject, level: ConsentLevel, path: str) -> None:
        case = data.draw(st.sampled_from(self.cases))
        person = data.draw(st.integers(0, len(case.names) - 1))
        with self.world.database.session() as session:
            submission = session.get(Submission, case.row_id)
            change = {"person": person, "consent": _consent(level)}
            today = utc_now().date()
            if path == "plain":
                change_plain_consent(session, submission, case.secrets, change, today=today)
            else:
                envelope, signature = _sealed(session, submission, case, change)
                change_sealed_consent(session, submission, envelope, signature, today=today)
            session.commit()
        case.levels[person], case.confirms[person] = level, None
        case.leave_every_list()

    @rule(data=st.data(), level=LEVEL, path=st.sampled_from(PATHS))
    def confirm_for_a_round(self, data: st.DataObject, level: ConsentLevel, path: str) -> None:
        """Answer a request to confirm (refused where the model knows of no request)."""
        asked = [
            (case, round_id)
            for case in self.cases
            for round_id in self.sessions
            if (case.row_id, round_id) in self.requests
        ]
        if asked and data.draw(st.integers(0, 3)):  # mostly a request that is there
            case, round_id = data.draw(st.sampled_from(asked))
        else:
            case = data.draw(st.sampled_from(self.cases))
            round_id = data.draw(st.sampled_from(self.sessions))
        person = data.draw(st.integers(0, len(case.names) - 1))
        expected = (case.row_id, round_id) in self.requests
        with self.world.database.session() as session:
            submission = session.get(Submission, case.row_id)
            change = {"person": person, "consent": _consent(level)}
            today = utc_now().date()
            try:
                if path == "plain":
                    consent_requests.confirm_plain(
                        session, submission, case.secrets, change, round_id, today=today
                    )
                else:
                    envelope, signature = _sealed(
                        session, submission, case, {**change, "round": round_id}
                    )
                    consent_requests.confirm_sealed(
                        session, submission, envelope, signature, round_id, today=today
                    )
            except consent_requests.NoOpenRequestError:
                session.rollback()
                assert not expected, "a confirmation the round asked for was refused"
                event("confirmation refused: no request")
                return
            session.commit()
        event("confirmation taken")
        assert expected, "a confirmation no round asked for was taken"
        case.levels[person], case.confirms[person] = level, round_id
        case.leave_every_list()

    @rule(
        data=st.data(),
        level=st.sampled_from(list(RiskLevel)),
        due=st.sampled_from(("none", "today", "later")),
        co_chair_named=st.booleans(),
    )
    def assess_risk_again(
        self, data: st.DataObject, level: RiskLevel, due: str, co_chair_named: bool
    ) -> None:
        case = data.draw(st.sampled_from(self.cases))
        today = utc_now().date()
        if due == "none" and level is not RiskLevel.LOW:
            due = "later"  # medium and high need a date
        reassess_on = {"none": None, "today": today, "later": today + dt.timedelta(days=60)}[due]
        with self.world.database.session() as session:
            named = [self.world.staff_ids["triage_officer"]]
            if co_chair_named:
                named.append(self.world.staff_ids["co_chair"])
            triage.assess_risk(
                session,
                session.get(StaffUser, named[0]),
                session.get(Submission, case.row_id),
                level=level,
                reassess_on=reassess_on,
                gender_specific=False,
                women_hrd=False,
                named_member_ids=named if level is RiskLevel.HIGH else (),
                now=utc_now(),
            )
            session.commit()
        case.leave_every_list()
        case.lapsed = due == "today"  # due today: the assessment lapses at once
        case.high_risk_co_chair = co_chair_named if level is RiskLevel.HIGH else None

    @rule(data=st.data())
    def time_passes_the_reassessment_date(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.cases))
        with self.world.database.session() as session:
            submission = session.get(Submission, case.row_id)
            submission.risk_reassess_on = utc_now().date() - dt.timedelta(days=1)
            session.commit()
        case.lapsed = True
        case.leave_every_list()

    @rule(data=st.data())
    def toggle_risk_hold(self, data: st.DataObject) -> None:
        case = data.draw(st.sampled_from(self.cases))
        with self.world.database.session() as session:
            triage.set_risk_hold(
                session,
                session.get(StaffUser, self.world.staff_ids["triage_officer"]),
                session.get(Submission, case.row_id),
                not case.hold,
                now=utc_now(),
            )
            session.commit()
        case.hold = not case.hold
        case.leave_every_list()

    @rule(data=st.data(), named=st.booleans())
    def name_the_co_chair(self, data: st.DataObject, named: bool) -> None:
        case = data.draw(st.sampled_from(self.cases))
        with self.world.database.session() as session:
            identities.name_members(
                session,
                self.world.signed_in(session, "triage_officer"),
                session.get(Submission, case.row_id),
                [self.world.staff_ids["co_chair"]] if named else [],
                now=utc_now(),
            )
            session.commit()
        case.co_chair_names = named

    @rule(data=st.data(), how=st.sampled_from([HowRaised.DURING_ITEM, HowRaised.HANDOVER_LIST]))
    def record_as_raised(self, data: st.DataObject, how: HowRaised) -> None:
        case = data.draw(st.sampled_from(self.cases))
        choices = [item for item in self.sessions if item not in case.raised_in]
        if not choices:
            return
        self._raise(case, data.draw(st.sampled_from(choices)), how)

    def _raise(self, case: Case, session_id: int, how: HowRaised) -> None:
        with self.world.database.session() as session:
            session.add(
                CaseOutcome(
                    session_id=session_id,
                    submission_id=case.row_id,
                    how_raised=how,
                    recorded_by_id=self.world.staff_ids["triage_officer"],
                )
            )
            session.commit()
        case.raised_in.add(session_id)

    @rule(data=st.data())
    def propose(self, data: st.DataObject) -> None:
        ready = [
            (case, session_id)
            for case in self.cases
            for session_id in self.sessions
            if self._may_list(case, session_id)
        ]
        if ready and data.draw(st.integers(0, 3)):  # mostly a case the model lets through
            case, session_id = data.draw(st.sampled_from(ready))
        else:
            case = data.draw(st.sampled_from(self.cases))
            session_id = data.draw(st.sampled_from(self.sessions))
        self._propose(case, session_id)

    def _propose(self, case: Case, session_id: int) -> None:
        expected = self._may_list(case, session_id) and not any(
            entry.proposed or entry.approved for entry in case.entries.values()
        )
        with self.world.database.session() as session:
            signed_in = self.world.signed_in(session, "triage_officer")
            submission = session.get(Submission, case.row_id)
            opened = open_submission_for_staff(session, signed_in, submission, now=utc_now())
            try:
                handover.propose(
                    session,
                    signed_in.user,
                    submission,
                    opened,
                    session.get(DialogueSession, session_id),
                    now=utc_now(),
                )
            except handover.HandoverRefusedError as refusal:
                session.rollback()
                assert not expected, f"a proposal the model allows was refused: {refusal}"
                event("proposal refused")
                return
            session.commit()
        event("proposal taken")
        assert expected, "a proposal the model refuses was taken"
        entry = case.entry(session_id)
        entry.proposed, entry.approved, entry.approved_ever = True, False, False

    def _waiting(self) -> list[tuple[Case, int]]:
        return [
            (case, session_id)
            for case in self.cases
            for session_id, entry in case.entries.items()
            if entry.proposed
        ]

    @precondition(lambda self: self._waiting())
    @rule(data=st.data(), by_the_proposer=st.sampled_from([False, False, True]))
    def approve(self, data: st.DataObject, by_the_proposer: bool) -> None:
        waiting = self._waiting()
        case, session_id = data.draw(st.sampled_from(waiting))
        self._approve(case, session_id, by_the_proposer=by_the_proposer)

    def _approve(self, case: Case, session_id: int, *, by_the_proposer: bool) -> None:
        who = "triage_officer" if by_the_proposer else "co_chair"
        expected = (
            not by_the_proposer and case.co_chair_reads() and self._may_list(case, session_id)
        )
        with self.world.database.session() as session:
            signed_in = self.world.signed_in(session, who)
            submission = session.get(Submission, case.row_id)
            entry = next(
                item for item in submission.handover_entries if item.session_id == session_id
            )
            try:
                opened = open_submission_for_staff(session, signed_in, submission, now=utc_now())
            except ReadRefusedError:
                opened = None  # approval refuses a co-chair who does not read the case first
            try:
                handover.approve(session, signed_in.user, entry, opened, now=utc_now())
            except handover.HandoverForbiddenError as refusal:
                session.rollback()
                if by_the_proposer:
                    assert "you proposed this case" in str(refusal)
                assert not expected, f"an approval the model allows was refused: {refusal}"
                return
            except handover.HandoverRefusedError as refusal:
                session.rollback()
                assert not expected, f"an approval the model allows was refused: {refusal}"
                return
            session.commit()
        assert expected, "an approval the model refuses was taken"
        event("approval taken")
        model = case.entry(session_id)
        model.proposed, model.approved, model.approved_ever = False, True, True

    @rule(data=st.data())
    def freeze_or_unfreeze(self, data: st.DataObject) -> None:
        session_id = data.draw(st.sampled_from(self.sessions))
        with self.world.database.session() as session:
            action = handover.unfreeze if session_id in self.frozen else handover.freeze
            action(
                session,
                session.get(StaffUser, self.world.staff_ids["co_chair"]),
                session.get(DialogueSession, session_id),
                now=utc_now(),
            )
            session.commit()
        self.frozen ^= {session_id}

    # --- the invariant ------------------------------------------------------------------------

    @invariant()
    def no_name_beyond_consent(self) -> None:
        if not self.sessions:
            return
        self._model_agrees_with_the_rule()
        self.checks += 1
        self._bundle_reader = READERS[self.checks % len(READERS)]
        for session_id in self.sessions:
            for reader in READERS:
                self._check_briefing(session_id, reader)
                self._check_handover(session_id, reader)

    # --- the model's rule, written apart from the code under test --------------------------------

    def _taken_up_before(self, case: Case, session_id: int) -> bool:
        earlier = set(self.sessions[: self.sessions.index(session_id)])
        listed = {key for key, entry in case.entries.items() if entry.approved_ever}
        return bool((case.raised_in | listed) & earlier)

    def _levels(self, case: Case, session_id: int) -> list[ConsentLevel]:
        """What the model allows in round ``session_id``, person by person."""
        if not self._taken_up_before(case, session_id):
            return list(case.levels)
        return [
            level if confirms == session_id else ConsentLevel.INTERNAL_ONLY
            for level, confirms in zip(case.levels, case.confirms, strict=True)
        ]

    def _may_list(self, case: Case, session_id: int) -> bool:
        return (
            session_id not in self.frozen
            and not case.hold
            and not case.lapsed
            and all(level is ConsentLevel.HANDOVER_LIST for level in self._levels(case, session_id))
        )

    def _new_round(self) -> None:
        """A later session whose consultation opens now (which asks again)."""
        now = utc_now()
        date = self.world.first_date + dt.timedelta(
            days=4 * self.world.examples + len(self.sessions)
        )
        with self.world.database.session() as session:
            added = DialogueSession(
                dialogue_id=self.world.dialogue_id,
                date=date,
                place=SessionPlace.VIDEO,
                state=SessionState.PLANNED,
                consultation_closes_at=dt.datetime.combine(date, dt.time(12), tzinfo=dt.UTC),
            )
            session.add(added)
            session.flush()
            item = AgendaItem(
                session_id=added.id,
                title="Human-rights defenders",
                theme=AgendaTheme.SPECIFIC_TOPIC,
                topic="human_rights_defenders",
                position=1,
                priority_of=AgendaPriority.BOTH,
                status=AgendaItemStatus.INCLUDED,
            )
            point = AgendaItem(
                session_id=added.id,
                title="Reprisals against civil society",
                theme=AgendaTheme.REPRISALS,
                position=2,
                priority_of=AgendaPriority.EU,
                status=AgendaItemStatus.INCLUDED,
            )
            session.add_all([item, point])
            session.flush()
            for case in self.cases:
                if case.kind is SubmissionKind.INDIVIDUAL_CASE:
                    session.add(AgendaLink(submission_id=case.row_id, agenda_item_id=item.id))
                    submission = session.get(Submission, case.row_id)
                    if submission.state is SubmissionState.ACCEPTED:
                        triage.change_state(submission, SubmissionState.ON_AGENDA)
            self.sessions.append(added.id)
            open_consultation(
                session,
                added,
                now=now,
                actor=session.get(StaffUser, self.world.staff_ids["co_chair"]),
            )
            session.commit()
        self._asked(added.id)
        event(f"round {len(self.sessions)}")

    def _asked(self, session_id: int) -> None:
        for case in self.cases:
            if self._taken_up_before(case, session_id):
                event("asked again")
                self.requests.add((case.row_id, session_id))

    # --- the checks -----------------------------------------------------------------------------

    def _model_agrees_with_the_rule(self) -> None:
        with self.world.database.session() as session:
            signed_in = self.world.signed_in(session, "triage_officer")
            for case in self.cases:
                submission = session.get(Submission, case.row_id)
                opened = open_submission_for_staff(session, signed_in, submission, now=utc_now())
                for session_id in self.sessions:
                    persons = round_consent.persons_in_round(
                        session, opened, submission, session.get(DialogueSession, session_id)
                    )
                    assert [person.level for person in persons] == self._levels(case, session_id), (
                        case.public_id,
                        session_id,
                    )
            session.rollback()

    def _base(self, session_id: int) -> str:
        return f"/staff/dialogues/{self.world.slug}/sessions/{session_id}"

    def _check_briefing(self, session_id: int, reader: str) -> None:
        client = self.world.clients[reader]
        base = self._base(session_id) + "/briefing"
        page = _ok(client.get(base))
        printed = _ok(client.get(base + "/print"))
        # The bundle is sealed and opened again: for one reader per step, in turn, to save time.
        offline = self._bundle(client, base + "/bundle") if reader == self._bundle_reader else ""
        for case in self.cases:
            levels = self._levels(case, session_id)
            shown = (
                not case.hold
                and (reader == "triage_officer" or case.co_chair_reads())
                and any(_at_least(level, ConsentLevel.RAISE_WITHOUT_NAME) for level in levels)
            )
            for name, level in zip(case.names, levels, strict=True):
                allowed = _at_least(level, ConsentLevel.RAISE_BY_NAME)
                may_show = allowed and case.opens_names(reader)
                for where, body in (("page", page), ("print", printed), ("bundle", offline)):
                    if where == "bundle" and reader != self._bundle_reader:
                        continue
                    if name in body:
                        event(f"a name in the briefing {where} for {reader}")
                        assert may_show, (
                            f"{name} ({level}) in the briefing {where} of session {session_id} "
                            f"for {reader}"
                        )
                    elif reader == "triage_officer" and shown and allowed:
                        raise AssertionError(
                            f"{name} ({level}) missing from the briefing {where} of session "
                            f"{session_id}"
                        )

    def _check_handover(self, session_id: int, reader: str) -> None:
        client = self.world.clients[reader]
        base = self._base(session_id) + "/handover"
        page = _ok(client.get(base))
        printed = _ok(client.get(base + "/print"))
        exported = client.get(base + "/export")
        if session_id in self.frozen:
            export = _ok(exported)
        else:
            assert exported.status_code == 400
            export = ""
        for case in self.cases:
            entry = case.entries.get(session_id, Entry())
            listed = entry.approved and not case.hold and not case.lapsed
            levels = self._levels(case, session_id)
            for name, level in zip(case.names, levels, strict=True):
                assert name not in page, f"{name} on the list page of session {session_id}"
                may_show = (
                    listed and level is ConsentLevel.HANDOVER_LIST and case.opens_names(reader)
                )
                for where, body in (("print", printed), ("export", export)):
                    if not body:
                        continue
                    if name in body:
                        event(f"a name on the handover {where}")
                        assert may_show, (
                            f"{name} ({level}) on the handover {where} of session {session_id} "
                            f"for {reader} (entry {entry})"
                        )
                    elif reader == "triage_officer" and may_show:
                        raise AssertionError(
                            f"{name} missing from the handover {where} of session {session_id}"
                        )

    def _bundle(self, client: FlaskClient, url: str) -> str:
        response = client.post(url, data={"csrf_token": csrf_token_for(client)})
        assert response.status_code == 200, response.status_code
        data = response.get_data()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.namelist() == ["manifest.json"]
        with tempfile.TemporaryDirectory() as folder:
            bundle = Path(folder) / "briefing.zip"
            bundle.write_bytes(data)
            decrypt_bundle(
                bundle, Path(folder) / "out", read_offline_key(self.world.instance.recovery_key)
            )
            out = Path(folder) / "out"
            assert (out / "briefing.html").is_file()
            # Every file the offline code writes: the document and the pack's data beside it.
            document = " ".join(
                path.read_text(encoding="utf-8")
                for path in sorted(out.rglob("*"))
                if path.is_file()
            )
        return re.sub(r"\s+", " ", document)


def _at_least(level: ConsentLevel, floor: ConsentLevel) -> bool:
    return _ORDER[level] >= _ORDER[floor]


def _form(kind: SubmissionKind, persons: list[dict[str, Any]]) -> dict[str, Any]:
    if kind is SubmissionKind.REPRISAL_REPORT:
        return {
            "topics": [],
            "what_happened": "Travel ban after meeting the EU delegation",
            "when": "May",
            "link_to_engagement": "Met the EU delegation",
            "urgency": "standard",
            "persons": persons,
        }
    return {
        "topics": ["human_rights_defenders"],
        "persons": persons,
        "place": "Capital",
        "situation": "Detained after a peaceful protest",
        "relation_to_person": "colleague",
    }


def _sealed(
    session: Any, submission: Submission, case: Case, change: dict[str, Any]
) -> tuple[bytes, bytes | None]:
    """A consent change sealed and signed as the inbox page's script does."""
    addition = sealed_addition(
        session,
        submission,
        change,
        CONSENT_CHANGE,
        addition_position(submission),
        submission_keys(case.secrets, submission.public_id).signing_seed,
    )
    return addition.envelope, addition.signature


def _ok(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_no_name_reaches_a_briefing_or_list_beyond_consent_for_the_round(world: World) -> None:
    ConsentRounds.WORLD = world
    run_state_machine_as_test(
        ConsentRounds,
        settings=settings(
            max_examples=4,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(dict(SEEN))
