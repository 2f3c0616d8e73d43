"""The briefing pack of a session: the page, the print view, the offline bundle, the points.

One demo instance per backend for the module. The world puts on the open ``valdoria`` session an
item on general developments and the standing reprisals point, and links to them, accepted:

- a case naming three persons, each with another consent: Ana by name, Bo without the name,
  Cy background only (``INTERNAL_ONLY``);
- a case whose only person is background only (held back from the cases to raise);
- a seminar submission with two recommendations;
- a reprisal report, under the reprisals point.

Readers: the demo triage officer (opens names by the identity key), the demo co-chair (does not:
names open for co-chairs only when named on the case), and, refused, an observer and an
administrator made desk members, and a triage officer on no desk.
"""

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import crypto
from crypto.keys import export_desk_key
from portal import create_app
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AgendaPriority,
    AgendaTheme,
    AuditEvent,
    CaseOutcome,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    DeskText,
    DeskTextPurpose,
    Dialogue,
    DialogueSession,
    FollowUpAction,
    FollowUpActionLink,
    HowRaised,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.bundles.manifest import BundleError
from portal.services.bundles.offline import decrypt_bundle, read_offline_key
from portal.services.desks.keys import grant_desk_access, open_desk_key_grant
from portal.services.dialogues.dialogue_sessions import consultation_accepts_submissions
from portal.services.rounds.desk_texts import subject_of, write_desk_text
from portal.services.rounds.staff_markdown import render
from portal.services.staff.accounts import create_staff_user
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import change_plain_consent
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.submitters import register_new_codename
from tests.conftest import DemoInstance, csrf_token_for, portal_environment, run_portal
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.staff_sessions_support import demo_credentials, sign_in_client

PASSPHRASE = "correct horse battery staple for the briefing"
BY_NAME, WITHOUT_NAME, INTERNAL = "Ana Byname-Person", "Bo Nameless-Person", "Cy Internal-Person"
HELD_BACK_NAME = "Dee Heldback-Person"
CONFIRMED, UNCONFIRMED = "Gil Confirmed-Person", "Hal Unconfirmed-Person"
PARTNER_REPLY = "The ministry promised a **review** of the detention"
SITUATION = "SITUATION-RAW-TEXT never in a briefing"
RECOMMENDATION = "Abolish the death penalty for all crimes by 2030"
ADDRESSEE = "Ministry of Justice"
ITEM_TITLE = "Civic space and human-rights defenders"
EARLIER_ITEM = "Detention conditions, as raised the year before"
FOLLOW_UP = (  # the roadmap's actions linked to the case taken up before: title, state, due
    ("Grant the family a prison visit", ActionState.PLANNED, -10),
    ("Publish the detention review", ActionState.DONE, -40),
)


def _person(name: str, level: str) -> dict[str, Any]:
    return {
        "name": name,
        "consent": {"level": level, "given_by": "person", "risks_explained": True},
    }


def _case(persons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "topics": ["human_rights_defenders"],
        "persons": persons,
        "place": "Capital",
        "situation": SITUATION,
        "relation_to_person": "colleague",
    }


SEMINAR = {
    "topics": ["death_penalty"],
    "seminar": "Civil-society seminar, Valdoria city",
    "recommendations": [
        {"text": RECOMMENDATION, "addressee": ADDRESSEE, "topic": "death_penalty"},
        {
            "text": "Release all detained journalists",
            "addressee": "Government",
            "topic": "freedom_of_expression",
        },
    ],
}
REPRISAL = {
    "topics": [],
    "what_happened": f"Travel ban after meeting the EU {SITUATION}",
    "when": "May",
    "link_to_engagement": "Met the EU delegation",
    "urgency": "standard",
    "persons": [_person("Eve Reprisal-Person", "raise_without_name")],
}


@dataclass
class World:
    instance: DemoInstance
    app: Flask
    database: Database
    accounts: dict[str, tuple[str, str]]
    slug: str
    session_id: int
    item: int
    reprisals_item: int
    case: str
    held_back_case: str
    unlinked_case: str
    reprisal: str
    history_case: str
    _clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, who: str) -> FlaskClient:
        if who not in self._clients:
            client = self._clients[who] = self.app.test_client()
            if who != "anonymous":
                email, passphrase = self.accounts[who]
                sign_in_client(self.app, client, email, passphrase)
        return self._clients[who]

    @property
    def base(self) -> str:
        return f"/staff/dialogues/{self.slug}/sessions/{self.session_id}/briefing"

    def count(self, model: type) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model))

    def events(self, action: str) -> list[dict[str, Any]]:
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(AuditEvent.details)
                    .where(AuditEvent.action == action)
                    .order_by(AuditEvent.sequence)
                )
            )


def _send(
    session: Any,
    instance: DemoInstance,
    dialogue: Dialogue,
    open_session: DialogueSession,
    kind: SubmissionKind,
    form: dict[str, Any],
) -> tuple[Submission, Any]:
    now = utc_now()
    secrets = InstanceFolder(instance.settings.instance_dir).load_secrets()
    new = register_new_codename(session, secrets.codename_pepper, language="en", today=now.date())
    submission = accept_plain_submission(
        session,
        address=submission_address(
            session,
            dialogue=dialogue,
            dialogue_session=None if kind is SubmissionKind.REPRISAL_REPORT else open_session,
            kind=kind,
            public_id=TEST_SUBMISSION_IDS.issue(now),
            ids=TEST_SUBMISSION_IDS,
            now=now,
        ),
        submitter_key=new.secrets,
        form=form,
        today=now.date(),
    )
    submission.state = SubmissionState.ACCEPTED
    return submission, new.secrets


def _desk(session: Any, instance: DemoInstance) -> tuple[Dialogue, DeskKey, crypto.PrivateKey]:
    """The ``valdoria`` desk key and its private half, opened with the recovery key."""
    dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
    desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).one()
    grant = session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == desk_key.id, DeskKeyGrant.recovery_key_id.is_not(None)
        )
    ).one()
    recovery = crypto.import_recovery_key(instance.recovery_key)
    return dialogue, desk_key, open_desk_key_grant(grant, recovery)


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    instance = writable_demo_instance
    app = create_app(instance.settings)
    database = Database(instance.settings.database_url)
    credentials = demo_credentials(instance.credentials_file)
    accounts = {role: (c.email, c.password) for role, c in credentials.items()}
    secrets = InstanceFolder(instance.settings.instance_dir).load_secrets()
    now = utc_now()
    with database.session() as session:
        dialogue, desk_key, desk_private = _desk(session, instance)
        for name, role in (
            ("admin_member", StaffRole.ADMINISTRATOR),
            ("observer_member", StaffRole.OBSERVER),
            ("outsider", StaffRole.TRIAGE_OFFICER),
        ):
            user = create_staff_user(
                session,
                email=f"briefing-{name}@test.parley.invalid",
                display_name=name,
                role=role,
                passphrase=PASSPHRASE,
                at_rest_key=secrets.at_rest_key,
                must_change_passphrase=False,
            ).user
            if role is StaffRole.ADMINISTRATOR:
                grant_desk_access(
                    session,
                    desk_key=desk_key,
                    desk_private_key=desk_private,
                    member=user,
                    granted_by=None,
                )
            elif role is StaffRole.OBSERVER:
                session.add(DeskMembership(dialogue_id=dialogue.id, staff_user_id=user.id))
            accounts[name] = (user.email, PASSPHRASE)
        open_session = next(
            item
            for item in session.scalars(
                select(DialogueSession).where(DialogueSession.dialogue_id == dialogue.id)
            )
            if consultation_accepts_submissions(item, now)
        )

        def send(kind: SubmissionKind, form: dict[str, Any]) -> Submission:
            return _send(session, instance, dialogue, open_session, kind, form)[0]

        case = send(
            SubmissionKind.INDIVIDUAL_CASE,
            _case(
                [
                    _person(BY_NAME, "raise_by_name"),
                    _person(WITHOUT_NAME, "raise_without_name"),
                    _person(INTERNAL, "internal_only"),
                ]
            ),
        )
        held_back = send(
            SubmissionKind.INDIVIDUAL_CASE, _case([_person(HELD_BACK_NAME, "internal_only")])
        )
        unlinked = send(SubmissionKind.INDIVIDUAL_CASE, _case([_person("Fay", "raise_by_name")]))
        seminar = send(SubmissionKind.SEMINAR_RECOMMENDATIONS, SEMINAR)
        reprisal = send(SubmissionKind.REPRISAL_REPORT, REPRISAL)
        item = AgendaItem(
            session_id=open_session.id,
            title=ITEM_TITLE,
            theme=AgendaTheme.SPECIFIC_TOPIC,
            topic="human_rights_defenders",
            position=1,
            priority_of=AgendaPriority.BOTH,
            gender_dimension="Women defenders face gendered smear campaigns",
            status=AgendaItemStatus.INCLUDED,
        )
        reprisals_item = AgendaItem(
            session_id=open_session.id,
            title="Reprisals against civil society",
            theme=AgendaTheme.REPRISALS,
            position=2,
            priority_of=AgendaPriority.EU,
            status=AgendaItemStatus.INCLUDED,
        )
        session.add_all([item, reprisals_item])
        session.flush()
        for submission in (case, held_back, seminar):
            session.add(AgendaLink(submission_id=submission.id, agenda_item_id=item.id))
        session.add(AgendaLink(submission_id=reprisal.id, agenda_item_id=reprisals_item.id))
        history_case = _taken_up_before(session, instance, dialogue, open_session, item, accounts)
        session.commit()
        built = World(
            instance,
            app,
            database,
            accounts,
            dialogue.slug,
            open_session.id,
            item.id,
            reprisals_item.id,
            case.public_id,
            held_back.public_id,
            unlinked.public_id,
            reprisal.public_id,
            history_case,
        )
    try:
        yield built
    finally:
        database.dispose()


def _taken_up_before(
    session: Any,
    instance: DemoInstance,
    dialogue: Dialogue,
    open_session: DialogueSession,
    item: AgendaItem,
    accounts: dict[str, tuple[str, str]],
) -> str:
    """A case raised in the session a year before, with the partner's reply recorded then; of
    its two persons, only the first is confirmed again for this round."""
    case, secrets = _send(
        session,
        instance,
        dialogue,
        open_session,
        SubmissionKind.INDIVIDUAL_CASE,
        _case([_person(CONFIRMED, "raise_by_name"), _person(UNCONFIRMED, "handover_list")]),
    )
    earlier = DialogueSession(
        dialogue_id=dialogue.id,
        date=open_session.date - dt.timedelta(days=365),
        place=SessionPlace.BRUSSELS,
        state=SessionState.DEBRIEFED,
        held_on=open_session.date - dt.timedelta(days=364),
    )
    session.add(earlier)
    session.flush()
    earlier_item = AgendaItem(
        session_id=earlier.id,
        title=EARLIER_ITEM,
        theme=AgendaTheme.GENERAL_DEVELOPMENTS,
        position=1,
        priority_of=AgendaPriority.EU,
        status=AgendaItemStatus.INCLUDED,
    )
    session.add(earlier_item)
    session.flush()
    officer = session.scalars(
        select(StaffUser).where(StaffUser.email == accounts["triage_officer"][0])
    ).one()
    session.add(
        CaseOutcome(
            session_id=earlier.id,
            submission_id=case.id,
            how_raised=HowRaised.DURING_ITEM,
            agenda_item_id=earlier_item.id,
            recorded_by_id=officer.id,
        )
    )
    for title, state, due in FOLLOW_UP:
        session.add(
            FollowUpAction(
                dialogue_id=dialogue.id,
                session_id=earlier.id,
                title=title,
                owner=ActionOwner.PARTNER,
                due_on=utc_now().date() + dt.timedelta(days=due),
                state=state,
                created_by_id=officer.id,
                links=[FollowUpActionLink(submission_id=case.id)],
            )
        )
    session.add(AgendaLink(submission_id=case.id, agenda_item_id=item.id))
    personal_key = crypto.unwrap_private_key(
        officer.personal_private_key_wrapped, accounts["triage_officer"][1]
    )
    signed_in = SignedInStaff(officer, "briefing-test", crypto.private_key_bytes(personal_key))
    write_desk_text(
        session,
        signed_in,
        earlier,
        subject_of(DeskTextPurpose.CASE_REPLY, submission=case),
        PARTNER_REPLY,
        now=utc_now(),
    )
    consent = {"level": "raise_by_name", "given_by": "person", "risks_explained": True}
    change_plain_consent(
        session,
        case,
        secrets,
        {"person": 0, "consent": consent, "round": open_session.id},
        today=utc_now().date(),
    )
    session.flush()
    return case.public_id


def _post(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data={"csrf_token": csrf_token_for(client), **(data or {})})


def _text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assert_names_as_consented(body: str, *, names_open: bool) -> None:
    """The one check: only the name whose consent allows it this round, only when readable."""
    assert (BY_NAME in body) is names_open
    for never in (
        WITHOUT_NAME,
        INTERNAL,
        HELD_BACK_NAME,
        UNCONFIRMED,
        "Eve Reprisal-Person",
        SITUATION,
    ):
        assert never not in body
    text = _text_of(body)
    assert "Person 2 — situation only, never the name" in text
    assert "Person 3 — not to be raised this round" in text


# --- the pack page -----------------------------------------------------------------------------


def test_triage_officer_reads_the_name_the_round_allows_and_no_other(world: World) -> None:
    response = world.client("triage_officer").get(world.base)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    _assert_names_as_consented(body, names_open=True)
    text = _text_of(body)
    assert ITEM_TITLE in text
    assert "Priority of both sides" in text
    assert "Women defenders face gendered smear campaigns" in text
    assert "Individual case: 3 and Seminar recommendations: 1" in text
    assert RECOMMENDATION in text and ADDRESSEE in text
    assert "1 linked case is not to be raised this round" in text
    assert world.held_back_case not in body and world.unlinked_case not in body
    assert world.case in body and world.reprisal in body
    assert response.headers["Cache-Control"].startswith("no-store")


def test_a_case_taken_up_before_shows_its_record_and_who_confirmed(world: World) -> None:
    body = world.client("triage_officer").get(world.base).get_data(as_text=True)
    text = _text_of(body)
    assert CONFIRMED in text and UNCONFIRMED not in text
    assert (
        "Person 2 — not to be raised this round (raised before; the submitter has not "
        "confirmed this round)"
    ) in text
    assert "Raised during an agenda item" in text
    assert "The ministry promised a <strong>review</strong> of the detention" in body


def test_a_case_across_rounds_shows_where_it_was_raised_and_its_follow_up(
    world: World,
) -> None:
    """The case's history: the session and item it was raised under, the partner's reply, and
    the roadmap's actions linked to it with their state; the same for a reader who opens no
    name, and in the print view."""
    for who in ("triage_officer", "co_chair"):
        for url in (world.base, f"{world.base}/print"):
            text = _text_of(world.client(who).get(url).get_data(as_text=True))
            assert f'Raised during an agenda item (under "{EARLIER_ITEM}")' in text
            assert (
                "Grant the family a prison visit: The partner government, due "
                f"{format_date(utc_now().date() - dt.timedelta(days=10), 'long', locale='en')}, "
                "Planned Overdue"
            ) in text
            assert "Publish the detention review: The partner government" in text
            assert text.count("Overdue") == 1


def test_co_chair_reads_no_name_but_what_each_person_allows(world: World) -> None:
    response = world.client("co_chair").get(world.base)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    _assert_names_as_consented(body, names_open=False)
    assert "Person 1 — may be raised by name; the name opens only" in _text_of(body)


def test_every_reading_is_audited_with_ids_only(world: World) -> None:
    before = len(world.events("briefing.read"))
    reads = len(world.events("submission.read"))
    assert world.client("triage_officer").get(world.base).status_code == 200
    events = world.events("briefing.read")
    assert len(events) == before + 1
    assert events[-1] == {"use": "page", "items": 2, "cases": 3}
    assert all(set(event) == {"use", "items", "cases"} for event in events)
    # Each linked case, report and seminar opened is a read of it (the held-back case too).
    assert len(world.events("submission.read")) == reads + 5


# --- writing points ----------------------------------------------------------------------------


def test_points_are_sealed_rendered_and_cleaned(world: World) -> None:
    client = world.client("co_chair")
    item_point = "Ask about **the NGO law**.\n\n- point one\n\n<script>alert('x')</script>"
    response = _post(client, f"{world.base}/items/{world.item}", {"text": item_point})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#item-{world.item}")
    case_point = "Raise the *detention*; [link](javascript:alert(1))"
    response = _post(client, f"{world.base}/cases/{world.case}", {"text": case_point})
    assert response.status_code == 302
    body = world.client("triage_officer").get(world.base).get_data(as_text=True)
    assert "<strong>the NGO law</strong>" in body and "<li>point one</li>" in body
    assert "<em>detention</em>" in body
    assert "<script>alert" not in body and 'href="javascript' not in body
    with world.database.session() as session:
        stored = session.scalars(
            select(DeskText).where(DeskText.purpose == DeskTextPurpose.BRIEFING_POINT)
        ).all()
        assert len(stored) == 2
        assert all(b"NGO law" not in bytes(row.envelope) for row in stored)
    written = world.events("desk_text.written")[-1]
    assert "text" not in written and "detention" not in json.dumps(written)


@pytest.mark.parametrize(
    ("path", "data", "status"),
    [
        ("items/{item}", {"text": "x" * (LONG_TEXT_LIMIT + 1)}, 400),
        ("cases/{case}", {"text": "x" * (LONG_TEXT_LIMIT + 1)}, 400),
        ("items/999999", {"text": "a point"}, 404),
        ("cases/{unlinked}", {"text": "a point on a case not in the pack"}, 404),
        ("cases/{held_back}", {"text": "not shown, but linked: may be written"}, None),
        ("cases/not-a-public-id", {"text": "a point"}, 404),
    ],
)
def test_malformed_or_misplaced_points_store_nothing(
    world: World, path: str, data: dict[str, str], status: int | None
) -> None:
    url = f"{world.base}/" + path.format(
        item=world.item,
        case=world.case,
        unlinked=world.unlinked_case,
        held_back=world.held_back_case,
    )
    before = world.count(DeskText)
    response = _post(world.client("triage_officer"), url, data)
    if status is None:
        # The held-back case is under the item: the desk may write why it is held back.
        assert response.status_code == 302
        return
    assert response.status_code == status
    assert world.count(DeskText) == before
    if status == 400:
        body = response.get_data(as_text=True)
        assert "Nothing was changed" in body
        assert data["text"] in body  # what was typed is kept


def test_a_post_without_its_csrf_token_is_refused(world: World) -> None:
    before = world.count(DeskText)
    response = world.client("triage_officer").post(
        f"{world.base}/items/{world.item}", data={"text": "no token"}
    )
    assert response.status_code == 400
    assert world.count(DeskText) == before


@pytest.mark.parametrize("who", ["observer_member", "admin_member", "outsider", "observer"])
def test_others_are_refused_everything(world: World, who: str) -> None:
    client = world.client(who)
    before = (world.count(DeskText), len(world.events("briefing.read")))
    assert client.get(world.base).status_code == 403
    assert client.get(f"{world.base}/print").status_code == 403
    assert _post(client, f"{world.base}/bundle").status_code == 403
    url = f"{world.base}/items/{world.item}"
    assert _post(client, url, {"text": "not mine to write"}).status_code == 403
    assert _post(client, f"{world.base}/cases/{world.case}", {"text": "no"}).status_code == 403
    assert (world.count(DeskText), len(world.events("briefing.read"))) == before


def test_anonymous_is_sent_to_sign_in_and_unknown_sessions_are_404(world: World) -> None:
    response = world.client("anonymous").get(world.base)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    client = world.client("triage_officer")
    assert client.get(f"/staff/dialogues/{world.slug}/sessions/999999/briefing").status_code == 404
    assert client.get("/staff/dialogues/nowhere/sessions/1/briefing").status_code == 404


# --- print and bundle --------------------------------------------------------------------------


def test_print_view_is_a_clean_document_with_the_same_names(world: World) -> None:
    response = world.client("triage_officer").get(f"{world.base}/print")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    _assert_names_as_consented(body, names_open=True)
    assert "EU RESTRICTED" in body and "Valdoria" in body
    assert "<form" not in body and "<nav" not in body and "<script" not in body
    assert "css/briefing-print.css" in body
    assert world.events("briefing.read")[-1]["use"] == "print"
    co_chair = world.client("co_chair").get(f"{world.base}/print").get_data(as_text=True)
    _assert_names_as_consented(co_chair, names_open=False)


def _bundle(world: World, who: str) -> bytes:
    response = _post(world.client(who), f"{world.base}/bundle")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    return response.get_data()


def test_bundle_decrypts_offline_to_the_same_pack(world: World, tmp_path: Path) -> None:
    data = _bundle(world, "triage_officer")
    assert BY_NAME.encode() not in data and RECOMMENDATION.encode() not in data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "parley-briefing-v1"
    assert manifest["session"] == world.session_id
    assert set(world.events("briefing.bundle_exported")[-1]) == {"desk_key"}
    bundle = tmp_path / "briefing.zip"
    bundle.write_bytes(data)
    summary = decrypt_bundle(
        bundle, tmp_path / "out", read_offline_key(world.instance.recovery_key)
    )
    assert summary.briefing
    document = (tmp_path / "out" / "briefing.html").read_text(encoding="utf-8")
    _assert_names_as_consented(document, names_open=True)
    assert "EU RESTRICTED" in document and "<style>" in document and "<link" not in document
    assert RECOMMENDATION in document
    page = world.client("triage_officer").get(f"{world.base}/print").get_data(as_text=True)
    body = re.compile(r"<main>.*</main>", re.S)
    assert body.search(document).group(0) == body.search(page).group(0)  # type: ignore[union-attr]
    pack = json.loads((tmp_path / "out" / "briefing.json").read_text(encoding="utf-8"))
    persons = pack["items"][0]["cases"][0]["persons"]
    assert [person["name"] for person in persons] == [BY_NAME, None, None]
    history = pack["items"][0]["cases"][1]["history"]
    assert [(row["how_raised"], row["agenda_item"], row["reply"]) for row in history] == [
        ("during_item", EARLIER_ITEM, PARTNER_REPLY)
    ]
    follow_up = pack["items"][0]["cases"][1]["follow_up"]
    assert [(row["title"], row["owner"], row["state"], row["overdue"]) for row in follow_up] == [
        ("Publish the detention review", "partner", "done", False),
        ("Grant the family a prison visit", "partner", "planned", True),
    ]
    assert [person["raise_as"] for person in persons] == [
        "by_name",
        "situation_only",
        "not_this_round",
    ]
    index = json.loads((tmp_path / "out" / "index.json").read_text(encoding="utf-8"))
    assert index["format"] == "parley-briefing-v1" and index["provenance"] == "signed"


def test_portal_decrypt_opens_it_with_the_desk_key_and_needs_no_instance(
    world: World, tmp_path: Path
) -> None:
    bundle = tmp_path / "briefing.zip"
    bundle.write_bytes(_bundle(world, "co_chair"))
    with world.database.session() as session:
        _dialogue, _desk_key, desk_private = _desk(session, world.instance)
    result = run_portal(
        portal_environment(tmp_path / "no-instance"),
        "decrypt",
        str(bundle),
        "--out",
        str(tmp_path / "opened"),
        stdin=export_desk_key(desk_private) + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "briefing pack" in result.output and "briefing.html" in result.output
    document = (tmp_path / "opened" / "briefing.html").read_text(encoding="utf-8")
    _assert_names_as_consented(document, names_open=False)
    index = json.loads((tmp_path / "opened" / "index.json").read_text(encoding="utf-8"))
    assert index["decrypted_with"] == "desk" and index["author"] == "Demo Co-chair"
    assert not (tmp_path / "no-instance").exists()


def _tampered(data: bytes, change: Any) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    change(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
    return out.getvalue()


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(exported_on="2001-01-01"),
        lambda m: m.update(session=m["session"] + 1),
        lambda m: m["briefing"].update(author_id=m["briefing"]["author_id"] + 1),
        lambda m: m["briefing"].update(signature=m["briefing"]["author_certificate"]),
        lambda m: m.pop("briefing"),
    ],
    ids=["re-dated", "moved", "re-attributed", "bad-signature", "no-briefing"],
)
def test_a_tampered_bundle_decrypts_to_nothing(world: World, tmp_path: Path, change: Any) -> None:
    bundle = tmp_path / "tampered.zip"
    bundle.write_bytes(_tampered(_bundle(world, "co_chair"), change))
    with pytest.raises(BundleError):
        decrypt_bundle(bundle, tmp_path / "out", read_offline_key(world.instance.recovery_key))
    assert not (tmp_path / "out").exists()
    assert [path.name for path in tmp_path.iterdir()] == ["tampered.zip"]


# --- Markdown cleaning -------------------------------------------------------------------------

_DANGEROUS = [
    "<script>alert(1)</script>",
    "<style>body{display:none}</style>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](https://tracker.example/p.png)",
    "<a href='javascript:alert(1)'>x</a>",
    '<div onclick="alert(1)">x</div>',
    "<iframe src=//example.org></iframe>",
    "<https://example.org>",
    "<svg onload=alert(1)>",
]


_ALLOWED_TAG = re.compile(r"</?(?:p|br|strong|em|ul|ol|li|blockquote|code|pre|h4|h5)>")


def _is_clean(html: str) -> bool:
    """Every tag is one of the allow-list, bare (no attribute at all); any other ``<`` or ``>``
    is escaped text."""
    rest = _ALLOWED_TAG.sub("", html)
    return "<" not in rest and ">" not in rest


@pytest.mark.parametrize("text", _DANGEROUS)
def test_markdown_drops_every_active_thing(text: str) -> None:
    html = str(render(text))
    assert _is_clean(html)


def test_markdown_keeps_simple_formatting() -> None:
    html = str(render("# Aim\n\n**bold**, _it_\n\n1. one\n2. two\n\n> quoted\n\n`code`"))
    assert "<h4>Aim</h4>" in html and "<strong>bold</strong>" in html and "<em>it</em>" in html
    assert "<ol>" in html and "<blockquote>" in html and "<code>code</code>" in html


_PIECES = st.sampled_from(
    [
        *_DANGEROUS,
        "<",
        ">",
        '"',
        "'",
        "=",
        "javascript:",
        "on",
        "error",
        "**",
        "_",
        "[",
        "](",
        ")",
        "\n",
        "\n\n",
        "- ",
        "# ",
        "`",
        "&#106;avascript:",
        "<!--",
        "-->",
        "<scr",
        "ipt>",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=24).map("".join))
def test_markdown_output_is_always_within_the_allow_list(text: str) -> None:
    assert _is_clean(str(render(text)))
