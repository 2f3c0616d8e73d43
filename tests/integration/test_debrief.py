"""A session's debrief (``rounds.debrief``) and its page (``blueprints.debrief``).

The service tests run on ``consultation_world``: its open session takes the submissions, then is
moved to yesterday, closed and recorded as held. They look at what each notice says through the
structured content the renderer receives, and at the notice stored (opened with the desk key).
The page tests run on a writable demo instance, signed in as its co-chair, triage officer,
observer and administrator, and open each notice with its submitter's own key.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import crypto
from portal import create_app
from portal.db import Database
from portal.models import (
    AgendaItem,
    DebriefWithheld,
    DebriefWithheldReason,
    DeclineReason,
    DeskMembership,
    DeskMessage,
    DeskText,
    DialogueSession,
    HowRaised,
    MessagePurpose,
    NamedMember,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.desks.need_to_know import may_debrief
from portal.services.dialogues import dialogue_sessions
from portal.services.rounds import debrief, record
from portal.services.rounds.debrief import NoticeContent, PersonWay
from portal.services.staff import triage
from portal.services.submissions.messages import message_context
from portal.services.submissions.notice_format import Notice, read_notice
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.submitter_keys import submission_private_key
from tests.conftest import (
    ConsultationWorld,
    DemoInstance,
    csrf_token_for,
    send_to_valdoria,
)
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
from tests.staff_sessions_support import demo_credentials, sign_in_client

AGENDA_FORM: dict[str, Any] = {"topics": ["death_penalty"], "situation": "Moratorium debate"}
GENERAL = "The dialogue discussed **detention** and agreed to meet again GENERAL-7d1e."
ITEM_REPLY = "The partner will publish the figures ITEM-REPLY-c03b."
CASE_REPLY = "The minister promised a review CASE-REPLY-5a9f."
NOTE = "Taken up in the joint statement NOTE-e21c."
WORDS = "Thank you for the detailed account WORDS-40aa."
PERSON_NAME = CASE_FORM["persons"][0]["name"]


def _case_form(*levels: str) -> dict[str, Any]:
    """A case naming one person per consent level."""
    person = CASE_FORM["persons"][0]
    persons = [
        {
            **person,
            "name": f"{person['name']} {number}",
            "consent": {**person["consent"], "level": level},
        }
        for number, level in enumerate(levels, start=1)
    ]
    return {**CASE_FORM, "persons": persons}


@dataclass
class Capture:
    """A renderer that keeps each notice's content and words it by the submission's place."""

    contents: list[NoticeContent] = field(default_factory=list)

    def __call__(self, content: NoticeContent) -> str:
        self.contents.append(content)
        return f"<p>{content.general}</p><p>notice {len(self.contents)}</p>"


@dataclass
class Held:
    """A consultation world whose session was held yesterday, with its desk and agenda."""

    world: ConsultationWorld
    officer: Any
    co_chair: Any
    item: AgendaItem

    @property
    def session(self) -> Any:
        return self.world.session

    @property
    def held(self) -> DialogueSession:
        return self.world.dialogue_session

    @property
    def now(self) -> dt.datetime:
        return self.world.now

    def sent(
        self, kind: SubmissionKind, form: dict[str, Any], *, linked: bool = True
    ) -> Submission:
        submission = sent_submission(self.world, kind, form)
        triage.accept(self.session, self.officer.user, submission, now=self.now)
        if linked:
            link_to(self.session, submission, self.item)
        return submission

    def hold(self) -> None:
        self.held.date = self.now.date() - dt.timedelta(days=1)
        self.held.state = SessionState.CONSULTATION_CLOSED
        self.session.flush()
        record.record_held(
            self.session,
            self.co_chair.user,
            self.held,
            held_on=self.held.date,
            place=SessionPlace.VIDEO,
            today=self.now.date(),
        )

    def raise_case(self, case: Submission, reply: str = "", **changes: Any) -> None:
        arguments: dict[str, Any] = {
            "how": HowRaised.DURING_ITEM,
            "agenda_item_id": self.item.id,
            "reason": None,
            "reply": reply,
            "now": self.now,
        }
        arguments.update(changes)
        record.record_case(self.session, self.co_chair, self.held, case, **arguments)

    def write_general(self, text: str = GENERAL) -> None:
        debrief.write_general(self.session, self.co_chair, self.held, text, now=self.now)

    def send(self, by: Any = None, capture: Capture | None = None) -> debrief.SendResult:
        return debrief.send_debrief(
            self.session, by or self.co_chair, self.held, capture or Capture(), now=self.now
        )

    def notices(self) -> dict[int, Notice]:
        """Every debrief notice stored, opened with the desk key, by submission id."""
        opened = {}
        for message in self.session.scalars(
            select(DeskMessage).where(DeskMessage.purpose == MessagePurpose.DEBRIEF)
        ):
            plaintext = crypto.open_envelope(
                message.envelope, self.world.desk_private_key, message_context(message)
            )
            notice = read_notice(plaintext)
            assert notice is not None
            opened[message.submission_id] = notice
        return opened


@pytest.fixture
def held(consultation_world: ConsultationWorld) -> Held:
    world = consultation_world
    officer = founding_member(world, "tina")
    co_chair = founding_member(world, "carl", role=StaffRole.CO_CHAIR)
    item = included_item(world.session, world.dialogue_session, "Detention")
    return Held(world, officer, co_chair, item)


def _by_kind(capture: Capture, kind: SubmissionKind) -> list[NoticeContent]:
    return [content for content in capture.contents if content.kind is kind]


# --- composing and sending ---------------------------------------------------------------------


def test_each_kind_hears_what_became_of_it(held: Held) -> None:
    used = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    unlinked = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM, linked=False)
    declined = sent_submission(held.world, SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    triage.decline(
        held.session,
        held.officer.user,
        declined,
        DeclineReason.OUTSIDE_DIALOGUE_SCOPE,
        now=held.now,
    )
    case = held.sent(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    seminar = held.sent(SubmissionKind.SEMINAR_RECOMMENDATIONS, SEMINAR_FORM)
    reprisal = held.sent(SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    held.hold()
    record.record_item(
        held.session,
        held.co_chair,
        held.held,
        held.item,
        discussed=True,
        reply=ITEM_REPLY,
        now=held.now,
    )
    held.raise_case(case, CASE_REPLY)
    held.raise_case(
        reprisal, how=HowRaised.NOT_RAISED, agenda_item_id=None, reason=NotRaisedReason.NO_TIME
    )
    for index, outcome, reason, note in (
        (0, RecommendationOutcome.TAKEN_UP, None, NOTE),
        (1, RecommendationOutcome.NOT_TAKEN_UP, NotTakenUpReason.PARTNER_DECLINED, ""),
    ):
        record.record_recommendation(
            held.session, held.co_chair, held.held, seminar, index,
            outcome=outcome, reason=reason, note=note, now=held.now,
        )  # fmt: skip
    held.write_general()
    debrief.write_words(held.session, held.officer, held.held, case, WORDS, now=held.now)

    capture = Capture()
    result = held.send(capture=capture)
    assert {item.id for item in result.sent} == {
        used.id, unlinked.id, declined.id, case.id, seminar.id, reprisal.id
    } and result.not_readable == ()  # fmt: skip
    contents = dict(zip((item.id for item in result.sent), capture.contents, strict=True))
    # Every notice begins with the general debrief, rendered.
    assert all("<strong>detention</strong>" in content.general for content in contents.values())
    used_items = contents[used.id].items
    assert [(use.title, use.discussed) for use in used_items] == [("Detention", True)]
    assert ITEM_REPLY in str(used_items[0].reply)
    assert contents[unlinked.id].items == () and contents[unlinked.id].taken_further
    refused = contents[declined.id]
    assert (
        not refused.taken_further and refused.decline_reason is DeclineReason.OUTSIDE_DIALOGUE_SCOPE
    )
    assert refused.items == () and refused.case is None
    raised = contents[case.id].case
    assert raised is not None and raised.raised and raised.item_title == "Detention"
    assert raised.persons == ((1, PersonWay.NAME_ALLOWED),) and CASE_REPLY in str(raised.reply)
    assert WORDS in str(contents[case.id].desk_words) and contents[used.id].desk_words is None
    answers = contents[seminar.id].recommendations
    assert [(a.number, a.outcome, a.reason) for a in answers] == [
        (1, RecommendationOutcome.TAKEN_UP, None),
        (2, RecommendationOutcome.NOT_TAKEN_UP, NotTakenUpReason.PARTNER_DECLINED),
    ]
    assert NOTE in str(answers[0].note) and answers[1].note is None
    not_raised = contents[reprisal.id].case
    assert not_raised is not None and not not_raised.raised
    assert not_raised.not_raised_reason is NotRaisedReason.NO_TIME and not_raised.reply is None
    # Stored as signed notices of this session, sealed: nothing of the words in plaintext.
    notices = held.notices()
    assert set(notices) == {item.id for item in result.sent}
    assert all(notice.session_id == held.held.id for notice in notices.values())
    assert "GENERAL-7d1e" in notices[case.id].html
    for message in held.session.scalars(select(DeskMessage)):
        assert b"GENERAL-7d1e" not in message.envelope and not message.seen_by_submitter
    # What the desk took in is debriefed; a declined input stays declined.
    states = {item.id: item.state for item in result.sent}
    assert states[declined.id] is SubmissionState.DECLINED
    assert {states[item.id] for item in (used, unlinked, case, seminar, reprisal)} == {
        SubmissionState.DEBRIEFED
    }


def test_nothing_goes_further_than_the_consent_for_the_round(held: Held) -> None:
    mixed = held.sent(SubmissionKind.INDIVIDUAL_CASE, _case_form("raise_by_name", "internal_only"))
    background = held.sent(SubmissionKind.INDIVIDUAL_CASE, _case_form("internal_only"))
    quiet = held.sent(SubmissionKind.INDIVIDUAL_CASE, _case_form("raise_without_name"))
    held.hold()
    held.raise_case(mixed, CASE_REPLY)
    held.raise_case(quiet)
    with pytest.raises(record.RecordRefusedError, match="consent"):
        held.raise_case(background)
    held.raise_case(
        background,
        how=HowRaised.NOT_RAISED,
        agenda_item_id=None,
        reason=NotRaisedReason.CONSENT_DID_NOT_ALLOW,
    )
    held.write_general()
    capture = Capture()
    result = held.send(capture=capture)
    contents = dict(zip((item.id for item in result.sent), capture.contents, strict=True))
    first = contents[mixed.id].case
    assert first is not None
    assert first.persons == ((1, PersonWay.NAME_ALLOWED), (2, PersonWay.BACKGROUND))
    second = contents[quiet.id].case
    assert second is not None and second.persons == ((1, PersonWay.WITHOUT_NAME),)
    kept = contents[background.id].case
    assert kept is not None and not kept.raised and kept.persons == () and kept.reply is None
    assert kept.not_raised_reason is NotRaisedReason.CONSENT_DID_NOT_ALLOW
    # No name of any person reaches a notice.
    for notice in held.notices().values():
        assert PERSON_NAME not in notice.html


def test_a_reprisal_report_naming_nobody_hears_what_was_raised(held: Held) -> None:
    report = held.sent(SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    held.hold()
    held.raise_case(report, CASE_REPLY)
    held.write_general()
    capture = Capture()
    held.send(capture=capture)
    (content,) = capture.contents
    feedback = content.case
    assert feedback is not None and feedback.raised and feedback.consent_allows
    assert feedback.persons == () and CASE_REPLY in str(feedback.reply)
    assert report.state is SubmissionState.DEBRIEFED


def test_sending_twice_sends_nothing_twice(held: Held) -> None:
    first = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    held.hold()
    held.write_general()
    assert [item.id for item in held.send().sent] == [first.id]
    # A reprisal report taken up after the first send is a contributor too.
    late = held.sent(SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    again = held.send(by=held.officer)
    assert [item.id for item in again.sent] == [late.id]
    assert held.send().sent == ()
    count = select(func.count()).select_from(DeskMessage)
    assert held.session.scalar(count) == 2


def test_only_a_held_session_with_a_general_debrief_is_sent(held: Held) -> None:
    held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    with pytest.raises(debrief.DebriefRefusedError, match="held"):
        held.write_general()
    with pytest.raises(debrief.DebriefRefusedError, match="held"):
        held.send()
    held.hold()
    with pytest.raises(debrief.DebriefRefusedError, match="general debrief"):
        held.send()
    held.write_general("   ")
    with pytest.raises(debrief.DebriefRefusedError, match="general debrief"):
        held.send()
    assert held.session.scalar(select(func.count()).select_from(DeskMessage)) == 0


def test_a_restricted_contributor_is_reported_not_skipped(held: Held) -> None:
    open_case = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    restricted = held.sent(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    triage.assess_risk(
        held.session,
        held.officer.user,
        restricted,
        level=RiskLevel.HIGH,
        reassess_on=held.now.date() + dt.timedelta(days=30),
        gender_specific=False,
        women_hrd=False,
        named_member_ids=[held.officer.user.id],
        now=held.now,
    )
    held.hold()
    held.write_general()
    result = held.send()
    assert [item.id for item in result.sent] == [open_case.id]
    assert [item.id for item in result.not_readable] == [restricted.id]
    with pytest.raises(debrief.DebriefForbiddenError):
        debrief.withhold(
            held.session, held.co_chair.user, held.held, restricted,
            DebriefWithheldReason.OTHER, now=held.now,
        )  # fmt: skip
    # The named member sends it.
    assert [item.id for item in held.send(by=held.officer).sent] == [restricted.id]
    assert held.session.scalar(select(func.count()).select_from(NamedMember)) == 1


def test_withheld_reasons_and_the_session_debriefed_only_when_complete(held: Held) -> None:
    sent = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    quiet = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    held.hold()
    held.write_general()
    today = held.now.date()

    def advance() -> None:
        dialogue_sessions.advance_session(
            held.session, held.held, SessionState.DEBRIEFED, today=today, actor=held.co_chair.user
        )

    def withhold(submission: Submission, reason: DebriefWithheldReason) -> None:
        debrief.withhold(
            held.session, held.co_chair.user, held.held, submission, reason, now=held.now
        )

    with pytest.raises(dialogue_sessions.SessionChangeRefusedError, match="2 contribution"):
        advance()
    withhold(quiet, DebriefWithheldReason.RISK_TO_THE_SUBMITTER)
    with pytest.raises(debrief.DebriefRefusedError, match="already"):
        withhold(quiet, DebriefWithheldReason.OTHER)
    assert [item.id for item in held.send().sent] == [sent.id]
    assert quiet.state is SubmissionState.ON_AGENDA
    with pytest.raises(debrief.DebriefRefusedError, match="sent already"):
        withhold(sent, DebriefWithheldReason.OTHER)
    # Taking the reason back makes the contributor outstanding again, then it is withheld anew.
    debrief.undo_withhold(held.session, held.co_chair.user, held.held, quiet, now=held.now)
    with pytest.raises(dialogue_sessions.SessionChangeRefusedError, match="1 contribution"):
        advance()
    with pytest.raises(debrief.DebriefRefusedError, match="no reason"):
        debrief.undo_withhold(held.session, held.co_chair.user, held.held, quiet, now=held.now)
    withhold(quiet, DebriefWithheldReason.SUBMISSION_WITHDRAWN)
    advance()
    assert held.held.state is SessionState.DEBRIEFED
    with pytest.raises(debrief.DebriefRefusedError, match="debriefed"):
        debrief.undo_withhold(held.session, held.co_chair.user, held.held, quiet, now=held.now)
    # Someone else's submission is not a contributor of the session.
    stranger = sent_submission(held.world, SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    with pytest.raises(debrief.DebriefRefusedError, match="did not contribute"):
        withhold(stranger, DebriefWithheldReason.OTHER)
    rows = held.session.scalars(select(DebriefWithheld)).all()
    assert [(row.submission_id, row.reason) for row in rows] == [
        (quiet.id, DebriefWithheldReason.SUBMISSION_WITHDRAWN)
    ]


def test_words_to_a_contributor_only_before_its_notice(held: Held) -> None:
    case = held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    held.hold()
    held.write_general()
    held.send()
    with pytest.raises(debrief.DebriefRefusedError, match="sent"):
        debrief.write_words(held.session, held.co_chair, held.held, case, WORDS, now=held.now)


@pytest.mark.parametrize("role", [StaffRole.ADMINISTRATOR, StaffRole.OBSERVER])
def test_only_triage_officers_and_co_chairs_of_the_desk_debrief(
    held: Held, role: StaffRole
) -> None:
    world = held.world
    held.sent(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    held.hold()
    held.write_general()
    other = staff_account(world, f"someone-{role.value}", role)
    world.session.add(DeskMembership(dialogue_id=world.dialogue.id, staff_user_id=other.user.id))
    outsider = staff_account(world, "outsider", StaffRole.CO_CHAIR)
    for who in (other, outsider):
        assert not may_debrief(world.session, who.user, world.dialogue)
        with pytest.raises(debrief.DebriefForbiddenError):
            held.send(by=who)
        with pytest.raises(debrief.DebriefForbiddenError):
            debrief.write_general(world.session, who, held.held, "x", now=held.now)
    assert world.session.scalar(select(func.count()).select_from(DeskMessage)) == 0


# --- the page ----------------------------------------------------------------------------------


@dataclass
class Site:
    instance: DemoInstance
    app: Flask
    database: Database
    session_id: int
    item_id: int
    keys: dict[str, crypto.CodenameSecrets]  # public id -> the submitter's codename secrets
    clients: dict[str, FlaskClient]

    def client(self, role: str) -> FlaskClient:
        if role not in self.clients:
            client = self.clients[role] = self.app.test_client()
            account = demo_credentials(self.instance.credentials_file)[role]
            sign_in_client(self.app, client, account.email, account.password)
        return self.clients[role]

    def url(self, suffix: str = "", part: str = "debrief") -> str:
        return f"/staff/dialogues/valdoria/sessions/{self.session_id}/{part}{suffix}"

    def post(self, role: str, suffix: str, data: dict[str, Any], part: str = "debrief") -> Any:
        client = self.client(role)
        token = csrf_token_for(client)
        return client.post(self.url(suffix, part), data={**data, "csrf_token": token})

    def count(self, model: Any) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0

    def notice_of(self, public_id: str) -> Notice | None:
        """The debrief notice of ``public_id``, opened with its submitter's own key."""
        with self.database.session() as session:
            submission = session.scalars(
                select(Submission).where(Submission.public_id == public_id)
            ).one()
            message = session.scalars(
                select(DeskMessage).where(
                    DeskMessage.submission_id == submission.id,
                    DeskMessage.purpose == MessagePurpose.DEBRIEF,
                )
            ).first()
            if message is None:
                return None
            key = submission_private_key(submission, self.keys[public_id])
            return read_notice(
                crypto.open_envelope(message.envelope, key, message_context(message))
            )

    def state(self, public_id: str) -> SubmissionState:
        with self.database.session() as session:
            return session.scalars(
                select(Submission.state).where(Submission.public_id == public_id)
            ).one()


@pytest.fixture(scope="module")
def site(writable_demo_instance: DemoInstance) -> Iterator[Site]:
    """Two cases (one raised by name, one kept as background), an agenda input used under the
    item, one the desk read but did not link, and a case at high risk restricted to the triage
    officer, all accepted; the session took place yesterday and its consultation is closed."""
    instance = writable_demo_instance
    app = create_app(instance.settings)
    database = Database(instance.settings.database_url)
    officer_email = demo_credentials(instance.credentials_file)["triage_officer"].email
    sent = [
        (send_to_valdoria(instance.settings, kind, form), linked)
        for kind, form, linked in (
            (SubmissionKind.INDIVIDUAL_CASE, _case_form("raise_by_name"), True),
            (SubmissionKind.INDIVIDUAL_CASE, _case_form("internal_only"), True),
            (SubmissionKind.AGENDA_INPUT, AGENDA_FORM, True),
            (SubmissionKind.AGENDA_INPUT, AGENDA_FORM, False),
            (SubmissionKind.INDIVIDUAL_CASE, _case_form("raise_by_name"), True),
        )
    ]
    now = utc_now()
    with database.session() as session:
        officer = session.scalars(select(StaffUser).where(StaffUser.email == officer_email)).one()
        submissions = [
            (
                session.scalars(
                    select(Submission).where(Submission.public_id == entry.public_id)
                ).one(),
                linked,
            )
            for entry, linked in sent
        ]
        chosen = submissions[0][0].session
        assert chosen is not None
        item = included_item(session, chosen, "Detention")
        for submission, linked in submissions:
            triage.accept(session, officer, submission, now=now)
            if linked:
                link_to(session, submission, item)
        triage.assess_risk(
            session,
            officer,
            submissions[-1][0],
            level=RiskLevel.HIGH,
            reassess_on=now.date() + dt.timedelta(days=30),
            gender_specific=False,
            women_hrd=False,
            named_member_ids=[officer.id],
            now=now,
        )
        chosen.date = now.date() - dt.timedelta(days=1)
        chosen.state = SessionState.CONSULTATION_CLOSED
        session.commit()
        keys = {
            entry.public_id: crypto.derive_codename_secrets(entry.codename) for entry, _ in sent
        }
        built = Site(instance, app, database, chosen.id, item.id, keys, {})
    try:
        yield built
    finally:
        database.dispose()


def _ids(site: Site) -> tuple[str, str, str, str, str]:
    """The case raised by name, the case kept as background, the agenda input used under the
    item, the agenda input the desk read but did not link, and the restricted case."""
    raised, background, agenda, unlinked, restricted = site.keys
    return raised, background, agenda, unlinked, restricted


def _recorded(site: Site) -> None:
    """The session held, and its two cases on the record (once per module)."""
    raised, background, _agenda, _unlinked, _restricted = _ids(site)
    if site.state(raised) in (SubmissionState.RAISED, SubmissionState.DEBRIEFED):
        return
    held_on = (utc_now().date() - dt.timedelta(days=1)).isoformat()
    held_form = {"held_on": held_on, "place": "video"}
    assert site.post("co_chair", "/held", held_form, "record").status_code == 302
    raised_form = {"raised": f"item-{site.item_id}", "reason": "", "reply": CASE_REPLY}
    assert site.post("co_chair", f"/cases/{raised}", raised_form, "record").status_code == 302
    kept = {"raised": "not_raised", "reason": "consent_did_not_allow", "reply": ""}
    assert site.post("co_chair", f"/cases/{background}", kept, "record").status_code == 302


def test_the_page_is_for_those_who_debrief_and_linked_from_the_hub(site: Site) -> None:
    page = site.client("co_chair").get(site.url())
    assert page.status_code == 200 and 'id="no-names"' in page.get_data(as_text=True)
    for role in ("observer", "administrator"):
        assert site.client(role).get(site.url()).status_code == 403
    hub = site.client("triage_officer").get(f"/staff/dialogues/valdoria/sessions/{site.session_id}")
    assert site.url() in hub.get_data(as_text=True)
    # The public page of the session promises what happens: a debrief to everyone, sealed to
    # them, within their consent, whatever their choice about being contacted.
    public = site.app.test_client().get(f"/dialogues/valdoria/sessions/{site.session_id}")
    promise = public.get_data(as_text=True)
    assert 'id="debrief-promise"' in promise and "whether or not they agreed to be" in promise
    other = f"/staff/dialogues/coral-straits/sessions/{site.session_id}/debrief"
    assert site.client("triage_officer").get(other).status_code == 404


def test_the_general_debrief_is_previewed_saved_and_refused_whole(site: Site) -> None:
    _recorded(site)
    before = site.count(DeskText)
    preview = site.post("co_chair", "/general", {"text": "A **first** word", "action": "preview"})
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="general-preview"' in body
    assert "A <strong>first</strong> word" in body and site.count(DeskText) == before
    long_text = {"text": "x" * (LONG_TEXT_LIMIT + 1), "action": "save"}
    too_long = site.post("co_chair", "/general", long_text)
    assert too_long.status_code == 400
    bad_action = site.post("co_chair", "/general", {"text": GENERAL, "action": "publish"})
    assert bad_action.status_code == 400
    no_token = site.client("co_chair").post(site.url("/general"), data={"text": GENERAL})
    assert no_token.status_code == 400 and site.count(DeskText) == before
    assert site.post("observer", "/general", {"text": GENERAL}).status_code == 403
    assert site.post("administrator", "/general", {"text": GENERAL}).status_code == 403
    assert site.count(DeskText) == before
    saved = site.post("co_chair", "/general", {"text": GENERAL, "action": "save"})
    assert saved.status_code == 302
    page = site.client("triage_officer").get(site.url()).get_data(as_text=True)
    assert 'id="general-rendered"' in page and "<strong>detention</strong>" in page


def test_the_debrief_from_the_page_each_reading_only_their_own(site: Site) -> None:
    _recorded(site)
    raised, background, agenda, unlinked, restricted = _ids(site)
    assert site.post("co_chair", "/general", {"text": GENERAL, "action": "save"}).status_code == 302
    # Not debriefed while anyone is outstanding; a reason is recorded, taken back, recorded.
    assert site.post("co_chair", "/debriefed", {}).status_code == 400
    rows = site.count(DebriefWithheld)
    for reason, status in (("bored", 400), ("", 400)):
        assert (
            site.post("co_chair", f"/withhold/{unlinked}", {"reason": reason}).status_code == status
        )
    assert site.post("observer", f"/withhold/{unlinked}", {"reason": "other"}).status_code == 403
    assert site.post("co_chair", "/withhold/" + "A" * 22, {"reason": "other"}).status_code == 404
    assert site.count(DebriefWithheld) == rows
    assert site.post("co_chair", f"/withhold/{unlinked}", {"reason": "other"}).status_code == 302
    assert site.post("co_chair", f"/withhold/{unlinked}/undo", {}).status_code == 302
    assert site.post("co_chair", f"/withhold/{unlinked}/undo", {}).status_code == 400
    withheld = {"reason": "answered_with_another_submission"}
    assert site.post("triage_officer", f"/withhold/{unlinked}", withheld).status_code == 302
    page = site.client("co_chair").get(site.url()).get_data(as_text=True)
    assert "4 outstanding, 0 notified, 1 withheld" in page and 'id="send-form"' in page
    assert "You cannot open this submission" in page
    assert "Withheld: Answered in the debrief of another of their submissions" in page
    assert page.count("What this contributor will receive") == 3
    assert "Record the session as debriefed" not in page
    # Refused posts send nothing: no CSRF token, an unknown submission, words too long.
    messages = site.count(DeskMessage)
    assert site.client("co_chair").post(site.url("/send")).status_code == 400
    assert site.post("co_chair", "/words/" + "A" * 22, {"text": WORDS}).status_code == 404
    too_long = site.post("co_chair", f"/words/{agenda}", {"text": "x" * (LONG_TEXT_LIMIT + 1)})
    assert too_long.status_code == 400 and site.count(DeskMessage) == messages
    # Sent from the page: three notices, and the result names the one the co-chair cannot open,
    # which the triage officer named on it then sends.
    sent = site.post("co_chair", "/send", {})
    assert sent.status_code == 302
    said = site.client("co_chair").get(sent.headers["Location"]).get_data(as_text=True)
    assert "3 notices sent." in said and "cannot open them" in said and restricted[:8] in said
    sent = site.post("triage_officer", "/send", {})
    said = site.client("triage_officer").get(sent.headers["Location"]).get_data(as_text=True)
    assert "1 notice sent." in said and "cannot open" not in said
    notices = {key: site.notice_of(key) for key in (raised, background, agenda)}
    html = {key: str(notice.html) for key, notice in notices.items() if notice is not None}
    assert len(html) == 3 and site.notice_of(unlinked) is None
    for key, words in html.items():
        assert words in page, "the preview is exactly what was sent"
        assert "GENERAL-7d1e" in words and PERSON_NAME not in words
        others = {other: text for other, text in html.items() if other != key}
        assert all(text != words for text in others.values())
    by_name, kept, used = html[raised], html[background], html[agenda]
    assert "raised with the partner during the agenda item “Detention”" in by_name
    assert "allowed their name" in by_name and "CASE-REPLY-5a9f" in by_name
    assert "was not raised with the partner" in kept and "The consent for the round" in kept
    assert "situation was raised" not in kept and "allowed their name" not in kept
    assert "Detention" in used and "CASE-REPLY" not in used and "Person 1" not in used
    assert {site.state(key) for key in (raised, background, agenda)} == {SubmissionState.DEBRIEFED}
    # Sending again sends nothing; now the session can be recorded as debriefed.
    messages = site.count(DeskMessage)
    again = site.post("co_chair", "/send", {})
    assert again.status_code == 302 and site.count(DeskMessage) == messages
    page = site.client("co_chair").get(site.url()).get_data(as_text=True)
    assert page.count("Notice sent on") == 4 and "Record the session as debriefed" in page
    assert site.post("co_chair", "/debriefed", {}).status_code == 302
    with site.database.session() as session:
        found = session.get(DialogueSession, site.session_id)
        assert found is not None and found.state is SessionState.DEBRIEFED
    assert site.post("co_chair", f"/withhold/{unlinked}/undo", {}).status_code == 400
