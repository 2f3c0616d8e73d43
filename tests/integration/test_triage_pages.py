"""The triage side for staff: desks, the queue, opening a submission, triage decisions.

One demo instance per backend for the module (``writable_demo_instance``). Beside the demo
accounts, the module adds a second triage officer on the ``valdoria`` desk (for named members
and emergency access) and a triage officer on no desk. Submissions are sent through the intake
service under new codenames, the way the public form stores them.
"""

import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import func, select

import crypto
from portal import create_app, timefmt
from portal.db import Database
from portal.instance import InstanceFolder
from portal.locales import LANGUAGES
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    Dialogue,
    DialogueSession,
    EmergencyAccess,
    NamedMember,
    RiskLevel,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    TriageNote,
    utc_now,
)
from portal.services.contexts import (
    SubmissionAddress,
    signed_triage_note_context,
    triage_note_context,
)
from portal.services.desks.keys import open_desk_key_grant
from portal.services.dialogues.dialogue_sessions import consultation_accepts_submissions
from portal.services.staff import triage
from portal.services.submissions.attachments import (
    EncryptingUpload,
    UploadBudget,
    attach_file,
)
from portal.services.submissions.inbox import change_plain_consent
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import DemoInstance, csrf_token_for
from tests.intake_support import TEST_SUBMISSION_IDS, staging_room
from tests.staff_sessions_support import add_test_account, demo_credentials, sign_in_client

EXTRA_PASSPHRASE = "correct horse battery staple for triage tests"
SITUATION = "Detained since March without charge in the northern prison"
PERSON_NAME = "Ana Example-Person"

CASE_FORM: dict[str, Any] = {
    "topics": ["detention_and_fair_trial"],
    "persons": [
        {
            "name": PERSON_NAME,
            "consent": {"level": "handover_list", "given_by": "person", "risks_explained": True},
        }
    ],
    "place": "Northern province",
    "situation": SITUATION,
    "relation_to_person": "colleague",
}
AGENDA_FORM: dict[str, Any] = {"topics": ["death_penalty"], "situation": "Moratorium debate"}


@dataclass
class Triage:
    """The module's world: the app, the accounts by role, and helpers to send and count."""

    instance: DemoInstance
    app: Flask
    database: Database
    accounts: dict[str, tuple[str, str]]  # name -> (email, passphrase)

    def client(self, who: str) -> FlaskClient:
        """A client signed in as ``who``, made once per module (signing in costs Argon2)."""
        if who in self._clients:
            return self._clients[who]
        client = self._clients[who] = self.app.test_client()
        email, passphrase = self.accounts[who]
        sign_in_client(self.app, client, email, passphrase)
        return client

    def user_id(self, who: str) -> int:
        with self.database.session() as session:
            return session.scalars(
                select(StaffUser.id).where(StaffUser.email == self.accounts[who][0])
            ).one()

    def send(
        self, kind: SubmissionKind, form: dict[str, Any], *, attachment: bytes | None = None
    ) -> str:
        now = utc_now()
        secrets = InstanceFolder(self.instance.settings.instance_dir).load_secrets()
        with self.database.session() as session:
            dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
            open_session = None
            if kind is not SubmissionKind.REPRISAL_REPORT:
                open_session = next(
                    item
                    for item in session.scalars(
                        select(DialogueSession).where(DialogueSession.dialogue_id == dialogue.id)
                    )
                    if consultation_accepts_submissions(item, now)
                )
            new = register_new_codename(
                session, secrets.codename_pepper, language="en", today=now.date()
            )
            submission = accept_plain_submission(
                session,
                address=submission_address(
                    session,
                    dialogue=dialogue,
                    dialogue_session=open_session,
                    kind=kind,
                    public_id=TEST_SUBMISSION_IDS.issue(now),
                    ids=TEST_SUBMISSION_IDS,
                    now=now,
                ),
                submitter_key=new.secrets,
                form=form,
                today=now.date(),
            )
            if attachment is not None:
                storage = EncryptedStorage(
                    InstanceFolder(self.instance.settings.instance_dir).storage_dir
                )
                upload = EncryptingUpload(
                    session, storage, UploadBudget(), staging_room(session, storage)
                )
                for start in range(0, len(attachment), 50_000):
                    upload.write(attachment[start : start + 50_000])
                attach_file(
                    session,
                    submission,
                    upload.finish(),
                    new.secrets,
                    file_name="évidence <1>.pdf",
                    content_type="text/html",
                )
            session.commit()
            self._secrets_by_id[submission.public_id] = new.secrets
            return submission.public_id

    def change_consent(self, public_id: str, level: str) -> None:
        with self.database.session() as session:
            found = self.submission(session, public_id)
            change_plain_consent(
                session,
                found,
                self._secrets_by_id[public_id],
                {
                    "person": 0,
                    "consent": {"level": level, "given_by": "person", "risks_explained": True},
                },
                today=utc_now().date(),
            )
            session.commit()

    def submission(self, session: Any, public_id: str) -> Submission:
        return session.scalars(select(Submission).where(Submission.public_id == public_id)).one()

    def state(self, public_id: str) -> Submission:
        with self.database.session() as session:
            found = self.submission(session, public_id)
            session.expunge(found)
            return found

    def events(self, action: str) -> int:
        with self.database.session() as session:
            return session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )

    def count(self, model: type) -> int:
        with self.database.session() as session:
            return session.scalar(select(func.count()).select_from(model))

    _secrets_by_id: dict[str, Any] = field(default_factory=dict)
    _clients: dict[str, FlaskClient] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[Triage]:
    app = create_app(writable_demo_instance.settings)
    database = Database(writable_demo_instance.settings.database_url)
    credentials = demo_credentials(writable_demo_instance.credentials_file)
    accounts = {role: (c.email, c.password) for role, c in credentials.items()}
    secrets = InstanceFolder(writable_demo_instance.settings.instance_dir).load_secrets()
    recovery = crypto.import_recovery_key(writable_demo_instance.recovery_key)
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).one()
        recovery_grant = session.scalars(
            select(DeskKeyGrant).where(
                DeskKeyGrant.desk_key_id == desk_key.id, DeskKeyGrant.recovery_key_id.is_not(None)
            )
        ).one()
        desk_private = open_desk_key_grant(recovery_grant, recovery)
        for name, on_desk in (("second_officer", True), ("outsider", False)):
            user = add_test_account(
                session,
                name,
                StaffRole.TRIAGE_OFFICER,
                EXTRA_PASSPHRASE,
                at_rest_key=secrets.at_rest_key,
                desk=(desk_key, desk_private) if on_desk else None,
            )
            accounts[name] = (user.email, EXTRA_PASSPHRASE)
        session.commit()
    triage_world = Triage(writable_demo_instance, app, database, accounts)
    try:
        yield triage_world
    finally:
        database.dispose()


def _post(client: FlaskClient, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data={"csrf_token": csrf_token_for(client), **(data or {})})


def _page(client: FlaskClient, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


# --- home and queue ----------------------------------------------------------------------------


def test_home_lists_the_desks_with_counts_and_observers_see_no_content(world: Triage) -> None:
    world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    status, page = _page(world.client("triage_officer"), "/staff/")
    assert status == 200
    assert "/staff/dialogues/valdoria/queue" in page
    assert "/staff/dialogues/coral-straits/queue" in page
    status, page = _page(world.client("observer"), "/staff/")
    assert status == 200
    assert "no access to the content" in page
    assert "/queue" not in page
    assert world.client("observer").get("/staff/dialogues/valdoria/queue").status_code == 403
    status, page = _page(world.client("administrator"), "/staff/")
    assert status == 200 and "Administration" in page


def test_queue_shows_metadata_only_and_refuses_non_members(world: Triage) -> None:
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    client = world.client("triage_officer")
    status, page = _page(client, "/staff/dialogues/valdoria/queue")
    assert status == 200
    assert public_id[:8] in page
    assert SITUATION not in page and PERSON_NAME not in page
    assert "Detention and fair trial" in page
    for who in ("outsider", "observer", "administrator"):
        assert world.client(who).get("/staff/dialogues/valdoria/queue").status_code == 403
    # The co-chair is not on coral-straits' desk.
    assert world.client("co_chair").get("/staff/dialogues/coral-straits/queue").status_code == 403
    assert client.get("/staff/dialogues/no-such-dialogue/queue").status_code == 404
    assert world.client("outsider").get(f"/staff/submissions/{public_id}").status_code == 404
    assert world.client("observer").get(f"/staff/submissions/{public_id}").status_code == 403


def test_queue_filters_and_flags(world: Triage) -> None:
    case = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    agenda = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    world.change_consent(case, "raise_by_name")
    client = world.client("triage_officer")

    def ids(query: str) -> set[str]:
        status, page = _page(client, f"/staff/dialogues/valdoria/queue?{query}")
        assert status == 200
        return set(re.findall(r"/staff/submissions/([A-Za-z0-9_-]{22})", page))

    assert case in ids("kind=individual_case") and agenda not in ids("kind=individual_case")
    assert agenda in ids("topic=death_penalty") and case not in ids("topic=death_penalty")
    assert case in ids("topic=detention_and_fair_trial")
    assert ids("topic=children") == set()
    assert case in ids("state=received") and ids("state=debriefed") == set()
    assert ids("flag=urgent") == set()
    assert case in ids("risk=none")
    _status, page = _page(client, "/staff/dialogues/valdoria/queue?kind=individual_case")
    row = page[page.index(f"/staff/submissions/{case}") :].split("</tr>")[0]
    assert "Consent changed" in row


# --- opening a submission ----------------------------------------------------------------------


def test_opening_shows_everything_audits_and_moves_into_triage(world: Triage) -> None:
    content = b"%PDF-" + bytes(range(256)) * 900  # > 3 STREAM chunks
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM, attachment=content)
    world.change_consent(public_id, "raise_without_name")
    reads = world.events("submission.read")
    client = world.client("triage_officer")
    status, page = _page(client, f"/staff/submissions/{public_id}")
    assert status == 200
    assert SITUATION in page and PERSON_NAME in page
    assert "May be raised without the name" in page  # the consent as it stands now
    assert "évidence &lt;1&gt;.pdf" in page
    assert world.events("submission.read") == reads + 1
    assert world.state(public_id).state is SubmissionState.IN_TRIAGE
    with world.database.session() as session:
        event = session.scalars(
            select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(1)
        ).one()
        assert event.action == "submission.read"
        assert event.details == {"kind": "individual_case"}

    match = re.search(r"/staff/attachments/[A-Za-z0-9_-]{22}", page)
    assert match is not None
    attachment_reads = world.events("attachment.read")
    response = client.get(match.group(0))
    assert response.status_code == 200
    assert response.data == content
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Content-Length"] == str(len(content))
    assert world.events("attachment.read") == attachment_reads + 1
    assert world.client("co_chair").get(match.group(0)).status_code == 200
    assert world.client("outsider").get(match.group(0)).status_code == 404


def test_a_tampered_attachment_is_never_served_complete(world: Triage) -> None:
    content = bytes(200_000)
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM, attachment=content)
    storage = InstanceFolder(world.instance.settings.instance_dir).storage_dir
    with world.database.session() as session:
        name = world.submission(session, public_id).attachments[0].storage_name
    path = storage / name
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        client = world.client("triage_officer")
        page = client.get(f"/staff/submissions/{public_id}").get_data(as_text=True)
        url = re.search(r"/staff/attachments/[A-Za-z0-9_-]{22}", page)
        assert url is not None
        with pytest.raises(crypto.DecryptionError):
            response = client.get(url.group(0))
            b"".join(response.response)  # the stream breaks before its last chunk
    finally:
        path.write_bytes(original)


def test_the_desk_key_must_be_granted(world: Triage) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    with world.database.session() as session:
        user = session.scalars(
            select(StaffUser).where(StaffUser.email == world.accounts["second_officer"][0])
        ).one()
        grant = session.scalars(
            select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == user.id)
        ).one()
        saved = (grant.desk_key_id, grant.envelope)
        session.delete(grant)
        session.commit()
    try:
        status, page = _page(world.client("second_officer"), f"/staff/submissions/{public_id}")
        assert status == 403
        assert "hold no grant of the desk key" in page
        assert "Moratorium debate" not in page
    finally:
        with world.database.session() as session:
            session.add(
                DeskKeyGrant(
                    desk_key_id=saved[0], recipient_staff_user_id=user.id, envelope=saved[1]
                )
            )
            session.commit()


# --- triage decisions --------------------------------------------------------------------------


def test_accept_decline_and_illegal_transitions(world: Triage) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    client = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    accepted = world.events("submission.accepted")
    assert _post(client, f"{base}/accept").status_code == 302
    assert world.state(public_id).state is SubmissionState.ACCEPTED
    assert world.events("submission.accepted") == accepted + 1
    # Accepting twice is an illegal transition: refused, nothing recorded.
    response = _post(client, f"{base}/accept")
    assert response.status_code == 400
    assert "cannot be accepted now" in response.get_data(as_text=True)
    assert world.events("submission.accepted") == accepted + 1
    assert _post(client, f"{base}/decline", {"reason": "bogus"}).status_code == 400
    assert _post(client, f"{base}/decline", {"reason": "duplicate"}).status_code == 400
    assert world.state(public_id).state is SubmissionState.ACCEPTED
    assert _post(client, f"{base}/decline", {"reason": "not_enough_information"}).status_code == 302
    found = world.state(public_id)
    assert found.state is SubmissionState.DECLINED
    assert str(found.decline_reason) == "not_enough_information"
    # Co-chairs read but do not triage; to other desks' officers the submission is unknown.
    assert _post(world.client("co_chair"), f"{base}/accept").status_code == 403
    assert _post(world.client("outsider"), f"{base}/accept").status_code == 404
    assert world.state(public_id).state is SubmissionState.DECLINED


def _offered(page: str, public_id: str) -> set[str]:
    """The decision routes the page has a form for."""
    return {
        action
        for action in ("accept", "decline", "duplicate")
        if f'action="/staff/submissions/{public_id}/{action}"' in page
    }


def test_the_page_offers_only_the_decisions_that_apply(world: Triage) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    client = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    assert _offered(_page(client, base)[1], public_id) == {"accept", "decline", "duplicate"}

    assert _post(client, f"{base}/accept").status_code == 302
    status, page = _page(client, base)
    assert status == 200 and _offered(page, public_id) == {"decline", "duplicate"}
    assert "It is now: Accepted." in page

    assert _post(client, f"{base}/decline", {"reason": "other"}).status_code == 302
    page = _page(client, base)[1]
    assert _offered(page, public_id) == {"accept"}
    # Posted anyway, a decision that does not apply is refused, saying where it stands.
    response = _post(client, f"{base}/duplicate", {"original": "A" * 22})
    assert response.status_code == 400
    assert "declined cannot be declined now" in response.get_data(as_text=True)

    with world.database.session() as session:
        world.submission(session, public_id).state = SubmissionState.WITHDRAWN
        session.commit()
    page = _page(client, base)[1]
    assert _offered(page, public_id) == set()
    assert 'id="no-decision"' in page and "withdrew it" in page
    assert _post(client, f"{base}/accept").status_code == 400
    assert world.state(public_id).state is SubmissionState.WITHDRAWN


def test_open_decisions_by_state() -> None:
    accept, decline = triage.Decision.ACCEPT, triage.Decision.DECLINE
    expected = {
        SubmissionState.RECEIVED: {accept, decline},
        SubmissionState.IN_TRIAGE: {accept, decline},
        SubmissionState.ACCEPTED: {decline},
        SubmissionState.DECLINED: {accept},
    }
    for state in SubmissionState:
        assert triage.open_decisions(Submission(state=state)) == expected.get(state, set()), state
    # Every decision offered is a move the state table allows.
    targets = {accept: SubmissionState.ACCEPTED, decline: SubmissionState.DECLINED}
    for decision, states in triage.DECISIONS_FROM.items():
        assert all(targets[decision] in triage.ALLOWED_TRANSITIONS[state] for state in states)


def test_consent_reads_as_given_and_a_change_as_the_submitters(world: Triage) -> None:
    background = {
        **CASE_FORM,
        "persons": [
            {
                "name": PERSON_NAME,
                "consent": {
                    "level": "internal_only",
                    "given_by": "family",
                    "risks_explained": True,
                },
            }
        ],
    }
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, background)
    client = world.client("triage_officer")
    page = _page(client, f"/staff/submissions/{public_id}")[1]
    persons = page.split('id="persons"')[1].split("</ol>")[0]
    assert "Consent: EU internal background only (given by: Their family)" in persons
    assert "withdraw" not in persons.lower() and "Changed by the submitter" not in persons

    world.change_consent(public_id, "raise_without_name")
    persons = _page(client, f"/staff/submissions/{public_id}")[1].split('id="persons"')[1]
    persons = persons.split("</ol>")[0]
    assert "Consent as sent: EU internal background only" in persons
    assert "Changed by the submitter to: May be raised without the name" in persons


def test_transition_table_refuses_what_it_does_not_list() -> None:
    for old, allowed in triage.ALLOWED_TRANSITIONS.items():
        for new in SubmissionState:
            submission = Submission(state=old)
            if new in allowed:
                triage.change_state(submission, new)
                assert submission.state is new
            else:
                with pytest.raises(triage.TriageRefusedError):
                    triage.change_state(submission, new)
                assert submission.state is old


def test_topics_duplicate_and_note(world: Triage) -> None:
    original = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    client = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    client.get(base)

    assert (
        _post(client, f"{base}/topics", {"topic": ["rule_of_law", "children"]}).status_code == 302
    )
    assert world.state(public_id).topic_tags == ["children", "rule_of_law"]
    assert _post(client, f"{base}/topics", {"topic": ["nonsense"]}).status_code == 400
    assert world.state(public_id).topic_tags == ["children", "rule_of_law"]

    assert _post(client, f"{base}/duplicate", {"original": public_id}).status_code == 400
    assert _post(client, f"{base}/duplicate", {"original": "A" * 22}).status_code == 400
    assert world.state(public_id).state is SubmissionState.IN_TRIAGE
    assert _post(client, f"{base}/duplicate", {"original": original}).status_code == 302
    found = world.state(public_id)
    assert found.state is SubmissionState.DECLINED and str(found.decline_reason) == "duplicate"
    assert found.duplicate_of_id is not None

    notes = world.count(TriageNote)
    assert _post(client, f"{base}/notes", {"text": "   "}).status_code == 400
    assert world.count(TriageNote) == notes
    note_text = "Check with the delegation before the session"
    assert _post(client, f"{base}/notes", {"text": note_text}).status_code == 302
    with world.database.session() as session:
        note = session.scalars(select(TriageNote).order_by(TriageNote.id.desc()).limit(1)).one()
        assert note_text.encode() not in note.envelope
        info = crypto.inspect_envelope(note.envelope)
        assert len(info.key_ids) == 1  # the desk key alone, not the submitter
        context = signed_triage_note_context(
            SubmissionAddress.of(world.submission(session, public_id)),
            note.id,
            world.user_id("triage_officer"),
            note.position,
        )
        assert info.context_digest == crypto.context_digest(context)
        crypto.verify_item(note.author_signing_public_key, context, note.envelope, note.signature)
    status, page = _page(world.client("co_chair"), base)
    assert status == 200 and note_text in page and "could not be verified" not in page
    status, page = _page(client, "/staff/dialogues/valdoria/queue")
    assert note_text not in page


def _forged_note(
    session: Any,
    submission: Submission,
    author_id: int,
    text: str,
    *,
    position: int | None,
    seed: bytes | None,
) -> TriageNote:
    """A note as a database writer makes one: sealed to the desk's public key under its context
    and, with ``seed``, signed and "certified" by that key (the writer holds no desk key)."""
    note = TriageNote(
        submission_id=submission.id,
        author_id=author_id,
        desk_key_id=submission.desk_key_id,
        envelope=b"",
        position=position,
    )
    session.add(note)
    session.flush()
    address = SubmissionAddress.of(submission)
    context = (
        triage_note_context(address, note.id)
        if seed is None
        else signed_triage_note_context(address, note.id, author_id, position or 1)
    )
    note.envelope = crypto.seal_envelope(
        json.dumps({"format": "parley-triage-note-v1", "text": text}).encode(),
        [submission.desk_key.public_key],
        context,
    )
    if seed is not None:
        key = crypto.signing_public_key(seed)
        note.signature = crypto.sign_item(seed, context, note.envelope)
        note.author_signing_public_key = key
        slug = submission.dialogue.slug
        note.author_certificate = crypto.certify_staff_key(seed, slug, author_id, key)
    return note


def test_notes_the_database_writer_forged_moved_or_reattributed_are_shown_unverified(
    world: Triage,
) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    other_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    client = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    genuine = ("genuine note to be moved", "genuine note reattributed", "genuine note key swapped")
    for text in genuine:
        assert _post(client, f"{base}/notes", {"text": text}).status_code == 302
    officer, co_chair = world.user_id("triage_officer"), world.user_id("co_chair")
    writer_seed = hashlib.sha256(b"a key of the database writer").digest()
    with world.database.session() as session:
        found, other = world.submission(session, public_id), world.submission(session, other_id)
        moved, reattributed, swapped = session.scalars(
            select(TriageNote).where(TriageNote.submission_id == found.id).order_by(TriageNote.id)
        ).all()
        moved.submission_id = other.id  # a genuine note moved to another submission
        reattributed.author_id = co_chair  # a genuine note given another author
        # The author's signing key swapped for the writer's, the note re-signed with it.
        swapped_context = signed_triage_note_context(
            SubmissionAddress.of(found), swapped.id, officer, swapped.position
        )
        swapped.author_signing_public_key = crypto.signing_public_key(writer_seed)
        swapped.signature = crypto.sign_item(writer_seed, swapped_context, swapped.envelope)
        # Signed and "certified" by a key the desk never certified.
        _forged_note(session, found, officer, "forged signed note", position=4, seed=writer_seed)
        # Unsigned, as if stored before signatures, on a submission sent since.
        _forged_note(session, found, officer, "forged unsigned note", position=None, seed=None)
        session.commit()
    unverified = world.events("item.unverified")
    for where, shown in ((base, 4), (f"/staff/submissions/{other_id}", 1)):
        status, page = _page(client, where)
        assert status == 200
        assert page.count("This item could not be verified.") == shown
        for text in (*genuine, "forged signed note", "forged unsigned note"):
            assert text not in page
    assert world.events("item.unverified") == unverified + 5


def test_risk_assessment_named_members_and_emergency_access(world: Triage) -> None:
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    officer = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    officer.get(base)
    future = (utc_now().date() + dt.timedelta(days=30)).isoformat()
    past = (utc_now().date() - dt.timedelta(days=1)).isoformat()

    assert _post(officer, f"{base}/risk", {"level": "medium"}).status_code == 400
    assert _post(officer, f"{base}/risk", {"level": "high", "reassess_on": past}).status_code == 400
    # Naming someone who holds no grant of the key (the outsider) is refused, nothing stored.
    outsider = world.user_id("outsider")
    response = _post(
        officer, f"{base}/risk", {"level": "high", "reassess_on": future, "named": str(outsider)}
    )
    assert response.status_code == 400
    assert world.state(public_id).risk_level is None
    assert world.count(NamedMember) == 0 or _named(world, public_id) == set()

    assert (
        _post(
            officer,
            f"{base}/risk",
            {
                "level": "high",
                "reassess_on": future,
                "gender_specific": "yes",
                "women_hrd": "yes",
            },
        ).status_code
        == 302
    )
    found = world.state(public_id)
    assert found.risk_level is RiskLevel.HIGH and found.gender_specific_risk and found.women_hrd
    assert _named(world, public_id) == {world.user_id("triage_officer")}
    assert world.events("submission.risk_assessed") >= 1

    # The co-chair and the second officer are on the desk but not named.
    for who in ("co_chair", "second_officer"):
        status, page = _page(world.client(who), base)
        assert status == 200
        assert SITUATION not in page and PERSON_NAME not in page
        assert "Emergency access" in page
    assert _post(world.client("second_officer"), f"{base}/accept").status_code == 403
    status, page = _page(officer, "/staff/dialogues/valdoria/queue?risk=high")
    assert "Restricted" in page

    second = world.client("second_officer")
    grants, events = world.count(EmergencyAccess), world.events("submission.emergency_access")
    assert (
        _post(second, f"{base}/emergency-access", {"justification": "too short"}).status_code == 400
    )
    assert world.count(EmergencyAccess) == grants
    justification = "The named officer is unreachable and a hearing is due tomorrow"
    assert (
        _post(second, f"{base}/emergency-access", {"justification": justification}).status_code
        == 302
    )
    assert world.count(EmergencyAccess) == grants + 1
    assert world.events("submission.emergency_access") == events + 1
    status, page = _page(second, base)
    assert status == 200 and SITUATION in page
    # The desk sees who took emergency access and why.
    status, page = _page(world.client("co_chair"), base)
    assert justification in page and SITUATION not in page
    assert world.client("outsider").get(base).status_code == 404
    assert (
        _post(
            world.client("outsider"), f"{base}/emergency-access", {"justification": justification}
        ).status_code
        == 404
    )

    # Naming the second officer too, then lowering the risk, ends the restriction.
    assert (
        _post(
            officer,
            f"{base}/risk",
            {
                "level": "high",
                "reassess_on": future,
                "named": [
                    str(world.user_id("second_officer")),
                    str(world.user_id("triage_officer")),
                ],
            },
        ).status_code
        == 302
    )
    assert _named(world, public_id) == {
        world.user_id("triage_officer"),
        world.user_id("second_officer"),
    }
    assert _post(officer, f"{base}/risk", {"level": "low"}).status_code == 302
    assert _named(world, public_id) == set()
    status, page = _page(world.client("co_chair"), base)
    assert SITUATION in page


def _named(world: Triage, public_id: str) -> set[int]:
    with world.database.session() as session:
        found = world.submission(session, public_id)
        return set(
            session.scalars(
                select(NamedMember.staff_user_id).where(NamedMember.submission_id == found.id)
            )
        )


def test_handover_proposal_rule(world: Triage) -> None:
    """The case page's proposal form posts to the handover list's route with the session chosen;
    a proposal changes no state (the rules themselves: tests/integration/test_handover.py)."""
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    agenda = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    session_id = world.state(public_id).session_id
    officer = world.client("triage_officer")
    base = f"/staff/submissions/{public_id}"
    officer.get(base)
    proposals = world.events("submission.proposed_for_handover")

    def propose(target: str = base) -> Any:
        return _post(officer, f"{target}/handover", {"session": str(session_id)})

    assert propose().status_code == 400  # not accepted
    _post(officer, f"{base}/accept")
    assert propose().status_code == 400  # risk not assessed
    _post(officer, f"{base}/risk", {"level": "low"})
    _post(officer, f"{base}/risk-hold", {"hold": "set"})
    assert world.state(public_id).risk_hold
    assert propose().status_code == 400  # on risk hold
    _post(officer, f"{base}/risk-hold", {"hold": "clear"})
    assert not world.state(public_id).risk_hold
    assert _post(officer, f"{base}/risk-hold", {"hold": "clear"}).status_code == 400
    world.change_consent(public_id, "raise_by_name")
    response = propose()
    assert response.status_code == 400
    assert "consented to the handover list" in response.get_data(as_text=True)
    _status, page = _page(officer, base)
    assert "consented to the handover list" in page
    world.change_consent(public_id, "handover_list")
    _status, page = _page(officer, base)
    assert "Propose it for the handover list" in page
    assert propose().status_code == 302
    with world.database.session() as session:
        found = world.submission(session, public_id)
        assert found.state is SubmissionState.ACCEPTED
        assert [(entry.proposed_by_id, entry.approved_at) for entry in found.handover_entries] == [
            (world.user_id("triage_officer"), None)
        ]
    assert world.events("submission.proposed_for_handover") == proposals + 1
    _status, page = _page(officer, base)
    assert "awaiting a co-chair" in page and "Propose it for the handover list" not in page
    # Agenda input never goes on the handover list.
    officer.get(f"/staff/submissions/{agenda}")
    _post(officer, f"/staff/submissions/{agenda}/accept")
    assert propose(f"/staff/submissions/{agenda}").status_code == 400


def test_offline_review_shows_metadata_only(world: Triage) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    with world.database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        dialogue.review_mode = "offline"
        session.commit()
    try:
        reads = world.events("submission.read")
        status, page = _page(world.client("triage_officer"), f"/staff/submissions/{public_id}")
        assert status == 200
        assert "reviewed offline" in page and "Moratorium debate" not in page
        assert world.events("submission.read") == reads
    finally:
        with world.database.session() as session:
            dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
            dialogue.review_mode = "online"
            session.commit()


def test_nothing_half_stored_when_the_audit_fails(world: Triage, monkeypatch: Any) -> None:
    public_id = world.send(SubmissionKind.AGENDA_INPUT, AGENDA_FORM)
    client = world.client("triage_officer")
    client.get(f"/staff/submissions/{public_id}")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("audit down")

    monkeypatch.setattr(triage, "record_submission_event", broken)
    response = _post(client, f"/staff/submissions/{public_id}/accept")
    assert response.status_code == 500
    assert world.state(public_id).state is SubmissionState.IN_TRIAGE


def test_unknown_submissions_and_ids(world: Triage) -> None:
    client = world.client("triage_officer")
    assert client.get("/staff/submissions/" + "A" * 22).status_code == 404
    assert client.get("/staff/submissions/not-an-id").status_code == 404
    assert client.get("/staff/attachments/" + "A" * 22).status_code == 404
    assert client.get("/staff/attachments/not-an-id").status_code == 404
    assert _post(client, "/staff/submissions/" + "A" * 22 + "/accept").status_code == 404
    anonymous = world.app.test_client()
    response = anonymous.get("/staff/dialogues/valdoria/queue")
    assert response.status_code == 302


def test_staff_error_pages_say_what_to_do_and_not_what_exists(world: Triage) -> None:
    public_id = world.send(SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    outsider = world.client("outsider")
    # Off the desk, a real reference and a made-up one are answered alike.
    real = outsider.get(f"/staff/submissions/{public_id}")
    made_up = outsider.get("/staff/submissions/" + "A" * 22)
    assert real.status_code == made_up.status_code == 404

    def main_of(response: Any) -> str:  # the page without the sign-out form's fresh token
        return response.get_data(as_text=True).split('<main id="main"')[1].split("</form>")[1]

    assert main_of(real) == main_of(made_up)
    # A dialogue is public: its desk's pages refuse with 403, saying what to do.
    refused = outsider.get("/staff/desks/valdoria")
    assert refused.status_code == 403
    for response, heading in (
        (refused, "This page is not open to you"),
        (made_up, "Nothing to show at this address"),
    ):
        page = response.get_data(as_text=True)
        assert f"<h1>{heading}</h1>" in page
        ways = page.split('id="error-ways"')[1].split("</ul>")[0]
        assert 'href="/staff/"' in ways and 'href="/staff/account"' in ways
        assert 'href="/admin/staff"' not in ways, "only administrators are sent there"
        # The language switch links to this same address in each language; the rest of the
        # page names nothing the request asked about.
        switch = page.split('<nav class="language-switch"')[1].split("</nav>")[0]
        for detail in (public_id, "A" * 22, "Individual case"):
            assert detail not in page.replace(switch, "")
    # An administrator on no desk is refused the desk's queue and offered administration.
    page = world.client("administrator").get("/staff/dialogues/valdoria/queue")
    assert page.status_code == 403
    assert 'href="/admin/staff"' in page.get_data(as_text=True).split('id="error-ways"')[1]
    # Someone not signed in is offered the staff sign-in; public addresses keep the public page.
    anonymous = world.app.test_client()
    page = anonymous.get("/staff/no-such-page").get_data(as_text=True)
    assert 'href="/staff/sign-in"' in page.split('id="error-ways"')[1]
    public = anonymous.get("/no-such-page").get_data(as_text=True)
    assert "error-ways" not in public and "Quick exit" in public


def test_audit_details_never_hold_content(world: Triage) -> None:
    with world.database.session() as session:
        for event in session.scalars(select(AuditEvent)):
            text = json.dumps(event.details)
            assert SITUATION not in text and PERSON_NAME not in text
            assert "Check with the delegation" not in text


# --- the page in the reader's language -------------------------------------------------------


def _catalogue_with(folder: Path, language: str, messages: dict[str, str]) -> None:
    """A catalogue of ``messages`` for ``language`` in ``folder``, as a translator would ship."""
    catalogue = Catalog(locale=language)
    for english, translated in messages.items():
        catalogue.add(english, translated)
    target = folder / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    (target / "messages.mo").write_bytes(buffer.getvalue())


def _in_every_language(world: Triage, who: str, catalogues: Path | None = None) -> FlaskClient:
    """A client signed in as ``who`` on a portal offering every language (and the catalogues
    in ``catalogues`` on top of the portal's own)."""
    app = create_app(world.instance.settings)
    app.config["PORTAL_LANGUAGES"] = tuple(LANGUAGES)
    if catalogues is not None:
        app.extensions["babel"].translation_directories.append(str(catalogues))
    client = app.test_client()
    email, passphrase = world.accounts[who]
    sign_in_client(app, client, email, passphrase)
    return client


def test_lists_and_dates_follow_the_page_language(world: Triage) -> None:
    public_id = world.send(
        SubmissionKind.INDIVIDUAL_CASE,
        {**CASE_FORM, "topics": ["children", "death_penalty", "rule_of_law"]},
    )
    world.change_consent(public_id, "raise_without_name")
    client = _in_every_language(world, "triage_officer")
    today = utc_now().date()
    for code, joiner in (("ar", " و"), ("zh", "、")):
        page = client.get(f"/staff/submissions/{public_id}?lang={code}").get_data(as_text=True)
        metadata = page.split('id="metadata"')[1].split("</dl>")[0]
        assert joiner in metadata and ", " not in metadata
        changes = page.split('id="consent-changes"')[1].split("</ol>")[0]
        with world.app.test_request_context(f"/?lang={code}"), force_locale(code):
            written = timefmt.long_date(today)
        assert written in changes and today.isoformat() not in changes
        assert today.isoformat() not in metadata
    english = client.get(f"/staff/submissions/{public_id}").get_data(as_text=True)
    assert "Rights of the child, Death penalty, and Rule of law" in english.split("</dl>")[0]
    assert f"{PERSON_NAME}: May be raised without the name" in english


CHINESE_COLON = "\uff1a"
CHINESE_WAYS = "您所在工作台的对话和待办事项"


def test_the_staff_error_page_gives_the_translator_each_way_as_one_sentence(
    world: Triage, tmp_path: Path
) -> None:
    sentence = (
        "%(desks_and_sessions)s: the dialogues whose desk you are on, and what is waiting for you"
    )
    _catalogue_with(
        tmp_path, "zh", {sentence: f"%(desks_and_sessions)s{CHINESE_COLON}{CHINESE_WAYS}"}
    )
    client = _in_every_language(world, "triage_officer", tmp_path)
    page = client.get("/staff/no-such-page?lang=zh").get_data(as_text=True)
    ways = page.split('id="error-ways"')[1].split("</ul>")[0]
    assert f"</a>{CHINESE_COLON}{CHINESE_WAYS}</li>" in ways
