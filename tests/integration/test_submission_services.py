"""Accepting submissions from both paths, the inbox, and crypto-shredding on deletion.

Each test runs on a fresh database (SQLite and PostgreSQL) with one open consultation and one
frozen dialogue (``consultation_world``). "Nothing half-stored" is checked by counting the rows
of every table and listing the storage folder before and after a refusal.
"""

import base64
import datetime as dt
import io
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import crypto
from portal.db import sqlite_side_files
from portal.models import (
    AuditEvent,
    Base,
    SessionState,
    Submission,
    SubmissionKind,
    SubmissionState,
    Submitter,
    Topic,
)
from portal.services.audit.trail import AuditAction, verify_audit_chain
from portal.services.contexts import (
    SubmissionAddress,
    further_information_context,
    new_public_id,
    signed_consent_change_context,
    signed_further_information_context,
    signed_identities_context,
    signed_submission_context,
    submission_context,
)
from portal.services.desks.identity_keys import identity_key_of
from portal.services.desks.keys import create_desk_key
from portal.services.storage_quota import LedgerFigures, ledger_figures
from portal.services.submissions.attachments import (
    AttachmentTooLargeError,
    EncryptingUpload,
    UploadBudget,
    attach_file,
)
from portal.services.submissions.inbox import (
    OpenedSubmission,
    SubmissionNotFoundError,
    add_plain_further_information,
    add_sealed_further_information,
    change_plain_consent,
    change_sealed_consent,
    current_consents,
    delete_submission,
    list_inbox,
    open_submission,
    own_submission,
    sealed_submission,
)
from portal.services.submissions.intake import (
    MAX_ENVELOPE_BYTES,
    SealedSubmission,
    SubmissionRefusedError,
    accept_plain_submission,
    accept_sealed_submission,
    submission_address,
)
from portal.services.submissions.payload import (
    PayloadError,
    RoutingMetadata,
    decode_payload,
    encode_payload,
    parse_routing_metadata,
)
from portal.services.submissions.provenance import Anchors, CheckedItem, Provenance
from portal.services.submissions.submitter_keys import submission_private_key
from portal.services.submissions.submitters import (
    NewCodename,
    register_new_codename,
    register_submitter,
)
from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld, true_content
from tests.intake_support import TEST_SUBMISSION_IDS, staging_room

CANARY = "CANARY-7f3a9c-defender-name"


def _case_form(name: str = "A. Defender") -> dict:
    return {
        "topics": ["human_rights_defenders", "detention_and_fair_trial"],
        "contact_through_portal": True,
        "women_hrd": True,
        "persons": [
            {
                "name": name,
                "consent": {
                    "level": "raise_by_name",
                    "given_by": "family",
                    "risks_explained": True,
                },
            }
        ],
        "place": "Capital",
        "situation": f"Detained since spring. {name}",
        "relation_to_person": "colleague",
    }


def _browser_codename_key() -> crypto.CodenameSecrets:
    """What a codename a browser made would derive to (the codename itself is never needed)."""
    return crypto.CodenameSecrets(
        login_secret=secrets.token_bytes(32), key_seed=secrets.token_bytes(32)
    )


def _browser_submitter(world: ConsultationWorld) -> tuple[Submitter, crypto.CodenameSecrets]:
    """A submitter registered as a browser does, and what their codename would derive to."""
    codename_key = _browser_codename_key()
    submitter = register_submitter(
        world.session,
        world.pepper,
        login_secret=codename_key.login_secret,
        public_key=codename_key.public_key_bytes(),
        today=world.now.date(),
    )
    return submitter, codename_key


def _signing_key(codename_key: crypto.CodenameSecrets, address: SubmissionAddress) -> bytes:
    """The signing key a browser derives for the submission at ``address``."""
    return crypto.derive_submission_keys(
        codename_key.key_seed, address.public_id
    ).signing_public_key()


def _signature(
    codename_key: crypto.CodenameSecrets, address: SubmissionAddress, envelope: bytes
) -> bytes:
    """The browser's signature of a submission envelope for ``address``."""
    seed = crypto.derive_submission_keys(codename_key.key_seed, address.public_id).signing_seed
    return crypto.sign_item(seed, signed_submission_context(address), envelope)


def _tag_key(codename_key: crypto.CodenameSecrets) -> bytes:
    return crypto.owner_tag_key(codename_key.key_seed)


def _own_key(codename_key: crypto.CodenameSecrets, address: SubmissionAddress) -> bytes:
    """The public key a browser derives for the submission at ``address`` and seals to."""
    return crypto.derive_submission_keys(
        codename_key.key_seed, address.public_id
    ).public_key_bytes()


def _codename_submitter(world: ConsultationWorld) -> NewCodename:
    return register_new_codename(world.session, world.pepper, language="en", today=world.now.date())


def _send_plain(
    world: ConsultationWorld, new: NewCodename, address: SubmissionAddress, form: dict
) -> Submission:
    """``form`` sent by ``new``'s codename through the no-JavaScript intake, to ``address``."""
    return accept_plain_submission(
        world.session,
        address=address,
        submitter_key=new.secrets,
        form=form,
        today=world.now.date(),
    )


def _address(world: ConsultationWorld, kind=SubmissionKind.INDIVIDUAL_CASE) -> SubmissionAddress:
    dialogue_session = None if kind is SubmissionKind.REPRISAL_REPORT else world.dialogue_session
    return submission_address(
        world.session,
        dialogue=world.dialogue,
        dialogue_session=dialogue_session,
        kind=kind,
        public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ids=TEST_SUBMISSION_IDS,
        now=world.now,
    )


def _sealed(world: ConsultationWorld, own_key: bytes, context: str, recipients=None) -> bytes:
    keys = recipients or [world.desk_key.public_key, own_key]
    return crypto.seal_envelope(b'{"format":"parley-submission-v1"}', keys, context)


def _identities(
    world: ConsultationWorld, codename_key: crypto.CodenameSecrets, address: SubmissionAddress
) -> dict[str, bytes]:
    """An identities envelope and its signature as the browser makes them for a case."""
    keys = crypto.derive_submission_keys(codename_key.key_seed, address.public_id)
    context = signed_identities_context(address)
    envelope = crypto.seal_envelope(
        b'{"format":"parley-identities-v1","persons":[]}',
        [identity_key_of(world.session, world.desk_key).public_key, keys.public_key_bytes()],
        context,
    )
    return {
        "identities_envelope": envelope,
        "identities_signature": crypto.sign_item(keys.signing_seed, context, envelope),
    }


def _no_routing() -> RoutingMetadata:
    return RoutingMetadata(topic_tags=(), urgent=False)


def accept_signed(
    world: ConsultationWorld,
    submitter: Submitter,
    codename_key: crypto.CodenameSecrets,
    address: SubmissionAddress,
    envelope: bytes,
    **more: Any,
) -> SealedSubmission:
    """``envelope`` sent by a browser as ``codename_key``'s submission at ``address``: sealed to
    its own key and signed with its signing key, without routing metadata, under the codename's
    owner tag key unless ``more`` gives another."""
    return accept_sealed_submission(
        world.session,
        address=address,
        codename_public_key=submitter.public_key,
        submitter_public_key=_own_key(codename_key, address),
        signing_public_key=_signing_key(codename_key, address),
        envelope=envelope,
        signature=_signature(codename_key, address, envelope),
        routing=_no_routing(),
        today=world.now.date(),
        **{"owner_tag_key": _tag_key(codename_key), **more},
    )


def _row_counts(world: ConsultationWorld) -> dict[str, int]:
    return {
        name: world.session.scalar(select(func.count()).select_from(table))
        for name, table in Base.metadata.tables.items()
    }


def _storage_files(world: ConsultationWorld) -> list[Path]:
    return sorted(world.storage_dir.iterdir())


def _refused_without_trace(world: ConsultationWorld, attempt, error=SubmissionRefusedError) -> str:
    """Run ``attempt``, expect ``error``, roll back, and check no row or file was added."""
    world.session.commit()
    rows, files = _row_counts(world), _storage_files(world)
    with pytest.raises(error) as refusal:
        attempt()
    world.session.rollback()
    assert (_row_counts(world), _storage_files(world)) == (rows, files)
    return str(refusal.value)


# --- the JavaScript path -----------------------------------------------------------------------


def test_a_browser_sealed_submission_is_stored_and_opens_for_desk_and_submitter(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)
    envelope = _sealed(world, _own_key(codename_key, address), signed_submission_context(address))
    routing = parse_routing_metadata(["rule_of_law"], urgent=False)

    sealed = accept_sealed_submission(
        world.session,
        address=address,
        codename_public_key=submitter.public_key,
        owner_tag_key=crypto.owner_tag_key(codename_key.key_seed),
        submitter_public_key=_own_key(codename_key, address),
        signing_public_key=_signing_key(codename_key, address),
        envelope=envelope,
        signature=_signature(codename_key, address, envelope),
        routing=routing,
        today=world.now.date(),
        **_identities(world, codename_key, address),
    )
    world.session.commit()

    submission = world.session.get_one(Submission, sealed.row.id)
    assert (submission.state, submission.topic_tags) == (SubmissionState.RECEIVED, ["rule_of_law"])
    assert submission.session_id == world.dialogue_session.id
    assert submission.submitter_public_key == _own_key(codename_key, address)
    assert submission.submitter_public_key != submitter.public_key
    context = signed_submission_context(SubmissionAddress.of(submission))
    for key in (world.desk_private_key, submission_private_key(submission, codename_key)):
        assert crypto.open_envelope(submission.envelope, key, context).startswith(b"{")


@pytest.mark.parametrize(
    "wrong_context",
    [
        lambda a: signed_submission_context(
            SubmissionAddress(a.dialogue, None, a.kind, a.public_id)
        ),
        lambda a: signed_submission_context(
            SubmissionAddress(
                a.dialogue, a.dialogue_session, SubmissionKind.AGENDA_INPUT, a.public_id
            )
        ),
        lambda a: signed_submission_context(
            SubmissionAddress(a.dialogue, a.dialogue_session, a.kind, new_public_id())
        ),
        lambda a: further_information_context(a),
    ],
    ids=["other session", "other kind", "other submission", "other record type"],
)
def test_an_envelope_for_another_context_is_refused(
    consultation_world: ConsultationWorld, wrong_context
) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)
    envelope = _sealed(world, _own_key(codename_key, address), wrong_context(address))

    message = _refused_without_trace(
        world,
        lambda: accept_signed(world, submitter, codename_key, address, envelope),
    )
    assert "another form" in message


def test_an_envelope_for_another_dialogue_is_refused(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world, SubmissionKind.REPRISAL_REPORT)
    elsewhere = SubmissionAddress(world.frozen_dialogue, None, address.kind, address.public_id)
    envelope = _sealed(world, _own_key(codename_key, address), signed_submission_context(elsewhere))

    _refused_without_trace(
        world,
        lambda: accept_signed(world, submitter, codename_key, address, envelope),
    )


def test_recipients_must_be_exactly_the_current_desk_key_and_the_submitter(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)
    context = signed_submission_context(address)
    old_desk_key = world.desk_key.public_key
    new_desk_key, _private = create_desk_key(world.session, world.dialogue, world.recovery_key)
    world.desk_key.retired_at = world.now
    world.session.commit()
    own = _own_key(codename_key, address)
    wrong_recipient_lists = [
        [own],
        [new_desk_key.public_key],
        [old_desk_key, own],
        [new_desk_key.public_key, own, world.recovery_key.public_key],
        # The codename's own key would link the submission to the submitter's others.
        [new_desk_key.public_key, submitter.public_key],
    ]
    sealed_as_named = [new_desk_key.public_key, submitter.public_key]
    attempts = [(own, _sealed(world, own, context, keys)) for keys in wrong_recipient_lists]
    attempts.append((submitter.public_key, _sealed(world, own, context, sealed_as_named)))

    for named_key, envelope in attempts:
        message = _refused_without_trace(
            world,
            lambda named_key=named_key, envelope=envelope: accept_sealed_submission(
                world.session,
                address=address,
                codename_public_key=submitter.public_key,
                owner_tag_key=crypto.owner_tag_key(codename_key.key_seed),
                submitter_public_key=named_key,
                signing_public_key=_signing_key(codename_key, address),
                envelope=envelope,
                signature=_signature(codename_key, address, envelope),
                routing=_no_routing(),
                today=world.now.date(),
            ),
        )
        assert "wrong keys" in message
    right = _sealed(world, own, context, [new_desk_key.public_key, own])
    stored = accept_signed(world, submitter, codename_key, address, right).row
    assert world.session.get_one(Submission, stored.id).desk_key_id == new_desk_key.id


@pytest.mark.parametrize(
    "envelope",
    [b"", b"PRLE" + bytes(300), bytes(MAX_ENVELOPE_BYTES + 1)],
    ids=["empty", "forged", "oversized"],
)
def test_what_is_not_an_acceptable_envelope_is_refused(
    consultation_world: ConsultationWorld, envelope: bytes
) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)

    _refused_without_trace(
        world,
        lambda: accept_signed(world, submitter, codename_key, address, envelope),
    )


def test_a_public_id_is_used_once(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)
    envelope = _sealed(world, _own_key(codename_key, address), signed_submission_context(address))
    identities = _identities(world, codename_key, address)
    accept_signed(world, submitter, codename_key, address, envelope, **identities)

    for public_id, refusal in (
        (address.public_id, "already been sent"),
        ("not-an-id", "has expired"),
        (new_public_id(), "has expired"),
        (TEST_SUBMISSION_IDS.issue(world.now - dt.timedelta(hours=26)), "has expired"),
    ):
        with pytest.raises(SubmissionRefusedError, match=refusal):
            submission_address(
                world.session,
                dialogue=world.dialogue,
                dialogue_session=world.dialogue_session,
                kind=address.kind,
                public_id=public_id,
                ids=TEST_SUBMISSION_IDS,
                now=world.now,
            )


def test_only_a_reprisal_report_is_marked_urgent(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    submitter, codename_key = _browser_submitter(world)
    address = _address(world)
    envelope = _sealed(world, _own_key(codename_key, address), signed_submission_context(address))

    _refused_without_trace(
        world,
        lambda: accept_sealed_submission(
            world.session,
            address=address,
            codename_public_key=submitter.public_key,
            owner_tag_key=crypto.owner_tag_key(codename_key.key_seed),
            submitter_public_key=_own_key(codename_key, address),
            signing_public_key=_signing_key(codename_key, address),
            envelope=envelope,
            signature=_signature(codename_key, address, envelope),
            routing=RoutingMetadata(topic_tags=(), urgent=True),
            today=world.now.date(),
        ),
    )
    with pytest.raises(PayloadError):
        parse_routing_metadata(["not_a_theme"], urgent=False)


# --- where a submission may go ------------------------------------------------------------------


def _address_for(world: ConsultationWorld, kind, dialogue=None, dialogue_session=None, now=None):
    return submission_address(
        world.session,
        dialogue=dialogue or world.dialogue,
        dialogue_session=dialogue_session,
        kind=kind,
        public_id=TEST_SUBMISSION_IDS.issue(now or world.now),
        ids=TEST_SUBMISSION_IDS,
        now=now or world.now,
    )


def test_a_closed_consultation_accepts_nothing_but_reprisal_reports(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    after_close = world.dialogue_session.consultation_closes_at + dt.timedelta(seconds=1)

    with pytest.raises(SubmissionRefusedError, match="not open"):
        _address_for(world, SubmissionKind.AGENDA_INPUT, None, world.dialogue_session, after_close)
    world.dialogue_session.state = SessionState.CONSULTATION_CLOSED
    with pytest.raises(SubmissionRefusedError, match="not open"):
        _address_for(world, SubmissionKind.SEMINAR_RECOMMENDATIONS, None, world.dialogue_session)
    with pytest.raises(SubmissionRefusedError, match="choose a session"):
        _address_for(world, SubmissionKind.INDIVIDUAL_CASE)
    reprisal = _address_for(world, SubmissionKind.REPRISAL_REPORT, now=after_close)
    assert reprisal.dialogue_session is None
    with pytest.raises(SubmissionRefusedError, match="not a session"):
        _address_for(world, SubmissionKind.REPRISAL_REPORT, None, world.dialogue_session)


def test_a_frozen_dialogue_accepts_nothing(consultation_world: ConsultationWorld) -> None:
    world = consultation_world

    with pytest.raises(SubmissionRefusedError, match="frozen"):
        _address_for(world, SubmissionKind.REPRISAL_REPORT, world.frozen_dialogue)
    with pytest.raises(SubmissionRefusedError):
        _address_for(world, SubmissionKind.AGENDA_INPUT, world.frozen_dialogue)


# --- the no-JavaScript path ---------------------------------------------------------------------


def test_a_plain_form_is_validated_field_by_field(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    form = _case_form()
    form["persons"][0]["consent"]["risks_explained"] = False
    form["persons"].append({"name": "", "consent": {"level": "everything"}})
    form["topics"] = ["not_a_theme"]
    del form["situation"]
    address = _address(world)

    with pytest.raises(PayloadError) as refusal:
        _send_plain(world, new, address, form)

    assert set(refusal.value.errors) == {
        "topics",
        "situation",
        "persons.0.consent.risks_explained",
        "persons.1.name",
        "persons.1.consent.level",
        "persons.1.consent.given_by",
        "persons.1.consent.risks_explained",
    }


def test_seminar_recommendations_take_a_list_of_rows(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    rows = [
        {"text": f"Recommendation {n}", "addressee": "partner", "topic": "children"}
        for n in range(30)
    ]
    form = {"seminar": "Civil-society seminar, spring", "recommendations": rows}

    submission = _send_plain(
        world, new, _address(world, SubmissionKind.SEMINAR_RECOMMENDATIONS), form
    )

    payload = open_submission(submission, new.secrets).payload
    assert [row["text"] for row in payload["recommendations"]] == [r["text"] for r in rows]
    with pytest.raises(PayloadError) as refusal:
        _send_plain(
            world,
            new,
            _address(world, SubmissionKind.SEMINAR_RECOMMENDATIONS),
            {"seminar": "x", "recommendations": [{"text": "t", "addressee": "a"}]},
        )
    assert set(refusal.value.errors) == {"recommendations.0.topic"}


def test_an_urgent_reprisal_report_is_routed_as_urgent(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    form = {
        "what_happened": "Passport confiscated after the last dialogue.",
        "when": "last week",
        "link_to_engagement": "spoke at the seminar",
        "urgency": "urgent",
        "topics": ["human_rights_defenders"],
    }

    submission = _send_plain(world, new, _address(world, SubmissionKind.REPRISAL_REPORT), form)

    assert (submission.urgent, submission.session_id) == (True, None)
    assert submission.topic_tags == [Topic.HUMAN_RIGHTS_DEFENDERS.value]


def _everything_stored(world: ConsultationWorld) -> bytes:
    """Every value of every row of every table, every file under the instance folder, and on
    SQLite the database file with its write-ahead log."""
    pieces = []
    for table in Base.metadata.sorted_tables:
        for row in world.session.execute(select(table)):
            pieces.extend(repr(value).encode() for value in row)
            pieces.extend(value for value in row if isinstance(value, bytes))
    for path in world.instance_dir.rglob("*"):
        if path.is_file():
            pieces.append(path.read_bytes())
    if world.database_file is not None:
        for path in [world.database_file, *sqlite_side_files(world.database_file)]:
            pieces.append(path.read_bytes())
    return b"\n".join(pieces)


def test_the_canary_typed_without_javascript_is_stored_nowhere(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    storage = EncryptedStorage(world.storage_dir)
    submission = _send_plain(world, new, _address(world), _case_form(name=CANARY))
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    for _ in range(3):
        upload.write((CANARY * 5000).encode())
    attach_file(
        world.session,
        submission,
        upload.finish(),
        new.secrets,
        file_name=f"{CANARY}.txt",
        content_type="text/plain",
    )
    add_plain_further_information(
        world.session,
        submission,
        new.secrets,
        {"text": f"more about {CANARY}"},
        today=world.now.date(),
    )
    world.session.commit()

    stored = _everything_stored(world)

    assert len(_storage_files(world)) == 1
    for form in (CANARY, CANARY.lower(), CANARY.encode("utf-16-le").decode("latin-1")):
        assert form.encode("latin-1") not in stored
    assert CANARY in open_submission(submission, new.secrets).payload["persons"][0]["name"]


# --- attachments --------------------------------------------------------------------------------


def test_an_attachment_is_encrypted_as_it_is_read_and_opens_with_its_sealed_key(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    storage = EncryptedStorage(world.storage_dir)
    submission = _send_plain(world, new, _address(world), _case_form())
    content = secrets.token_bytes(200_000)
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    for offset in range(0, len(content), 8192):
        upload.write(content[offset : offset + 8192])
    attachment = attach_file(
        world.session,
        submission,
        upload.finish(),
        new.secrets,
        file_name="scan.pdf",
        content_type="application/pdf",
    )
    assert _storage_files(world)[0].name.startswith(".partial-")
    world.session.commit()

    record = sealed_submission(submission).attachment_keys[0]
    keys = decode_payload(
        crypto.open_envelope(record.envelope, world.desk_private_key, record.context)
    )
    assert (keys["name"], keys["type"], keys["size"]) == (
        "scan.pdf",
        "application/pdf",
        len(content),
    )
    # Stored padded to its bucket (200 704 bytes); only the sealed record has the true size.
    assert attachment.ciphertext_size == crypto.encrypted_size(200_704)
    plaintext = io.BytesIO()
    with storage.open(attachment.storage_name) as encrypted:
        crypto.decrypt_file(encrypted, plaintext, base64.b64decode(keys["key"]))
    assert true_content(plaintext.getvalue(), keys) == content


def test_attachments_over_the_limit_are_refused_mid_stream_leaving_nothing(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    storage = EncryptedStorage(world.storage_dir)
    budget = UploadBudget(limit=300_000)

    def oversized_submission() -> None:
        submission = _send_plain(world, new, _address(world), _case_form())
        first = EncryptingUpload(
            world.session, storage, budget, staging_room(world.session, storage)
        )
        first.write(bytes(200_000))
        attach_file(
            world.session,
            submission,
            first.finish(),
            new.secrets,
            file_name="a",
            content_type="x/y",
        )
        second = EncryptingUpload(
            world.session, storage, budget, staging_room(world.session, storage)
        )
        second.write(bytes(65_536))
        assert len(_storage_files(world)) == 2
        second.write(bytes(65_536))

    message = _refused_without_trace(world, oversized_submission, AttachmentTooLargeError)
    assert "in all" in message
    assert _storage_files(world) == []


# --- the inbox ----------------------------------------------------------------------------------


def test_the_inbox_lists_reads_back_and_adds_further_information(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    submission = _send_plain(world, new, _address(world), _case_form())
    _, other = _browser_submitter(world)
    world.session.commit()

    entries = list_inbox(world.session, _tag_key(new.secrets))
    assert [(e.public_id, e.state, e.dialogue_slug) for e in entries] == [
        (submission.public_id, SubmissionState.RECEIVED, "valdoria")
    ]
    assert list_inbox(world.session, _tag_key(other)) == []
    with pytest.raises(SubmissionNotFoundError):
        own_submission(world.session, _tag_key(other), submission.public_id)
    mine = own_submission(world.session, _tag_key(new.secrets), submission.public_id)
    add_plain_further_information(
        world.session, mine, new.secrets, {"text": "He was moved."}, today=world.now.date()
    )
    context = signed_further_information_context(SubmissionAddress.of(mine), 2)
    sealed_info = crypto.seal_envelope(
        b'{"format":"parley-further-information-v1","text":"And then released."}',
        [world.desk_key.public_key, mine.submitter_public_key],
        context,
    )
    seed = crypto.derive_submission_keys(new.secrets.key_seed, mine.public_id).signing_seed
    signature = crypto.sign_item(seed, context, sealed_info)
    for wrong in (None, bytes(64), signature[:-1] + bytes([signature[-1] ^ 1])):
        with pytest.raises(SubmissionRefusedError):
            add_sealed_further_information(
                world.session, mine, sealed_info, wrong, today=world.now.date()
            )
    add_sealed_further_information(
        world.session, mine, sealed_info, signature, today=world.now.date()
    )
    elsewhere = _sealed(world, mine.submitter_public_key, "elsewhere")
    with pytest.raises(SubmissionRefusedError):
        add_sealed_further_information(
            world.session,
            mine,
            elsewhere,
            crypto.sign_item(seed, "elsewhere", elsewhere),
            today=world.now.date(),
        )
    with pytest.raises(PayloadError):
        add_plain_further_information(
            world.session, mine, new.secrets, {"text": "  "}, today=world.now.date()
        )

    opened = open_submission(mine, new.secrets)
    assert opened.payload["persons"][0]["name"] == "A. Defender"
    assert [item.payload["text"] for item in opened.further_information] == [
        "He was moved.",
        "And then released.",
    ]


def test_each_submission_of_a_submitter_is_sealed_to_its_own_key(
    consultation_world: ConsultationWorld,
) -> None:
    """No stored key links two submissions of one codename, nor one to the codename's key."""
    world = consultation_world
    new = _codename_submitter(world)
    submissions = [_send_plain(world, new, _address(world), _case_form()) for _ in range(3)]
    world.session.commit()

    keys = [bytes(submission.submitter_public_key) for submission in submissions]
    assert len(set(keys)) == len(keys)
    assert new.submitter.public_key not in keys
    for submission in submissions:
        derived = crypto.derive_submission_keys(new.secrets.key_seed, submission.public_id)
        assert submission.submitter_public_key == derived.public_key_bytes()
        context = signed_submission_context(SubmissionAddress.of(submission))
        with pytest.raises(crypto.DecryptionError):
            crypto.open_envelope(submission.envelope, new.secrets.private_key(), context)
        assert open_submission(submission, new.secrets).payload["persons"][0]["name"]


def test_the_submitter_opens_with_the_key_the_row_names_derived_or_legacy(
    consultation_world: ConsultationWorld,
) -> None:
    """New rows open with the derived key; a row stored before per-submission keys names the
    codename's own key and opens with it; a row naming neither opens with nothing."""
    world = consultation_world
    new = _codename_submitter(world)
    submission = _send_plain(world, new, _address(world), _case_form())
    derived = crypto.derive_submission_keys(new.secrets.key_seed, submission.public_id)
    chosen = submission_private_key(submission, new.secrets)
    assert crypto.private_key_bytes(chosen) == derived.key_seed

    address = SubmissionAddress.of(submission)
    signed = crypto.open_envelope(submission.envelope, chosen, signed_submission_context(address))
    payload = decode_payload(signed)
    del payload["signatures"]  # a row of that release was not signed either
    plaintext = encode_payload(payload)
    submission.submitter_public_key = new.submitter.public_key
    submission.signature = submission.signing_public_key = None
    submission.envelope = crypto.seal_envelope(
        plaintext,
        [world.desk_key.public_key, new.submitter.public_key],
        submission_context(address),
    )
    submission.identity = None  # rows of that time kept the names in the submission envelope
    world.session.commit()
    chosen = submission_private_key(submission, new.secrets)
    assert crypto.private_key_bytes(chosen) == new.secrets.key_seed
    assert open_submission(submission, new.secrets).payload == decode_payload(plaintext)

    _other, stranger = _browser_submitter(world)
    with pytest.raises(crypto.DecryptionError):
        submission_private_key(submission, stranger)
    submission.submitter_public_key = stranger.public_key_bytes()
    with pytest.raises(crypto.DecryptionError):
        submission_private_key(submission, new.secrets)
    world.session.rollback()


def test_consent_is_changed_per_named_person(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    case = _send_plain(world, new, _address(world), _case_form())
    lower = {"level": "internal_only", "given_by": "person", "risks_explained": True}

    change_plain_consent(
        world.session, case, new.secrets, {"person": 0, "consent": lower}, today=world.now.date()
    )
    with pytest.raises(PayloadError) as refusal:
        change_plain_consent(
            world.session,
            case,
            new.secrets,
            {"person": 1, "consent": lower},
            today=world.now.date(),
        )
    assert set(refusal.value.errors) == {"person"}
    context = signed_consent_change_context(SubmissionAddress.of(case), 2)
    sealed_change = crypto.seal_envelope(
        b"{}", [world.desk_key.public_key, case.submitter_public_key], context
    )
    seed = crypto.derive_submission_keys(new.secrets.key_seed, case.public_id).signing_seed
    change_sealed_consent(
        world.session,
        case,
        sealed_change,
        crypto.sign_item(seed, context, sealed_change),
        today=world.now.date(),
    )

    assert [change.received_on for change in case.consent_changes] == [world.now.date()] * 2
    assert [change.position for change in case.consent_changes] == [1, 2]
    desk_view = crypto.open_envelope(
        case.consent_changes[0].envelope,
        world.desk_private_key,
        signed_consent_change_context(SubmissionAddress.of(case), 1),
    )
    assert decode_payload(desk_view)["consent"]["level"] == "internal_only"
    agenda = _send_plain(
        world,
        new,
        _address(world, SubmissionKind.AGENDA_INPUT),
        {"topics": ["rule_of_law"], "situation": "s"},
    )
    with pytest.raises(SubmissionRefusedError, match="only cases"):
        change_plain_consent(
            world.session,
            agenda,
            new.secrets,
            {"person": 0, "consent": lower},
            today=world.now.date(),
        )


def test_deleting_a_submission_shreds_every_envelope_and_file(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    storage = EncryptedStorage(world.storage_dir)
    case = _send_plain(world, new, _address(world), _case_form())
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    upload.write(b"evidence")
    attach_file(
        world.session,
        case,
        upload.finish(),
        new.secrets,
        file_name="e.txt",
        content_type="text/plain",
    )
    add_plain_further_information(
        world.session, case, new.secrets, {"text": "more"}, today=world.now.date()
    )
    lower = {"level": "internal_only", "given_by": "person", "risks_explained": True}
    change_plain_consent(
        world.session, case, new.secrets, {"person": 0, "consent": lower}, today=world.now.date()
    )
    world.session.commit()
    assert len(_storage_files(world)) == 1
    stored = case.attachments[0].ciphertext_size
    # The storage quota counts the kept file as stored (storage_quota.StagingRoom).
    assert ledger_figures(world.session) == LedgerFigures(stored, 0)
    envelopes = [
        case.envelope,
        case.further_information[0].envelope,
        case.consent_changes[0].envelope,
        case.attachments[0].keys_envelope,
    ]

    delete_submission(world.session, storage, case, today=world.now.date())
    assert len(_storage_files(world)) == 1
    world.session.commit()

    assert _storage_files(world) == []
    assert ledger_figures(world.session) == LedgerFigures(0, 0)
    counts = _row_counts(world)
    assert [
        counts[t] for t in ("submissions", "further_information", "consent_changes", "attachments")
    ] == [0, 0, 0, 0]
    stored = _everything_stored(world)
    assert not any(envelope in stored for envelope in envelopes)
    [entry] = list_inbox(world.session, _tag_key(new.secrets))
    assert (entry.public_id, entry.kind, entry.state, entry.deleted_on) == (
        case.public_id,
        SubmissionKind.INDIVIDUAL_CASE,
        None,
        world.now.date(),
    )
    event = world.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
    assert (event.action, event.details) == (
        AuditAction.SUBMISSION_DELETED.value,
        {"kind": "individual_case", "by": "submitter"},
    )
    assert verify_audit_chain(world.session).intact
    with pytest.raises(SubmissionRefusedError, match="already been sent"):
        submission_address(
            world.session,
            dialogue=world.dialogue,
            dialogue_session=world.dialogue_session,
            kind=SubmissionKind.INDIVIDUAL_CASE,
            public_id=case.public_id,
            ids=TEST_SUBMISSION_IDS,
            now=world.now,
        )


def test_a_failed_deletion_keeps_the_files(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    new = _codename_submitter(world)
    storage = EncryptedStorage(world.storage_dir)
    case = _send_plain(world, new, _address(world), _case_form())
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    upload.write(b"evidence")
    attach_file(
        world.session,
        case,
        upload.finish(),
        new.secrets,
        file_name="e.txt",
        content_type="text/plain",
    )
    world.session.commit()

    delete_submission(world.session, storage, case, today=world.now.date())
    world.session.rollback()

    assert len(_storage_files(world)) == 1
    assert world.session.scalar(select(func.count()).select_from(Submission)) == 1


@pytest.mark.parametrize(
    "sent",
    [
        {"level": "handover_list", "given_by": "person", "risks_explained": False},
        {"level": "handover_list", "given_by": "person"},
        {"level": "handover_list", "given_by": "a neighbour", "risks_explained": True},
        {"level": "everything", "given_by": "person", "risks_explained": True},
        "handover_list",
        None,
    ],
)
def test_a_browser_sealed_consent_that_breaks_the_rule_counts_as_none(sent) -> None:
    """The server cannot check a sealed submission on arrival, so it holds the consent as sent
    to the rule when it reads it: without the risks explained, or off the ladder, it is none."""
    valid = {"level": "raise_by_name", "given_by": "family", "risks_explained": True}
    opened = OpenedSubmission(
        payload={"persons": [{"name": "A", "consent": sent}, {"name": "B", "consent": valid}]},
        provenance=Provenance.SIGNED,
        anchors=Anchors(bytes(32), None),
        further_information=(),
        consent_changes=(),
    )
    assert current_consents(opened) == ({}, valid)

    repaired = {"format": "parley-consent-change-v1", "person": 0, "consent": valid}
    later = replace(opened, consent_changes=(CheckedItem(repaired, Provenance.SIGNED),))
    assert current_consents(later) == (valid, valid)
