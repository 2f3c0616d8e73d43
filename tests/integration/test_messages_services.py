"""The message thread between the desk and a submission's author, as services, on both databases.

Staff accounts are made directly in the database with a personal key of the test's own (no
Argon2: the services below never read the passphrase); the desk key is granted to them like the
real set-up does.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

import crypto
from portal.models import (
    AuditEvent,
    DeskMessage,
    MessageAuthor,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
)
from portal.services.audit.trail import AuditAction, verify_audit_chain
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_desk_message_context,
)
from portal.services.desks.keys import create_desk_key, grant_desk_access
from portal.services.staff.reading import StaffReader, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import delete_submission, open_submission
from portal.services.submissions.intake import (
    SubmissionRefusedError,
    accept_plain_submission,
    submission_address,
)
from portal.services.submissions.messages import (
    MESSAGE_FORMAT,
    ContactNotAgreedError,
    MessageNotAllowedError,
    desk_messages_by_submission,
    message_context,
    new_reply_id,
    reply_context,
    reply_plain,
    reply_sealed,
    sealed_thread,
    send_desk_message,
    thread_for_desk,
    thread_for_submitter,
)
from portal.services.submissions.payload import PayloadError, encode_payload
from portal.services.submissions.provenance import Provenance
from portal.services.submissions.submitter_keys import submission_private_key
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.intake_support import TEST_SUBMISSION_IDS

AGENDA_FORM = {
    "topics": ["freedom_of_expression"],
    "situation": "Journalists are being detained.",
    "contact_through_portal": True,
}
ASKED = "Could you tell us which prison, if it is safe to do so?"
ANSWERED = "The northern one, since March."


@dataclass
class Thread:
    """A submission with its author's key, and desk staff with their sessions."""

    world: ConsultationWorld
    submission: Submission
    submitter_secrets: crypto.CodenameSecrets
    triage: SignedInStaff
    co_chair: SignedInStaff


def _staff(world: ConsultationWorld, role: StaffRole, name: str, *, desk: bool) -> SignedInStaff:
    personal_key = crypto.generate_private_key()
    user = StaffUser(
        email=f"{name}@example.invalid",
        display_name=name.title(),
        role=role,
        login_hash="not used",
        personal_public_key=crypto.public_key_bytes(personal_key),
        personal_private_key_wrapped=b"not used",
        totp_secret_sealed=b"not used",
        must_change_passphrase=False,
        active=True,
    )
    world.session.add(user)
    world.session.flush()
    if desk:
        grant_desk_access(
            world.session,
            desk_key=world.desk_key,
            desk_private_key=world.desk_private_key,
            member=user,
            granted_by=None,
        )
    return SignedInStaff(user, "test", crypto.private_key_bytes(personal_key))


def _submission(world: ConsultationWorld, form: dict) -> tuple[Submission, crypto.CodenameSecrets]:
    session = world.session
    new = register_new_codename(session, world.pepper, language="en", today=world.now.date())
    submission = accept_plain_submission(
        session,
        address=submission_address(
            session,
            dialogue=world.dialogue,
            dialogue_session=world.dialogue_session,
            kind=SubmissionKind.AGENDA_INPUT,
            public_id=TEST_SUBMISSION_IDS.issue(world.now),
            ids=TEST_SUBMISSION_IDS,
            now=world.now,
        ),
        submitter_key=new.secrets,
        form=form,
        today=world.now.date(),
    )
    return submission, crypto.derive_codename_secrets(new.codename)


@pytest.fixture
def thread(consultation_world: ConsultationWorld) -> Thread:
    submission, secrets = _submission(consultation_world, AGENDA_FORM)
    triage = _staff(consultation_world, StaffRole.TRIAGE_OFFICER, "triage", desk=True)
    co_chair = _staff(consultation_world, StaffRole.CO_CHAIR, "cochair", desk=True)
    consultation_world.session.commit()
    return Thread(consultation_world, submission, secrets, triage, co_chair)


def _send(thread: Thread, signed_in: SignedInStaff, text: str = ASKED) -> DeskMessage:
    session = thread.world.session
    opened = open_submission_for_staff(session, signed_in, thread.submission, now=thread.world.now)
    return send_desk_message(session, signed_in, opened, {"text": text}, now=thread.world.now)


def _desk_view(thread: Thread, signed_in: SignedInStaff, submission: Submission | None = None):
    """The thread as ``signed_in`` reads it, checked against the submission as the triage
    officer opened it."""
    session = thread.world.session
    submission = submission or thread.submission
    opened = open_submission_for_staff(session, thread.triage, submission, now=thread.world.now)
    return thread_for_desk(session, submission, StaffReader(session, signed_in), opened.anchors)


def _submitter_view(submission: Submission, secrets: crypto.CodenameSecrets):
    anchors = open_submission(submission, secrets).anchors
    return thread_for_submitter(submission, secrets, anchors)


def _events(thread: Thread, action: AuditAction) -> list[AuditEvent]:
    return list(
        thread.world.session.scalars(select(AuditEvent).where(AuditEvent.action == str(action)))
    )


def test_a_desk_message_and_a_reply_open_at_both_ends(thread: Thread) -> None:
    session = thread.world.session
    sent = _send(thread, thread.triage)
    reply = reply_plain(
        session,
        thread.submission,
        thread.submitter_secrets,
        {"text": f"  {ANSWERED} "},
        today=dt.date.today(),
    )
    session.commit()

    assert sent.written_by is MessageAuthor.DESK and sent.author_id == thread.triage.user.id
    assert sent.sent_on == thread.world.now.date()
    assert reply.written_by is MessageAuthor.SUBMITTER and reply.author_id is None
    for message in (sent, reply):
        assert message.desk_key_id == thread.world.desk_key.id
        info = crypto.inspect_envelope(message.envelope)
        assert info.context_digest == crypto.context_digest(message_context(message))
        assert message.position == 1 and len(message.signature) == 64
        assert set(info.key_ids) == {
            crypto.key_id(key)
            for key in recipient_keys(thread.world.desk_key, thread.submission.submitter_public_key)
        }
        assert ASKED.encode() not in message.envelope and ANSWERED.encode() not in message.envelope

    desk_view = _desk_view(thread, thread.co_chair)
    assert [(entry.written_by, entry.text, entry.provenance) for entry in desk_view] == [
        (MessageAuthor.DESK, ASKED, Provenance.SIGNED),
        (MessageAuthor.SUBMITTER, ANSWERED, Provenance.SIGNED),
    ]
    assert desk_view[0].author_name == "Triage"
    submitter_view = _submitter_view(thread.submission, thread.submitter_secrets)
    assert [(entry.text, entry.provenance) for entry in submitter_view] == [
        (ASKED, Provenance.SIGNED),
        (ANSWERED, Provenance.SIGNED),
    ]
    assert [entry.public_id for entry in submitter_view] == [sent.public_id, reply.public_id]

    sent_events = _events(thread, AuditAction.MESSAGE_SENT)
    received_events = _events(thread, AuditAction.MESSAGE_RECEIVED)
    assert [event.actor_staff_user_id for event in sent_events] == [thread.triage.user.id]
    assert [event.actor_staff_user_id for event in received_events] == [None]
    for event in sent_events + received_events:
        assert event.details == {"submission_id": thread.submission.id}
        assert ASKED not in str(event.details) and ANSWERED not in str(event.details)
    assert verify_audit_chain(session).intact

    tag_key = crypto.owner_tag_key(thread.submitter_secrets.key_seed)
    summary = desk_messages_by_submission(session, tag_key)
    assert summary[thread.submission.public_id].count == 1


def test_a_reply_sealed_in_the_browser_is_checked_against_its_issued_id(thread: Thread) -> None:
    session = thread.world.session
    submission = thread.submission
    recipients = recipient_keys(thread.world.desk_key, submission.submitter_public_key)
    public_id = new_reply_id(session)
    plaintext = encode_payload({"format": MESSAGE_FORMAT, "text": ANSWERED})
    seed = crypto.derive_submission_keys(
        thread.submitter_secrets.key_seed, submission.public_id
    ).signing_seed

    def sealed(context: str, keys=recipients, signer: bytes = seed) -> tuple[bytes, bytes]:
        envelope = crypto.seal_envelope(plaintext, keys, context)
        return envelope, crypto.sign_item(signer, context, envelope)

    # Sealed for another message id, or to other keys, or signed by another key: refused.
    for envelope, signature in (
        sealed(reply_context(submission, new_public_id())),
        sealed(reply_context(submission, public_id), (recipients[0],)),
        sealed(reply_context(submission, public_id), signer=bytes(32)),
    ):
        with pytest.raises(SubmissionRefusedError):
            reply_sealed(session, submission, public_id, envelope, signature, today=dt.date.today())
    with pytest.raises(SubmissionRefusedError):
        reply_sealed(session, submission, "not an id", b"x", None, today=dt.date.today())

    envelope, signature = sealed(reply_context(submission, public_id))
    with pytest.raises(SubmissionRefusedError):  # unsigned
        reply_sealed(session, submission, public_id, envelope, None, today=dt.date.today())
    reply_sealed(session, submission, public_id, envelope, signature, today=dt.date.today())
    with pytest.raises(SubmissionRefusedError):  # the same id twice: a replay
        reply_sealed(session, submission, public_id, envelope, signature, today=dt.date.today())
    session.commit()
    assert [entry.text for entry in _desk_view(thread, thread.triage)] == [ANSWERED]

    # A browser-sealed envelope that is not a message is stored, but shown as unreadable.
    odd_id = new_reply_id(session)
    odd_context = reply_context(submission, odd_id)
    odd = crypto.seal_envelope(
        encode_payload({"format": "something else", "text": "x"}), recipients, odd_context
    )
    reply_sealed(
        session,
        submission,
        odd_id,
        odd,
        crypto.sign_item(seed, odd_context, odd),
        today=dt.date.today(),
    )
    assert [entry.text for entry in _submitter_view(submission, thread.submitter_secrets)] == [
        ANSWERED,
        None,
    ]
    sealed_items = sealed_thread(submission)
    assert [item.record.context for item in sealed_items] == [
        signed_desk_message_context(
            SubmissionAddress.of(submission), public_id, 1, Direction.TO_DESK
        ),
        odd_context,
    ]
    assert "|position:2|" in odd_context


def test_a_message_opens_under_its_own_context_only(thread: Thread) -> None:
    sent = _send(thread, thread.triage)
    key = submission_private_key(thread.submission, thread.submitter_secrets)
    address = SubmissionAddress.of(thread.submission)
    for context in (
        signed_desk_message_context(address, "x" * 22, 1, Direction.TO_SUBMITTER),
        signed_desk_message_context(address, sent.public_id, 2, Direction.TO_SUBMITTER),
        signed_desk_message_context(address, sent.public_id, 1, Direction.TO_DESK),
    ):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_envelope(sent.envelope, key, context)
    other, other_secrets = _submission(thread.world, AGENDA_FORM)
    # A row moved under another submission is not verified there, and not opened.
    sent.submission = other
    thread.world.session.flush()
    [entry] = _submitter_view(other, other_secrets)
    assert (entry.text, entry.provenance) == (None, Provenance.UNVERIFIED)


def test_the_desk_writes_only_where_the_submitter_agreed_to_contact(thread: Thread) -> None:
    session = thread.world.session
    submission, secrets = _submission(
        thread.world, {**AGENDA_FORM, "contact_through_portal": False}
    )
    opened = open_submission_for_staff(session, thread.triage, submission, now=thread.world.now)
    with pytest.raises(ContactNotAgreedError, match="did not agree to be contacted"):
        send_desk_message(session, thread.triage, opened, {"text": ASKED}, now=thread.world.now)
    assert submission.messages == []
    # The submitter may still write.
    reply_plain(session, submission, secrets, {"text": ANSWERED}, today=dt.date.today())
    assert len(submission.messages) == 1


def test_only_messaging_roles_on_the_desk_write(thread: Thread) -> None:
    world = thread.world
    session = world.session
    administrator = _staff(world, StaffRole.ADMINISTRATOR, "admin", desk=True)
    outsider = _staff(world, StaffRole.TRIAGE_OFFICER, "outsider", desk=False)
    opened = open_submission_for_staff(session, thread.triage, thread.submission, now=world.now)
    for signed_in in (administrator, outsider):
        with pytest.raises(MessageNotAllowedError):
            send_desk_message(session, signed_in, opened, {"text": ASKED}, now=world.now)
    with pytest.raises(PayloadError):
        send_desk_message(session, thread.triage, opened, {"text": "  "}, now=world.now)
    with pytest.raises(PayloadError):
        send_desk_message(session, thread.triage, opened, {"text": "x" * 20_001}, now=world.now)
    assert thread.submission.messages == []
    _send(thread, thread.co_chair)
    assert len(thread.submission.messages) == 1
    # Someone off the desk opens nothing of the thread.
    assert [entry.text for entry in _desk_view(thread, outsider)] == [None]


def test_after_a_rotation_old_messages_stay_readable(thread: Thread) -> None:
    world = thread.world
    session = world.session
    before = _send(thread, thread.triage, "before the rotation")
    new_key, new_private = create_desk_key(
        session,
        world.dialogue,
        world.recovery_key,
        certified_by=crypto.desk_signing_seed(world.desk_private_key),
    )
    world.desk_key.retired_at = world.now
    grant_desk_access(
        session,
        desk_key=new_key,
        desk_private_key=new_private,
        member=thread.triage.user,
        granted_by=None,
    )
    session.flush()
    after = _send(thread, thread.triage, "after the rotation")
    reply = reply_plain(
        session,
        thread.submission,
        thread.submitter_secrets,
        {"text": ANSWERED},
        today=dt.date.today(),
    )
    session.commit()
    assert before.desk_key_id == world.desk_key.id
    assert after.desk_key_id == reply.desk_key_id == new_key.id
    assert [entry.text for entry in _desk_view(thread, thread.triage)] == [
        "before the rotation",
        "after the rotation",
        ANSWERED,
    ]
    # The co-chair holds no grant of the new key yet: the old message opens, the new ones don't.
    assert [entry.text for entry in _desk_view(thread, thread.co_chair)] == [
        "before the rotation",
        None,
        None,
    ]
    # The submission names the desk signing key of its time; the newer key was certified by it
    # at the rotation, so the submitter checks the newer message through that certificate.
    submitter_view = _submitter_view(thread.submission, thread.submitter_secrets)
    assert [(entry.text, entry.provenance) for entry in submitter_view] == [
        ("before the rotation", Provenance.SIGNED),
        ("after the rotation", Provenance.SIGNED),
        (ANSWERED, Provenance.SIGNED),
    ]
    # A certificate a writer made with a key of their own, or none: the newer key is not
    # linked to the named one, and what it signed is shown as unverified, never trusted.
    for certificate in (bytes(64), None):
        new_key.certificate = certificate
        session.flush()
        submitter_view = _submitter_view(thread.submission, thread.submitter_secrets)
        assert [entry.provenance for entry in submitter_view] == [
            Provenance.SIGNED,
            Provenance.UNVERIFIED,
            Provenance.SIGNED,
        ]


def test_deleting_a_submission_deletes_its_messages(thread: Thread) -> None:
    session = thread.world.session
    _send(thread, thread.triage)
    reply_plain(
        session,
        thread.submission,
        thread.submitter_secrets,
        {"text": ANSWERED},
        today=dt.date.today(),
    )
    session.commit()
    storage = EncryptedStorage(thread.world.storage_dir)
    delete_submission(session, storage, thread.submission, today=dt.date.today())
    session.commit()
    assert session.scalar(select(func.count(DeskMessage.id))) == 0
