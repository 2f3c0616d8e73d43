"""The authorization matrix: every staff route x every role x member / non-member / named.

For each role (administrator, triage officer, co-chair, observer) the module makes three
accounts on the ``valdoria`` demo dialogue: ``member`` (on the desk, holding the desk key),
``non_member`` (on no desk) and ``named`` (a member *and* named on the high-risk submission).
Observers cannot hold the desk key, so their ``member`` and ``named`` accounts get the desk
membership row an administrator's assignment would make (and ``named`` a ``NamedMember`` row):
they must still reach no content. An anonymous client (no session) is a row of its own.

Targets: a plain submission and a high-risk submission restricted to the ``named`` accounts,
each with an attachment and with a unique canary marker in its text and in its attachment; an
agenda item and the standing reprisals point of a draft agenda (the point, which is never
dropped, is what the drop route is tried on), a session whose agenda is shared; and one victim
account per requester for the destructive routes (reset request, approval and cancellation,
deactivate, end sessions, remove from a desk), and one planned session per requester whose
handover list holds a proposal of the plain submission (approve, reject, freeze, unfreeze), so
that one requester's action never changes another's rows.

Every expected answer is written out per route as a small function of (role, relation):

- ``DENIED``: 403 or 404.
- ``SIGN_IN``: a redirect to the sign-in page.
- ``CONTENT``: 200 with the target's canary marker in the body.
- ``RESTRICTED``: an answer that is not a refusal or a sign-in redirect, without any canary marker
  (a page of metadata, a refused empty form, a redirect after an action).
- ``ALLOWED``: an answer that is not a refusal or a sign-in redirect; the marker may appear (used
  only where the requester may read the target, e.g. a triage decision refused for an empty
  form re-renders the opened submission).

CSRF is switched off (it is tested elsewhere), so posts reach the views with empty or minimal
forms. ``test_every_staff_route_is_in_the_matrix`` enumerates ``app.url_map`` and fails on a
route the matrix leaves out, or a matrix entry naming a route that does not exist.
"""

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItem,
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    DialogueSession,
    FollowUpAction,
    FollowUpActionLink,
    FollowUpResult,
    HandoverEntry,
    NamedMember,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffRole,
    Submission,
    SubmissionKind,
    utc_now,
)
from portal.services.desks.keys import grant_desk_access, open_desk_key_grant
from portal.services.dialogues.dialogue_sessions import consultation_accepts_submissions
from portal.services.staff.accounts import create_staff_user
from portal.services.submissions.attachments import EncryptingUpload, UploadBudget, attach_file
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import DemoInstance
from tests.intake_support import TEST_SUBMISSION_IDS, staging_room
from tests.staff_sessions_support import sign_in_client

STAFF_BLUEPRINTS = (
    "staff",
    "staff_account",
    "staff_messages",
    "staff_export",
    "desk",
    "agenda",
    "briefing",
    "consent_requests",
    "admin",
    "handover",
    "sessions",
    "session_record",
    "debrief",
    "reports",
    "public_summary",
    "roadmap",
)
PASSPHRASE = "correct horse battery staple for the matrix"
DIALOGUE = "valdoria"


class Outcome(enum.StrEnum):
    DENIED = "denied"
    SIGN_IN = "sign-in"
    CONTENT = "content"
    RESTRICTED = "restricted"
    ALLOWED = "allowed"


DENIED, SIGN_IN, CONTENT, RESTRICTED, ALLOWED = (
    Outcome.DENIED,
    Outcome.SIGN_IN,
    Outcome.CONTENT,
    Outcome.RESTRICTED,
    Outcome.ALLOWED,
)

ADMIN = StaffRole.ADMINISTRATOR
TRIAGE = StaffRole.TRIAGE_OFFICER
CO_CHAIR = StaffRole.CO_CHAIR
OBSERVER = StaffRole.OBSERVER
ROLES = (ADMIN, TRIAGE, CO_CHAIR, OBSERVER)
CONTENT_ROLES = (ADMIN, TRIAGE, CO_CHAIR)
MEMBER, NON_MEMBER, NAMED = "member", "non_member", "named"
RELATIONS = (MEMBER, NON_MEMBER, NAMED)
ANONYMOUS = "anonymous"
REQUESTERS = [(role.value, relation) for role in ROLES for relation in RELATIONS] + [
    (ANONYMOUS, ANONYMOUS)
]


def _form(marker: str) -> dict[str, Any]:
    return {
        "topics": ["detention_and_fair_trial"],
        "persons": [
            {
                "name": "Matrix Example-Person",
                "consent": {
                    "level": "handover_list",
                    "given_by": "person",
                    "risks_explained": True,
                },
            }
        ],
        "place": "Northern province",
        "situation": f"Detained without charge {marker}",
        "relation_to_person": "colleague",
        "contact_through_portal": True,
    }


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    app: Flask
    database: Database
    accounts: dict[tuple[str, str], tuple[str, int]]  # (role, relation) -> (email, id)
    victims: dict[tuple[str, str], int]  # requester -> victim account id
    plain: str
    plain_attachment: str
    high_risk: str
    high_risk_attachment: str
    agenda_item: int
    standing_point: int
    session_id: int
    handover: dict[tuple[str, str], tuple[int, int]]  # requester -> (session id, entry id)
    shared_session_id: int
    markers: dict[str, str]  # "plain" / "high_risk" -> marker
    roadmap_result: int
    roadmap_action: int  # linked to both submissions
    _clients: dict[tuple[str, str], FlaskClient] = field(default_factory=dict)

    def client(self, requester: tuple[str, str]) -> FlaskClient:
        if requester not in self._clients:
            client = self._clients[requester] = self.app.test_client()
            if requester[0] != ANONYMOUS:
                sign_in_client(self.app, client, self.accounts[requester][0], PASSPHRASE)
        return self._clients[requester]


def _send(session: Any, instance: DemoInstance, marker: str) -> tuple[Submission, str]:
    now = utc_now()
    folder = InstanceFolder(instance.settings.instance_dir)
    dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == DIALOGUE)).one()
    open_session = next(
        item
        for item in session.scalars(
            select(DialogueSession).where(DialogueSession.dialogue_id == dialogue.id)
        )
        if consultation_accepts_submissions(item, now)
    )
    new = register_new_codename(
        session, folder.load_secrets().codename_pepper, language="en", today=now.date()
    )
    submission = accept_plain_submission(
        session,
        address=submission_address(
            session,
            dialogue=dialogue,
            dialogue_session=open_session,
            kind=SubmissionKind.INDIVIDUAL_CASE,
            public_id=TEST_SUBMISSION_IDS.issue(now),
            ids=TEST_SUBMISSION_IDS,
            now=now,
        ),
        submitter_key=new.secrets,
        form=_form(marker),
        today=now.date(),
    )
    upload = EncryptingUpload(
        session,
        EncryptedStorage(folder.storage_dir),
        UploadBudget(),
        staging_room(session, EncryptedStorage(folder.storage_dir)),
    )
    upload.write(f"attachment of {marker}".encode())
    attached = attach_file(
        session,
        submission,
        upload.finish(),
        new.secrets,
        file_name="note.txt",
        content_type="text/plain",
    )
    session.flush()
    return submission, attached.public_id


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    app = create_app(writable_demo_instance.settings)
    app.config["WTF_CSRF_ENABLED"] = False
    database = Database(writable_demo_instance.settings.database_url)
    secrets = InstanceFolder(writable_demo_instance.settings.instance_dir).load_secrets()
    recovery = crypto.import_recovery_key(writable_demo_instance.recovery_key)
    markers = {name: f"CANARY-{name}-{uuid.uuid4().hex}" for name in ("plain", "high_risk")}
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == DIALOGUE)).one()
        desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).one()
        recovery_grant = session.scalars(
            select(DeskKeyGrant).where(
                DeskKeyGrant.desk_key_id == desk_key.id, DeskKeyGrant.recovery_key_id.is_not(None)
            )
        ).one()
        desk_private = open_desk_key_grant(recovery_grant, recovery)

        def account(email: str, role: StaffRole) -> Any:
            return create_staff_user(
                session,
                email=email,
                display_name=email.split("@")[0],
                role=role,
                passphrase=PASSPHRASE,
                at_rest_key=secrets.at_rest_key,
                must_change_passphrase=False,
            ).user

        accounts: dict[tuple[str, str], tuple[str, int]] = {}
        named_users = []
        for role in ROLES:
            for relation in RELATIONS:
                user = account(f"matrix-{role.value}-{relation}@test.parley.invalid", role)
                if relation != NON_MEMBER:
                    if role is OBSERVER:
                        # What an administrator's desk assignment makes: a membership, no key.
                        session.add(DeskMembership(dialogue_id=dialogue.id, staff_user_id=user.id))
                    else:
                        grant_desk_access(
                            session,
                            desk_key=desk_key,
                            desk_private_key=desk_private,
                            member=user,
                            granted_by=None,
                        )
                if relation == NAMED:
                    named_users.append(user)
                accounts[(role.value, relation)] = (user.email, user.id)
        victims = {}
        for requester in REQUESTERS:
            victim = account(
                f"matrix-victim-{requester[0]}-{requester[1]}@test.parley.invalid", TRIAGE
            )
            session.add(DeskMembership(dialogue_id=dialogue.id, staff_user_id=victim.id))
            victims[requester] = victim.id
        session.flush()

        plain, plain_attachment = _send(session, writable_demo_instance, markers["plain"])
        high_risk, high_risk_attachment = _send(
            session, writable_demo_instance, markers["high_risk"]
        )
        high_risk.risk_level = RiskLevel.HIGH
        high_risk.risk_reassess_on = utc_now().date() + dt.timedelta(days=30)
        for user in named_users:
            session.add(NamedMember(submission_id=high_risk.id, staff_user_id=user.id))
        item, standing = (
            AgendaItem(
                session_id=plain.session_id,
                title=title,
                theme=theme,
                position=position,
                priority_of=AgendaPriority.EU,
                status=AgendaItemStatus.INCLUDED,
            )
            for position, (title, theme) in enumerate(
                (
                    ("Matrix agenda item", AgendaTheme.UN_COOPERATION),
                    ("Matrix reprisals point", AgendaTheme.REPRISALS),
                ),
                start=1,
            )
        )
        session.add(item)
        handover_lists = {}
        for number, requester in enumerate(REQUESTERS, start=1):
            planned = DialogueSession(
                dialogue_id=dialogue.id,
                date=plain.session.date + dt.timedelta(days=number),
                place=SessionPlace.VIDEO,
                state=SessionState.PLANNED,
            )
            session.add(planned)
            session.flush()
            entry = HandoverEntry(
                session_id=planned.id, submission_id=plain.id, proposed_by_id=victims[requester]
            )
            session.add(entry)
            session.flush()
            handover_lists[requester] = (planned.id, entry.id)
        shared = DialogueSession(
            dialogue_id=dialogue.id,
            date=dt.date(2100, 1, 1),
            place=SessionPlace.VIDEO,
            state=SessionState.PLANNED,
            agenda_state=AgendaState.SHARED,
        )
        session.add_all([item, standing, shared])
        result = FollowUpResult(
            dialogue_id=dialogue.id,
            title="Matrix result",
            measure="Matrix measure",
            created_by_id=victims[(ANONYMOUS, ANONYMOUS)],
        )
        session.add(result)
        session.flush()
        action = FollowUpAction(
            dialogue_id=dialogue.id,
            result_id=result.id,
            title="Matrix action",
            owner=ActionOwner.EU,
            due_on=utc_now().date() - dt.timedelta(days=1),
            state=ActionState.PLANNED,
            created_by_id=victims[(ANONYMOUS, ANONYMOUS)],
            links=[
                FollowUpActionLink(submission_id=plain.id),
                FollowUpActionLink(submission_id=high_risk.id),
            ],
        )
        session.add(action)
        session.commit()
        built = World(
            app=app,
            database=database,
            accounts=accounts,
            victims=victims,
            plain=plain.public_id,
            plain_attachment=plain_attachment,
            high_risk=high_risk.public_id,
            high_risk_attachment=high_risk_attachment,
            agenda_item=item.id,
            standing_point=standing.id,
            session_id=plain.session_id,
            handover=handover_lists,
            shared_session_id=shared.id,
            markers=markers,
            roadmap_result=result.id,
            roadmap_action=action.id,
        )
    try:
        yield built
    finally:
        database.dispose()


# --- expectations, one small function of (role, relation) per route ----------------------------

Expect = Callable[[StaffRole, str], Outcome]


def everyone(outcome: Outcome) -> Expect:
    return lambda _role, _relation: outcome


def desk_members(outcome: Outcome) -> Expect:
    """For desk members of a content role; observers and non-members are refused."""
    return lambda role, relation: (
        outcome if role in CONTENT_ROLES and relation != NON_MEMBER else DENIED
    )


def administrators(outcome: Outcome) -> Expect:
    return lambda role, _relation: outcome if role is ADMIN else DENIED


def co_chairs(outcome: Outcome) -> Expect:
    """For co-chairs on the desk, who shape the agenda; everyone else is refused."""
    return lambda role, relation: outcome if role is CO_CHAIR and relation != NON_MEMBER else DENIED


def digest_owners(role: StaffRole, _relation: str) -> Outcome:
    """The daily digest counts the work of triage officers and co-chairs, on a desk or not; each
    switches only their own (the route names nobody else)."""
    return RESTRICTED if role in (TRIAGE, CO_CHAIR) else DENIED


def agenda_proposers(role: StaffRole, relation: str) -> Outcome:
    """Co-chairs add items, triage officers propose them; other desk members only read."""
    if role not in (CO_CHAIR, TRIAGE) or relation == NON_MEMBER:
        return DENIED
    return RESTRICTED


def shared_agenda_reading(role: StaffRole, relation: str) -> Outcome:
    """A shared agenda: the desk reads it whole, observers (on a desk or not) its titles."""
    if role is OBSERVER:
        return RESTRICTED
    return RESTRICTED if relation != NON_MEMBER else DENIED


def plain_reading(role: StaffRole, relation: str) -> Outcome:
    return CONTENT if role in CONTENT_ROLES and relation != NON_MEMBER else DENIED


def high_risk_reading(role: StaffRole, relation: str) -> Outcome:
    if role not in CONTENT_ROLES or relation == NON_MEMBER:
        return DENIED
    return CONTENT if relation == NAMED else RESTRICTED


def high_risk_attachment(role: StaffRole, relation: str) -> Outcome:
    if role not in CONTENT_ROLES or relation == NON_MEMBER:
        return DENIED
    return CONTENT if relation == NAMED else DENIED


def triage_on_high_risk(role: StaffRole, relation: str) -> Outcome:
    """Triage decisions: triage officers on the desk who may read it (the named ones) only."""
    return ALLOWED if role is TRIAGE and relation == NAMED else DENIED


def emergency_access(role: StaffRole, relation: str) -> Outcome:
    # Any content-role desk member may ask (an empty justification is refused with 400); a named
    # member is told they already read it.
    if role not in CONTENT_ROLES or relation == NON_MEMBER:
        return DENIED
    return ALLOWED if relation == NAMED else RESTRICTED


def message_on_high_risk(role: StaffRole, relation: str) -> Outcome:
    return ALLOWED if role in (TRIAGE, CO_CHAIR) and relation == NAMED else DENIED


def message_on_plain(role: StaffRole, relation: str) -> Outcome:
    return ALLOWED if role in (TRIAGE, CO_CHAIR) and relation != NON_MEMBER else DENIED


def _briefing(suffix: str = "") -> Callable[[World, tuple[str, str]], str]:
    return lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/briefing{suffix}"


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    label: str
    url: Callable[[World, tuple[str, str]], str]
    expect: Expect
    target: str | None = None  # marker key checked for CONTENT
    data: Callable[[World, tuple[str, str]], dict[str, Any]] = lambda _w, _r: {}
    anonymous: Outcome = SIGN_IN


def _sub(name: str) -> Callable[[World, tuple[str, str]], str]:
    return lambda w, _r: f"/staff/submissions/{getattr(w, name)}"


def _hr(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    return lambda w, _r: f"/staff/submissions/{w.high_risk}/{suffix}"


def _handover(suffix: str = "", entry: bool = False) -> Callable[[World, tuple[str, str]], str]:
    """The requester's own session's handover list (and its proposal, with ``entry``)."""

    def url(w: World, r: tuple[str, str]) -> str:
        session_id, entry_id = w.handover[r]
        base = f"/staff/dialogues/{DIALOGUE}/sessions/{session_id}/handover"
        return f"{base}/{entry_id}{suffix}" if entry else base + suffix

    return url


def _agenda(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    return lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/agenda{suffix}"


def _agenda_item(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    return lambda w, r: _agenda(f"/items/{w.agenda_item}{suffix}")(w, r)


def _victim(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    return lambda w, r: f"/admin/staff/{w.victims[r]}{suffix}"


def report_readers(role: StaffRole, relation: str) -> Outcome:
    """Reports and statistics: observers of every dialogue (on a desk or not), and the members of
    the dialogue's desk; an administrator only as a member (``need_to_know.may_read_reports``)."""
    if role is OBSERVER or relation != NON_MEMBER:
        return RESTRICTED
    return DENIED


def _reports(suffix: str = "") -> Callable[[World, tuple[str, str]], str]:
    return lambda _w, _r: f"/staff/reports/{DIALOGUE}{suffix}"


def _public_summary(suffix: str = "") -> Callable[[World, tuple[str, str]], str]:
    """The public summary of the matrix's session, not held: nothing is written, so every post
    past the authorization check is refused (400) and nothing changes."""
    return lambda w, _r: (
        f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/public-summary{suffix}"
    )


def session_managers(outcome: Outcome) -> Expect:
    """For the desk's triage officers and co-chairs; everyone else is refused."""
    return lambda role, relation: (
        outcome if role in (TRIAGE, CO_CHAIR) and relation != NON_MEMBER else DENIED
    )


def _roadmap(suffix: str = "", action: bool = False) -> Callable[[World, tuple[str, str]], str]:
    """A page of the dialogue's roadmap (of its one action, with ``action``)."""

    def url(w: World, _r: tuple[str, str]) -> str:
        base = f"/staff/dialogues/{DIALOGUE}/roadmap"
        return f"{base}/actions/{w.roadmap_action}{suffix}" if action else base + suffix

    return url


def _record(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    """A page of the record of the matrix's session, still open for input (so not held)."""
    return lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/record{suffix}"


def _debrief(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    """A page of the debrief of the matrix's session, not held (so nothing can be sent)."""
    return lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/debrief{suffix}"


def _finished_session(suffix: str) -> Callable[[World, tuple[str, str]], str]:
    """A page of the demo's session in follow-up: every change posted to it is refused by the
    rules (400) once past the authorization check, so no requester changes what others see."""

    def url(world: World, _requester: tuple[str, str]) -> str:
        with world.database.session() as session:
            finished = session.scalars(
                select(DialogueSession.id)
                .join(Dialogue)
                .where(Dialogue.slug == DIALOGUE, DialogueSession.state == "follow_up")
            ).one()
        return f"/staff/dialogues/{DIALOGUE}/sessions/{finished}{suffix}"

    return url


def _triage_case(endpoint: str, suffix: str, data: dict[str, Any] | None = None) -> Case:
    return Case(
        f"staff.{endpoint}",
        "POST",
        "high-risk",
        _hr(suffix),
        triage_on_high_risk,
        "high_risk",
        data=lambda _w, _r: dict(data or {}),
    )


CASES: list[Case] = [
    # staff: desks, queues, submissions
    Case("staff.home", "GET", "", lambda _w, _r: "/staff/", everyone(RESTRICTED)),
    Case(
        "staff.queue",
        "GET",
        "",
        lambda _w, _r: f"/staff/dialogues/{DIALOGUE}/queue",
        desk_members(RESTRICTED),
    ),
    Case("staff.submission", "GET", "plain", _sub("plain"), plain_reading, "plain"),
    Case("staff.submission", "GET", "high-risk", _sub("high_risk"), high_risk_reading, "high_risk"),
    Case(
        "staff.attachment",
        "GET",
        "plain",
        lambda w, _r: f"/staff/attachments/{w.plain_attachment}",
        plain_reading,
        "plain",
    ),
    Case(
        "staff.attachment",
        "GET",
        "high-risk",
        lambda w, _r: f"/staff/attachments/{w.high_risk_attachment}",
        high_risk_attachment,
        "high_risk",
    ),
    Case(
        "staff.emergency_access",
        "POST",
        "high-risk, no justification",
        _hr("emergency-access"),
        emergency_access,
        "high_risk",
    ),
    _triage_case("set_topics", "topics"),
    # A valid form, so that the decision reaches the authorization check (an empty one is refused
    # for its input first); it keeps the item high-risk and restricted to the same people.
    Case(
        "staff.assess_risk",
        "POST",
        "high-risk, stays high",
        _hr("risk"),
        triage_on_high_risk,
        "high_risk",
        data=lambda w, _r: {
            "level": "high",
            "reassess_on": (utc_now().date() + dt.timedelta(days=30)).isoformat(),
            "named": [str(w.accounts[(role.value, NAMED)][1]) for role in CONTENT_ROLES],
        },
    ),
    _triage_case("name_readers", "name-readers"),
    _triage_case("names_emergency_access", "names-emergency-access", {"member": "1"}),
    _triage_case("risk_hold", "risk-hold", {"hold": "set"}),
    _triage_case("decline", "decline", {"reason": "other"}),
    _triage_case("mark_duplicate", "duplicate"),
    _triage_case("add_note", "notes"),
    # the handover list: proposing is a triage decision (an empty form is refused with 400)
    Case("handover.propose", "POST", "high-risk, no session", _hr("handover"), triage_on_high_risk),
    Case("handover.handover_list", "GET", "own session", _handover(), desk_members(RESTRICTED)),
    # The plain submission is not accepted: approval is refused (400) after the checks of who.
    Case(
        "handover.approve",
        "POST",
        "not accepted",
        _handover("/approve", True),
        co_chairs(RESTRICTED),
    ),
    Case(
        "handover.reject", "POST", "own proposal", _handover("/reject", True), co_chairs(RESTRICTED)
    ),
    Case("handover.freeze", "POST", "own list", _handover("/freeze"), co_chairs(RESTRICTED)),
    Case("handover.unfreeze", "POST", "own list", _handover("/unfreeze"), co_chairs(RESTRICTED)),
    Case("handover.print_list", "GET", "own list", _handover("/print"), desk_members(RESTRICTED)),
    # Unfrozen again by now: the export is refused with 400.
    Case("handover.export", "GET", "not frozen", _handover("/export"), desk_members(RESTRICTED)),
    Case(
        "staff.link_to_agenda",
        "POST",
        "high-risk",
        _hr("agenda-link"),
        triage_on_high_risk,
        "high_risk",
        data=lambda w, _r: {"agenda_item": str(w.agenda_item)},
    ),
    _triage_case("accept", "accept"),
    # messages
    Case(
        "staff_messages.send",
        "POST",
        "plain, empty text",
        lambda w, _r: f"/staff/submissions/{w.plain}/messages",
        message_on_plain,
        "plain",
    ),
    Case(
        "staff_messages.send",
        "POST",
        "high-risk, empty text",
        lambda w, _r: f"/staff/submissions/{w.high_risk}/messages",
        message_on_high_risk,
        "high_risk",
    ),
    # export
    Case(
        "staff_export.export_form",
        "GET",
        "",
        lambda _w, _r: f"/staff/dialogues/{DIALOGUE}/export",
        desk_members(RESTRICTED),
    ),
    Case(
        "staff_export.export",
        "POST",
        "",
        lambda _w, _r: f"/staff/dialogues/{DIALOGUE}/export",
        desk_members(RESTRICTED),
    ),
    # agenda: a draft one (observers: 404), a shared one, and the actions on the draft
    Case("agenda.agenda", "GET", "draft", _agenda(""), desk_members(RESTRICTED)),
    Case(
        "agenda.agenda",
        "GET",
        "shared",
        lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.shared_session_id}/agenda",
        shared_agenda_reading,
    ),
    Case("agenda.add_item", "POST", "empty form", _agenda("/items"), agenda_proposers),
    Case("agenda.item", "GET", "", _agenda_item(""), desk_members(RESTRICTED)),
    Case("agenda.edit_form", "GET", "", _agenda_item("/edit"), co_chairs(RESTRICTED)),
    Case("agenda.edit", "POST", "empty form", _agenda_item("/edit"), co_chairs(RESTRICTED)),
    Case("agenda.move", "POST", "no direction", _agenda_item("/move"), co_chairs(RESTRICTED)),
    # Already included, and the standing point: both refused with 400 to the co-chairs.
    Case("agenda.include", "POST", "included", _agenda_item("/include"), co_chairs(RESTRICTED)),
    Case(
        "agenda.drop",
        "POST",
        "standing point",
        lambda w, _r: (
            f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/agenda/items/"
            f"{w.standing_point}/drop"
        ),
        co_chairs(RESTRICTED),
    ),
    Case("agenda.change_stage", "POST", "no stage", _agenda("/stage"), co_chairs(RESTRICTED)),
    # Not linked: refused (400) to whoever may triage the high-risk submission.
    Case(
        "agenda.unlink",
        "POST",
        "high-risk, not linked",
        lambda w, _r: (
            f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/agenda/items/"
            f"{w.agenda_item}/links/{w.high_risk}/remove"
        ),
        triage_on_high_risk,
        "high_risk",
    ),
    # briefing pack (nothing is linked to the matrix's items, so the pack lists no content)
    Case("briefing.pack", "GET", "", _briefing(), session_managers(RESTRICTED)),
    Case("briefing.print_view", "GET", "", _briefing("/print"), session_managers(RESTRICTED)),
    Case("briefing.bundle", "POST", "", _briefing("/bundle"), session_managers(RESTRICTED)),
    # A text over the limit: refused (400) once the person may brief, before anything else.
    Case(
        "briefing.item_point",
        "POST",
        "text too long",
        lambda w, r: _briefing(f"/items/{w.agenda_item}")(w, r),
        session_managers(RESTRICTED),
        data=lambda _w, _r: {"text": "x" * (LONG_TEXT_LIMIT + 1)},
    ),
    Case(
        "briefing.case_point",
        "POST",
        "plain, text too long",
        lambda w, r: _briefing(f"/cases/{w.plain}")(w, r),
        session_managers(RESTRICTED),
        data=lambda _w, _r: {"text": "x" * (LONG_TEXT_LIMIT + 1)},
    ),
    # desk
    Case(
        "desk.desk", "GET", "", lambda _w, _r: f"/staff/desks/{DIALOGUE}", desk_members(RESTRICTED)
    ),
    Case(
        "desk.grant",
        "POST",
        "nobody chosen",
        lambda _w, _r: f"/staff/desks/{DIALOGUE}/grant",
        desk_members(RESTRICTED),
    ),
    Case(
        "desk.remove",
        "POST",
        "victim",
        lambda w, r: f"/staff/desks/{DIALOGUE}/members/{w.victims[r]}/remove",
        desk_members(RESTRICTED),
    ),
    Case(
        "desk.rotate",
        "POST",
        "",
        lambda _w, _r: f"/staff/desks/{DIALOGUE}/rotate",
        desk_members(RESTRICTED),
    ),
    # consent asked again for a round
    Case(
        "consent_requests.requests_page",
        "GET",
        "",
        lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/consent-requests",
        desk_members(RESTRICTED),
    ),
    Case(
        "consent_requests.ask",
        "POST",
        "",
        lambda w, _r: f"/staff/dialogues/{DIALOGUE}/sessions/{w.session_id}/consent-requests",
        session_managers(RESTRICTED),
    ),
    # sessions: the pages for the desk; the changes for its triage officers and co-chairs
    Case(
        "sessions.overview",
        "GET",
        "",
        lambda _w, _r: f"/staff/dialogues/{DIALOGUE}/sessions",
        desk_members(RESTRICTED),
    ),
    Case(
        "sessions.schedule",
        "POST",
        "empty form",
        lambda _w, _r: f"/staff/dialogues/{DIALOGUE}/sessions",
        session_managers(RESTRICTED),
    ),
    Case("sessions.session_page", "GET", "", _finished_session(""), desk_members(RESTRICTED)),
    Case(
        "sessions.open_consultation",
        "POST",
        "follow-up session",
        _finished_session("/open"),
        session_managers(RESTRICTED),
    ),
    Case(
        "sessions.extend_consultation",
        "POST",
        "follow-up session",
        _finished_session("/extend"),
        session_managers(RESTRICTED),
        data=lambda _w, _r: {"closes": "2031-01-01T08:00"},
    ),
    Case(
        "sessions.close_consultation",
        "POST",
        "follow-up session",
        _finished_session("/close"),
        session_managers(RESTRICTED),
    ),
    Case(
        "sessions.record_held",
        "POST",
        "follow-up session",
        _finished_session("/held"),
        session_managers(RESTRICTED),
    ),
    # a session's record: the page for the desk; the entries for its triage officers and
    # co-chairs (the session is not held, so each entry past the authorization check is refused
    # by the rules with 400 and nothing changes)
    Case("session_record.page", "GET", "", _record(""), desk_members(RESTRICTED)),
    Case(
        "session_record.held",
        "POST",
        "empty form",
        _record("/held"),
        session_managers(RESTRICTED),
    ),
    Case(
        "session_record.item",
        "POST",
        "not held",
        lambda w, r: _record(f"/items/{w.agenda_item}")(w, r),
        session_managers(RESTRICTED),
        data=lambda _w, _r: {"discussed": "yes"},
    ),
    Case(
        "session_record.case",
        "POST",
        "high-risk, not held",
        lambda w, r: _record(f"/cases/{w.high_risk}")(w, r),
        session_managers(RESTRICTED),
        "high_risk",
        data=lambda _w, _r: {"raised": "not_raised", "reason": "no_time"},
    ),
    Case(
        "session_record.recommendation",
        "POST",
        "not held",
        lambda w, r: _record(f"/recommendations/{w.plain}/0")(w, r),
        session_managers(RESTRICTED),
        "plain",
        data=lambda _w, _r: {"outcome": "discussed"},
    ),
    Case(
        "session_record.complete",
        "POST",
        "not held",
        _record("/complete"),
        session_managers(RESTRICTED),
    ),
    # a session's debrief: for the desk's triage officers and co-chairs, page and posts alike
    # (the session is not held, so each post past the authorization check is refused by the
    # rules with 400 and nothing is sent or recorded)
    Case("debrief.page", "GET", "not held", _debrief(""), session_managers(RESTRICTED)),
    Case(
        "debrief.general",
        "POST",
        "not held",
        _debrief("/general"),
        session_managers(RESTRICTED),
        data=lambda _w, _r: {"text": "Discussed", "action": "save"},
    ),
    Case(
        "debrief.words",
        "POST",
        "plain, not held",
        lambda w, r: _debrief(f"/words/{w.plain}")(w, r),
        session_managers(RESTRICTED),
        "plain",
        data=lambda _w, _r: {"text": "Thank you"},
    ),
    Case("debrief.send", "POST", "not held", _debrief("/send"), session_managers(RESTRICTED)),
    Case(
        "debrief.withhold",
        "POST",
        "plain, not held",
        lambda w, r: _debrief(f"/withhold/{w.plain}")(w, r),
        session_managers(RESTRICTED),
        "plain",
        data=lambda _w, _r: {"reason": "other"},
    ),
    Case(
        "debrief.undo_withhold",
        "POST",
        "plain, nothing withheld",
        lambda w, r: _debrief(f"/withhold/{w.plain}/undo")(w, r),
        session_managers(RESTRICTED),
        "plain",
    ),
    Case(
        "debrief.debriefed",
        "POST",
        "not held",
        _debrief("/debriefed"),
        session_managers(RESTRICTED),
    ),
    # reports and statistics: observers read them, and nothing else above
    Case("reports.index", "GET", "", lambda _w, _r: "/staff/reports", report_readers),
    Case("reports.dialogue_statistics", "GET", "", _reports(), report_readers),
    Case("reports.statistics_csv", "GET", "", _reports("/statistics.csv"), report_readers),
    Case(
        "reports.report",
        "GET",
        "",
        lambda w, r: _reports(f"/sessions/{w.session_id}")(w, r),
        report_readers,
    ),
    Case(
        "reports.report_markdown",
        "GET",
        "",
        lambda w, r: _reports(f"/sessions/{w.session_id}/report.md")(w, r),
        report_readers,
    ),
    # a session's public summary: the desk's triage officers and co-chairs
    Case("public_summary.page", "GET", "", _public_summary(), session_managers(RESTRICTED)),
    Case(
        "public_summary.write",
        "POST",
        "empty form",
        _public_summary(),
        session_managers(RESTRICTED),
    ),
    Case(
        "public_summary.publish",
        "POST",
        "nothing written",
        _public_summary("/publish"),
        session_managers(RESTRICTED),
    ),
    Case(
        "public_summary.unpublish",
        "POST",
        "nothing written",
        _public_summary("/unpublish"),
        session_managers(RESTRICTED),
    ),
    # the roadmap: pages for the desk, changes for its triage officers and co-chairs (empty
    # forms, and a link that is not the action's, are refused by the rules with 400, so nothing
    # changes); the action is linked to both submissions and overdue
    Case("roadmap.roadmap_page", "GET", "", _roadmap(), desk_members(RESTRICTED)),
    Case(
        "roadmap.add_result",
        "POST",
        "empty form",
        _roadmap("/results"),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.result_page",
        "GET",
        "",
        lambda w, r: _roadmap(f"/results/{w.roadmap_result}")(w, r),
        desk_members(RESTRICTED),
    ),
    Case(
        "roadmap.edit_result",
        "POST",
        "empty form",
        lambda w, r: _roadmap(f"/results/{w.roadmap_result}")(w, r),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.add_action",
        "POST",
        "empty form",
        _roadmap("/actions"),
        session_managers(RESTRICTED),
    ),
    Case("roadmap.action_page", "GET", "linked", _roadmap("", True), desk_members(RESTRICTED)),
    Case(
        "roadmap.edit_action",
        "POST",
        "empty form",
        _roadmap("", True),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.change_state",
        "POST",
        "empty form",
        _roadmap("/state", True),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.link_item",
        "POST",
        "empty form",
        _roadmap("/links/item", True),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.link_case",
        "POST",
        "empty form",
        _roadmap("/links/case", True),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.link_recommendation",
        "POST",
        "empty form",
        _roadmap("/links/recommendation", True),
        session_managers(RESTRICTED),
    ),
    Case(
        "roadmap.unlink",
        "POST",
        "not its link",
        _roadmap("/links/2147483647/remove", True),
        session_managers(RESTRICTED),
    ),
    # admin
    Case("admin.index", "GET", "", lambda _w, _r: "/admin/", administrators(RESTRICTED)),
    Case("admin.staff_list", "GET", "", lambda _w, _r: "/admin/staff", administrators(RESTRICTED)),
    Case(
        "admin.create_staff",
        "POST",
        "empty form",
        lambda _w, _r: "/admin/staff",
        administrators(RESTRICTED),
    ),
    Case("admin.staff_detail", "GET", "victim", _victim(""), administrators(RESTRICTED)),
    Case(
        "admin.dialogue_list",
        "GET",
        "",
        lambda _w, _r: "/admin/dialogues",
        administrators(RESTRICTED),
    ),
    Case(
        "admin.dialogue_settings",
        "GET",
        "",
        lambda _w, _r: f"/admin/dialogues/{DIALOGUE}",
        administrators(RESTRICTED),
    ),
    Case(
        "admin.set_dialogue_retention",
        "POST",
        "empty form",
        lambda _w, _r: f"/admin/dialogues/{DIALOGUE}/retention",
        administrators(RESTRICTED),
    ),
    Case("admin.audit_log", "GET", "", lambda _w, _r: "/admin/audit", administrators(RESTRICTED)),
    Case("admin.assign_desk", "POST", "no dialogue", _victim("/desks"), administrators(RESTRICTED)),
    Case(
        "admin.unassign_desk",
        "POST",
        "victim",
        _victim(f"/desks/{DIALOGUE}/remove"),
        administrators(RESTRICTED),
    ),
    Case(
        "admin.end_sessions", "POST", "victim", _victim("/end-sessions"), administrators(RESTRICTED)
    ),
    Case(
        "admin.set_active",
        "POST",
        "victim deactivated",
        _victim("/active"),
        administrators(RESTRICTED),
        data=lambda _w, _r: {"active": "no"},
    ),
    Case("admin.reset_staff", "POST", "victim", _victim("/reset"), administrators(RESTRICTED)),
    # The requester's own reset request: approving it is refused (400), cancelling it is not.
    Case(
        "admin.approve_staff_reset",
        "POST",
        "victim, own request",
        _victim("/reset/approve"),
        administrators(RESTRICTED),
    ),
    Case(
        "admin.cancel_staff_reset",
        "POST",
        "victim, own request",
        _victim("/reset/cancel"),
        administrators(RESTRICTED),
    ),
    # the account (sign-in itself is reachable by everyone)
    Case(
        "staff_account.sign_in",
        "GET",
        "",
        lambda _w, _r: "/staff/sign-in",
        everyone(RESTRICTED),
        anonymous=RESTRICTED,
    ),
    Case(
        "staff_account.sign_in",
        "POST",
        "empty form",
        lambda _w, _r: "/staff/sign-in",
        everyone(RESTRICTED),
        anonymous=RESTRICTED,
    ),
    Case("staff_account.account", "GET", "", lambda _w, _r: "/staff/account", everyone(RESTRICTED)),
    Case(
        "staff_account.acknowledge_reset",
        "POST",
        "no notice",
        lambda _w, _r: "/staff/account/reset-notice",
        everyone(RESTRICTED),
    ),
    Case(
        "staff_account.change_passphrase",
        "POST",
        "empty form",
        lambda _w, _r: "/staff/account/passphrase",
        everyone(RESTRICTED),
    ),
    Case(
        "staff_account.enrol",
        "GET",
        "already enrolled",
        lambda _w, _r: "/staff/account/enrol",
        everyone(RESTRICTED),
    ),
    Case(
        "staff_account.enrol_passphrase",
        "POST",
        "already enrolled",
        lambda _w, _r: "/staff/account/enrol/passphrase",
        everyone(RESTRICTED),
    ),
    Case(
        "staff_account.enrol_totp",
        "POST",
        "already enrolled",
        lambda _w, _r: "/staff/account/enrol/totp",
        everyone(RESTRICTED),
    ),
    Case(
        "staff_account.change_digest",
        "POST",
        "own digest off",
        lambda _w, _r: "/staff/account/digest",
        digest_owners,
        data=lambda _w, _r: {"digest": "off"},
    ),
    # last: these end the requester's session
    Case(
        "staff_account.sign_out_everywhere",
        "POST",
        "",
        lambda _w, _r: "/staff/account/sign-out-everywhere",
        everyone(SIGN_IN),
    ),
    Case("staff_account.sign_out", "POST", "", lambda _w, _r: "/staff/sign-out", everyone(SIGN_IN)),
]


# --- the tests ---------------------------------------------------------------------------------


def _staff_routes(app: Flask) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".", 1)[0] not in STAFF_BLUEPRINTS:
            continue
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                routes.add((rule.endpoint, method))
    return routes


def test_every_staff_route_is_in_the_matrix(world: World) -> None:
    routes = _staff_routes(world.app)
    covered = {(case.endpoint, case.method) for case in CASES}
    assert routes - covered == set(), "staff routes missing from the authorization matrix"
    assert covered - routes == set(), "matrix entries naming routes the app does not have"
    # And every blueprint of the staff side is really there.
    assert {endpoint.split(".", 1)[0] for endpoint, _method in routes} == set(STAFF_BLUEPRINTS)


def _classify(world: World, response: Any, marker: str | None) -> Outcome:
    if response.status_code in (403, 404):
        return DENIED
    if 300 <= response.status_code < 400:
        location = urlsplit(response.headers.get("Location", "")).path
        if location == "/staff/sign-in":
            return SIGN_IN
    body = response.get_data()
    if marker is not None and marker.encode() in body and response.status_code == 200:
        return CONTENT
    return ALLOWED


def _leaks(world: World, body: bytes, allowed: str | None) -> list[str]:
    return [
        name
        for name, marker in world.markers.items()
        if name != allowed and marker.encode() in body
    ]


def _matches(expected: Outcome, got: Outcome, leaked: list[str]) -> bool:
    if expected is RESTRICTED:
        return got is ALLOWED and not leaked
    if expected is ALLOWED:
        return got in (ALLOWED, CONTENT) and not leaked
    return got is expected and not leaked


@pytest.mark.parametrize(
    "requester", REQUESTERS, ids=[f"{role}-{relation}" for role, relation in REQUESTERS]
)
def test_authorization_matrix(world: World, requester: tuple[str, str]) -> None:
    client = world.client(requester)
    mismatches = []
    for case in CASES:
        if requester[0] == ANONYMOUS:
            expected = case.anonymous
        else:
            expected = case.expect(StaffRole(requester[0]), requester[1])
        url = case.url(world, requester)
        data = case.data(world, requester)
        response = client.get(url) if case.method == "GET" else client.post(url, data=data)
        marker = None if case.target is None else world.markers[case.target]
        got = _classify(world, response, marker)
        # A marker may show only where the requester may read that target.
        may_read = expected in (CONTENT, ALLOWED) and case.target is not None
        leaked = _leaks(world, response.get_data(), case.target if may_read else None)
        if not _matches(expected, got, leaked):
            mismatches.append(
                f"{case.endpoint} {case.method} [{case.label}] as {requester[0]}/{requester[1]}: "
                f"expected {expected.value}, got {got.value} (HTTP {response.status_code}"
                f"{', leaked ' + ','.join(leaked) if leaked else ''})"
            )
    assert not mismatches, "\n".join(mismatches)
