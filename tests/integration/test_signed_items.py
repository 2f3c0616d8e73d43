"""Who sealed it, provable: the tests play someone who can write rows, on both databases.

Such a writer holds every public key in the database, so an envelope they seal opens like any
other. What they cannot make is a signature by the submission's key (derived from a codename
they do not hold) or by the desk's key (derived from a private half they do not hold). Each
attack below ends with the item unverified, never used (above all by the handover gate and
``current_consents``), or refused by the database; the readers are the staff reading, the
submitter's no-JavaScript read-back and the desk's and submitter's threads.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import crypto
from portal.models import (
    AuditEvent,
    ConsentChange,
    DeskMessage,
    FurtherInformation,
    MessageAuthor,
    RiskLevel,
    StaffRole,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.audit.trail import AuditAction
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    consent_change_context,
    new_public_id,
    recipient_keys,
    signed_consent_change_context,
    signed_desk_message_context,
    signed_submission_context,
    submission_context,
)
from portal.services.rounds import handover
from portal.services.staff.reading import (
    OpenedForStaff,
    open_attachment_for_staff,
    open_submission_for_staff,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.attachments import (
    EncryptingUpload,
    UploadBudget,
    attach_file,
)
from portal.services.submissions.inbox import (
    add_plain_further_information,
    change_plain_consent,
    current_consents,
    open_submission,
)
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.messages import (
    reply_plain,
    send_desk_message,
    thread_for_desk,
    thread_for_submitter,
)
from portal.services.submissions.payload import decode_payload, encode_payload
from portal.services.submissions.provenance import Provenance, UnverifiedSubmissionError
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.intake_support import TEST_SUBMISSION_IDS, staging_room
from tests.integration.test_messages_services import _staff


def _consent(level: str) -> dict[str, Any]:
    return {"level": level, "given_by": "person", "risks_explained": True}


@dataclass
class Case:
    """A case naming one person, its author's codename keys, and a triage officer."""

    world: ConsultationWorld
    submission: Submission
    secrets: crypto.CodenameSecrets
    officer: SignedInStaff

    def change(self, level: str) -> ConsentChange:
        form = {"person": 0, "consent": _consent(level)}
        return change_plain_consent(
            self.world.session, self.submission, self.secrets, form, today=self.world.now.date()
        )

    def staff_view(self) -> OpenedForStaff:
        session, now = self.world.session, self.world.now
        return open_submission_for_staff(session, self.officer, self.submission, now=now)

    def consent_now(self) -> str | None:
        """The person's consent as the desk reads it, and as the submitter does: the same."""
        desk = current_consents(self.staff_view())[0].get("level")
        own = current_consents(open_submission(self.submission, self.secrets))[0].get("level")
        assert desk == own
        return desk

    def handover_refusal(self) -> str | None:
        return handover.proposal_refusal(
            self.world.session,
            self.submission,
            self.staff_view(),
            self.submission.session,
            today=self.world.now.date(),
        )

    def forge(self, model: type, context: str, level: str, **row: Any) -> Any:
        """What a writer can do: seal a change to the stored public keys and insert the row."""
        world = self.world
        envelope = crypto.seal_envelope(
            encode_payload(
                {"format": "parley-consent-change-v1", "person": 0, "consent": _consent(level)}
            ),
            recipient_keys(world.desk_key, self.submission.submitter_public_key),
            context,
        )
        item = model(
            submission_id=self.submission.id,
            desk_key_id=world.desk_key.id,
            received_on=world.now.date(),
            envelope=envelope,
            **row,
        )
        world.session.add(item)
        world.session.flush()
        world.session.expire(self.submission)
        return item


@pytest.fixture
def case(consultation_world: ConsultationWorld) -> Case:
    world = consultation_world
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    submission = accept_plain_submission(
        world.session,
        address=submission_address(
            world.session,
            dialogue=world.dialogue,
            dialogue_session=world.dialogue_session,
            kind=SubmissionKind.INDIVIDUAL_CASE,
            public_id=TEST_SUBMISSION_IDS.issue(world.now),
            ids=TEST_SUBMISSION_IDS,
            now=world.now,
        ),
        submitter_key=new.secrets,
        form={
            "topics": ["human_rights_defenders"],
            "contact_through_portal": True,
            "persons": [{"name": "A. Defender", "consent": _consent("raise_by_name")}],
            "place": "Capital",
            "situation": "Detained since spring.",
            "relation_to_person": "colleague",
        },
        today=world.now.date(),
    )
    submission.state = SubmissionState.ACCEPTED
    submission.risk_level = RiskLevel.LOW
    officer = _staff(world, StaffRole.TRIAGE_OFFICER, "officer", desk=True)
    world.session.commit()
    return Case(world, submission, new.secrets, officer)


def _unverified_events(case: Case) -> list[dict[str, Any]]:
    events = case.world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == str(AuditAction.ITEM_UNVERIFIED))
    )
    return [event.details for event in events]


def test_the_handover_gate_takes_the_signed_consent_and_nothing_forged(case: Case) -> None:
    case.change("handover_list")
    case.world.session.commit()
    assert case.handover_refusal() is None  # the genuine, signed raise counts

    case.change("internal_only")
    position = 3
    context = signed_consent_change_context(SubmissionAddress.of(case.submission), position)
    # Sealed to the stored public keys by someone without the codename: unsigned, then signed
    # by a key of the writer's own.
    case.forge(ConsentChange, context, "handover_list", position=position)
    forged_signature = crypto.sign_item(secrets.token_bytes(32), context, b"")
    case.forge(
        ConsentChange, context, "handover_list", position=position + 1, signature=forged_signature
    )
    # A v1 change, as if sent before signatures, for a submission that names a signing key.
    case.forge(
        ConsentChange,
        consent_change_context(SubmissionAddress.of(case.submission)),
        "handover_list",
    )

    view = case.staff_view()
    assert [item.provenance for item in view.consent_changes] == [
        Provenance.UNVERIFIED,  # the v1 row has no position: it sorts first, and fails
        Provenance.SIGNED,
        Provenance.SIGNED,
        Provenance.UNVERIFIED,
        Provenance.UNVERIFIED,
    ]
    assert all(item.payload == {} for item in view.consent_changes if not item.usable)
    assert case.consent_now() == "internal_only"
    assert case.handover_refusal() == "a consent change of this case could not be verified"
    assert _unverified_events(case)[-3:] == [{"item": "consent_change"}] * 3


def test_a_replayed_consent_change_is_refused_or_unverified(case: Case) -> None:
    raised = case.change("handover_list")
    case.change("internal_only")
    case.world.session.commit()
    assert case.consent_now() == "internal_only"

    # The raise copied to a new row at its own position: the database refuses the second copy.
    copy = {
        "submission_id": case.submission.id,
        "desk_key_id": raised.desk_key_id,
        "received_on": raised.received_on,
        "envelope": raised.envelope,
        "signature": raised.signature,
    }
    case.world.session.add(ConsentChange(**copy, position=raised.position))
    with pytest.raises(IntegrityError):
        case.world.session.flush()
    case.world.session.rollback()

    # At a free position its signature no longer holds: unverified, and the withdrawal stands.
    case.world.session.add(ConsentChange(**copy, position=3))
    case.world.session.flush()
    case.world.session.expire(case.submission)
    assert [item.provenance for item in case.staff_view().consent_changes] == [
        Provenance.SIGNED,
        Provenance.SIGNED,
        Provenance.UNVERIFIED,
    ]
    assert case.consent_now() == "internal_only"
    assert case.handover_refusal() is not None


def test_a_reordered_history_is_read_in_its_signed_order_or_not_at_all(case: Case) -> None:
    raised = case.change("handover_list")
    withdrawn = case.change("internal_only")
    case.world.session.commit()

    # Rows renumbered: the raise moved to the later row, with its signature and position.
    fields = ("envelope", "signature", "position")
    first, second = ({f: getattr(row, f) for f in fields} for row in (raised, withdrawn))
    for row in (raised, withdrawn):
        row.position = None
    case.world.session.flush()
    for row, values in ((raised, second), (withdrawn, first)):
        for name, value in values.items():
            setattr(row, name, value)
    case.world.session.flush()
    case.world.session.expire(case.submission)
    assert case.consent_now() == "internal_only"  # applied by position, not by row

    # Positions swapped, signatures kept: neither verifies, and neither is used.
    # (The rows now hold: ``raised`` the withdrawal at 2, ``withdrawn`` the raise at 1.)
    raised.position, withdrawn.position = None, None
    case.world.session.flush()
    raised.position, withdrawn.position = 1, 2
    case.world.session.flush()
    case.world.session.expire(case.submission)
    assert [item.provenance for item in case.staff_view().consent_changes] == [
        Provenance.UNVERIFIED
    ] * 2
    assert case.consent_now() == "raise_by_name"
    assert case.handover_refusal() is not None


def test_further_information_moved_or_stripped_of_its_signature_is_not_shown(case: Case) -> None:
    session = case.world.session
    added = add_plain_further_information(
        session, case.submission, case.secrets, {"text": "Moved."}, today=case.world.now.date()
    )
    session.commit()
    added.signature = None
    session.flush()
    session.expire(case.submission)
    [item] = open_submission(case.submission, case.secrets).further_information
    assert (item.provenance, item.payload) == (Provenance.UNVERIFIED, {})
    [item] = case.staff_view().further_information
    assert (item.provenance, item.payload) == (Provenance.UNVERIFIED, {})
    assert _unverified_events(case)[-1] == {"item": "further_information"}


def _forged_desk_message(case: Case, signing_seed: bytes | None, position: int = 1) -> None:
    submission, world = case.submission, case.world
    public_id = new_public_id()
    context = signed_desk_message_context(
        SubmissionAddress.of(submission), public_id, position, Direction.TO_SUBMITTER
    )
    envelope = crypto.seal_envelope(
        encode_payload(
            {"format": "parley-desk-message-v1", "text": "Please send us your full name."}
        ),
        recipient_keys(world.desk_key, submission.submitter_public_key),
        context,
    )
    signature = None if signing_seed is None else crypto.sign_item(signing_seed, context, envelope)
    submission.messages.append(
        DeskMessage(
            public_id=public_id,
            written_by=MessageAuthor.DESK,
            desk_key_id=world.desk_key.id,
            sent_on=world.now.date(),
            envelope=envelope,
            position=position,
            signature=signature,
        )
    )
    world.session.flush()


def _submitter_thread(case: Case) -> list[tuple[str | None, Provenance]]:
    anchors = open_submission(case.submission, case.secrets).anchors
    thread = thread_for_submitter(case.submission, case.secrets, anchors)
    return [(entry.text, entry.provenance) for entry in thread]


def test_a_forged_desk_message_is_never_shown_to_the_submitter(case: Case) -> None:
    world = case.world
    opened = case.staff_view()
    send_desk_message(world.session, case.officer, opened, {"text": "Which prison?"}, now=world.now)
    reply_plain(
        world.session, case.submission, case.secrets, {"text": "North."}, today=world.now.date()
    )
    _forged_desk_message(case, None, position=2)
    _forged_desk_message(case, secrets.token_bytes(32), position=3)
    world.session.commit()

    assert _submitter_thread(case) == [
        ("Which prison?", Provenance.SIGNED),
        ("North.", Provenance.SIGNED),
        (None, Provenance.UNVERIFIED),
        (None, Provenance.UNVERIFIED),
    ]
    desk_view = thread_for_desk(world.session, case.submission, opened.reader, opened.anchors)
    assert [entry.provenance for entry in desk_view] == [Provenance.SIGNED] * 2 + [
        Provenance.UNVERIFIED
    ] * 2


def test_a_swapped_desk_signing_key_signs_nothing_the_submitter_trusts(case: Case) -> None:
    """The writer puts a key of their own beside the desk key and signs with it: the submitter
    checks against the key sealed inside their submission, not the column."""
    world = case.world
    writer_seed = secrets.token_bytes(32)
    named = decode_payload(
        crypto.open_envelope(
            case.submission.envelope,
            world.desk_private_key,
            signed_submission_context(SubmissionAddress.of(case.submission)),
        )
    )["signatures"]["desk_key"]
    assert named == world.desk_key.signing_public_key.hex()
    world.desk_key.signing_public_key = crypto.signing_public_key(writer_seed)
    _forged_desk_message(case, writer_seed)
    world.session.commit()
    assert _submitter_thread(case) == [(None, Provenance.UNVERIFIED)]
    # The next holder to open the desk key puts the copy right, for the forms to come.
    case.staff_view()
    derived = crypto.signing_public_key(crypto.desk_signing_seed(world.desk_private_key))
    assert world.desk_key.signing_public_key == derived


def test_a_swapped_submission_signing_key_makes_the_submission_unreadable(case: Case) -> None:
    """The mirror column is checked against the key sealed inside: a writer who swaps it, to
    sign additions of their own, gets the whole submission refused and the refusal recorded."""
    world = case.world
    case.submission.signing_public_key = crypto.signing_public_key(secrets.token_bytes(32))
    world.session.commit()
    with pytest.raises(UnverifiedSubmissionError):
        case.staff_view()
    assert _unverified_events(case)[-1] == {"item": "submission"}
    with pytest.raises(UnverifiedSubmissionError):
        open_submission(case.submission, case.secrets)


def test_a_signed_submission_made_to_look_older_is_refused(case: Case) -> None:
    """Stripping the signature (and its mirror) to pass for a submission sent before
    signatures: the signatures block inside still names its key."""
    world = case.world
    payload = decode_payload(
        crypto.open_envelope(
            case.submission.envelope,
            world.desk_private_key,
            signed_submission_context(SubmissionAddress.of(case.submission)),
        )
    )
    case.submission.envelope = crypto.seal_envelope(
        encode_payload(payload),
        recipient_keys(world.desk_key, case.submission.submitter_public_key),
        submission_context(SubmissionAddress.of(case.submission)),
    )
    case.submission.signature = case.submission.signing_public_key = None
    world.session.commit()
    with pytest.raises(UnverifiedSubmissionError):
        case.staff_view()


def test_before_signatures_an_unsigned_change_may_lower_consent_only(case: Case) -> None:
    """A submission sent before signatures names no key; its changes prove no author, so one
    that would raise consent is passed over, and one that lowers it counts."""
    world = case.world
    payload = decode_payload(
        crypto.open_envelope(
            case.submission.envelope,
            world.desk_private_key,
            signed_submission_context(SubmissionAddress.of(case.submission)),
        )
    )
    del payload["signatures"]
    old_context = submission_context(SubmissionAddress.of(case.submission))
    case.submission.envelope = crypto.seal_envelope(
        encode_payload(payload),
        recipient_keys(world.desk_key, case.submission.submitter_public_key),
        old_context,
    )
    case.submission.signature = case.submission.signing_public_key = None
    world.session.commit()

    assert case.staff_view().provenance is Provenance.BEFORE_SIGNATURES
    case.forge(
        ConsentChange,
        consent_change_context(SubmissionAddress.of(case.submission)),
        "handover_list",
    )
    assert case.consent_now() == "raise_by_name"
    assert case.handover_refusal() is not None
    case.forge(
        ConsentChange,
        consent_change_context(SubmissionAddress.of(case.submission)),
        "internal_only",
    )
    assert case.consent_now() == "internal_only"
    assert [item.provenance for item in case.staff_view().consent_changes] == [
        Provenance.BEFORE_SIGNATURES
    ] * 2
    # What the submitter adds to it now stays unsigned: there is no key inside to check it with.
    added = add_plain_further_information(
        world.session, case.submission, case.secrets, {"text": "More."}, today=dt.date.today()
    )
    assert (added.position, added.signature) == (None, None)
    assert isinstance(added, FurtherInformation)


def test_an_attachment_whose_keys_record_fails_is_not_offered(case: Case) -> None:
    world = case.world
    storage = EncryptedStorage(world.storage_dir)
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    upload.write(b"evidence")
    attached = attach_file(
        world.session,
        case.submission,
        upload.finish(),
        case.secrets,
        file_name="e.txt",
        content_type="text/plain",
    )
    world.session.commit()
    assert [item.name for item in case.staff_view().attachments] == ["e.txt"]

    attached.signature = bytes(64)
    world.session.flush()
    world.session.expire(case.submission)
    view = case.staff_view()
    assert (view.attachments, view.unverified_attachments) == ((), 1)
    opened = open_attachment_for_staff(
        world.session, case.officer, case.submission, attached.public_id, now=world.now
    )
    assert opened is None
    assert _unverified_events(case)[-1] == {"item": "attachment"}
