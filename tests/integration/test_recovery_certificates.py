"""The recovery key as the second certifier of desk keys, on both databases.

A submission names the recovery signing key the instance folder records; a desk key certified by
that key (a dialogue's first, the one made for offline review, one certified later with
``portal dialogue certify``) is trusted by the submitter, one certified by any other recovery key
is not, whatever the database says the instance's recovery key is.
"""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.db import Database
from portal.errors import ConfigurationError
from portal.instance import InstanceFolder
from portal.models import (
    AuditEvent,
    DeskKey,
    PartnerKind,
    StaffRole,
    Submission,
    SubmissionKind,
)
from portal.services.audit.trail import AuditAction
from portal.services.desks.keys import create_desk_key, grant_desk_access
from portal.services.desks.recovery_certificates import (
    RecoveryCertificationError,
    certify_uncertified_desk_keys,
    recovery_signing_public_key,
)
from portal.services.desks.review_mode import switch_to_offline
from portal.services.dialogues.catalogue import create_dialogue
from portal.services.staff.reading import open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import open_submission
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.messages import send_desk_message, thread_for_submitter
from portal.services.submissions.provenance import Provenance
from portal.services.submissions.submitters import register_new_codename
from tests.conftest import ConsultationWorld, PlainInstance, run_portal, staff_account
from tests.intake_support import TEST_SUBMISSION_IDS

FORM = {
    "topics": ["freedom_of_expression"],
    "situation": "Journalists are being detained.",
    "contact_through_portal": True,
}
DIALOGUE = ("--partner-kind", "country", "--kind", "formal")


def _recovery_seed(world: ConsultationWorld) -> bytes:
    return crypto.recovery_signing_seed(world.recovery_private_key)


def _submit(world: ConsultationWorld) -> tuple[Submission, crypto.CodenameSecrets]:
    """A submission sent without JavaScript on an instance that records its recovery key."""
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
        form=FORM,
        today=world.now.date(),
        recovery_signing_key=recovery_signing_public_key(world.recovery_private_key),
    )
    return submission, crypto.derive_codename_secrets(new.codename)


def _message_under_a_new_key(
    world: ConsultationWorld, submission: Submission, certify: Any
) -> tuple[SignedInStaff, DeskKey]:
    """A desk key made by no holder of the one before (as for offline review), certified by
    ``certify(new_key)``, granted to a triage officer who then writes to the submitter."""
    session = world.session
    triage = staff_account(world, StaffRole.TRIAGE_OFFICER)
    new_key, new_private = create_desk_key(session, world.dialogue, world.recovery_key)
    world.desk_key.retired_at = world.now
    certify(new_key)
    for desk_key, private_key in ((world.desk_key, world.desk_private_key), (new_key, new_private)):
        grant_desk_access(
            session,
            desk_key=desk_key,
            desk_private_key=private_key,
            member=triage.user,
            granted_by=None,
        )
    session.flush()
    signed_in = triage.signed_in()
    opened = open_submission_for_staff(session, signed_in, submission, now=world.now)
    send_desk_message(session, signed_in, opened, {"text": "Which prison?"}, now=world.now)
    session.commit()
    return signed_in, new_key


def _submitter_sees(submission: Submission, secrets: crypto.CodenameSecrets) -> list[Provenance]:
    anchors = open_submission(submission, secrets).anchors
    return [entry.provenance for entry in thread_for_submitter(submission, secrets, anchors)]


def test_the_submission_names_the_recovery_signing_key(
    consultation_world: ConsultationWorld,
) -> None:
    submission, secrets = _submit(consultation_world)
    anchors = open_submission(submission, secrets).anchors
    assert anchors.recovery_key == recovery_signing_public_key(
        consultation_world.recovery_private_key
    )


def test_a_first_desk_key_certified_by_the_recovery_key_verifies(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = create_dialogue(
        world.session,
        slug="certified",
        partner="Certified Land",
        partner_kind=PartnerKind.COUNTRY,
        kind=world.dialogue.kind,
        recovery_key=world.recovery_key,
        recovery_signing_seed=_recovery_seed(world),
    )
    world.session.commit()
    desk_key = new.desk_key
    certificate = crypto.DeskKeyCertificate(
        1, desk_key.public_key, desk_key.signing_public_key, desk_key.certificate
    )
    recovery_public = recovery_signing_public_key(world.recovery_private_key)
    assert crypto.verify_desk_key_chain(recovery_public, "certified", [certificate]) == certificate
    assert world.desk_key.certificate is None  # made without the recovery key at hand
    events = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == str(AuditAction.DESK_KEY_CERTIFIED))
    )
    assert [event.object_id for event in events] == [str(desk_key.id)]


def test_the_offline_review_key_is_certified_by_the_recovery_key_when_given(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    outcome = switch_to_offline(
        world.session, world.dialogue, recovery_signing_seed=_recovery_seed(world)
    )
    new_key = outcome.new_key
    crypto.verify_desk_key_certificate(
        recovery_signing_public_key(world.recovery_private_key),
        world.dialogue.slug,
        crypto.DeskKeyCertificate(
            new_key.generation, new_key.public_key, new_key.signing_public_key, new_key.certificate
        ),
    )


def test_a_message_under_a_key_certified_later_by_the_named_recovery_key_verifies(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, secrets = _submit(world)

    def certify(new_key: DeskKey) -> None:
        world.session.flush()
        outcome = certify_uncertified_desk_keys(
            world.session, world.dialogue, world.recovery_private_key
        )
        # The first desk key and the new one, oldest first.
        assert outcome.certified == (1, new_key.generation)
        assert outcome.refused == ()

    _message_under_a_new_key(world, submission, certify)
    assert _submitter_sees(submission, secrets) == [Provenance.SIGNED]


def test_a_certificate_by_another_recovery_key_is_refused_even_if_the_database_names_it(
    consultation_world: ConsultationWorld,
) -> None:
    """A database writer swaps the instance's recovery key row for one of their own and
    certifies a desk key with it: the submission still names the real one, so what that key
    signs is shown unverified and never opened."""
    world = consultation_world
    submission, secrets = _submit(world)
    writer_key = crypto.generate_private_key()
    world.recovery_key.public_key = crypto.public_key_bytes(writer_key)
    world.recovery_key.key_id = crypto.key_id(world.recovery_key.public_key)

    def certify(new_key: DeskKey) -> None:
        world.session.flush()
        certify_uncertified_desk_keys(world.session, world.dialogue, writer_key)

    _message_under_a_new_key(world, submission, certify)
    assert _submitter_sees(submission, secrets) == [Provenance.UNVERIFIED]


def test_the_wrong_recovery_key_certifies_nothing(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    with pytest.raises(RecoveryCertificationError, match="not the recovery key"):
        certify_uncertified_desk_keys(world.session, world.dialogue, crypto.generate_private_key())
    assert world.desk_key.certificate is None


def test_a_swapped_signing_key_column_is_not_certified(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    world.desk_key.signing_public_key = crypto.signing_public_key(bytes(32))
    world.session.flush()
    outcome = certify_uncertified_desk_keys(
        world.session, world.dialogue, world.recovery_private_key
    )
    assert outcome == type(outcome)(certified=(), refused=(1,))
    assert world.desk_key.certificate is None


# --- the command line ---------------------------------------------------------------------------


def _counts(instance: PlainInstance) -> tuple[int, ...]:
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            return _table_counts(session)
    finally:
        database.dispose()


def _table_counts(session: Session) -> tuple[int, ...]:
    certified = select(func.count()).select_from(DeskKey).where(DeskKey.certificate.is_not(None))
    events = select(func.count()).select_from(AuditEvent)
    return (session.scalar(certified) or 0, session.scalar(events) or 0)


def test_init_records_the_recovery_signing_key_in_the_instance_folder(
    plain_instance: PlainInstance,
) -> None:
    folder = InstanceFolder(plain_instance.settings.instance_dir)
    recovery = crypto.import_recovery_key(plain_instance.recovery_key)
    assert folder.load_recovery_signing_key() == recovery_signing_public_key(recovery)


def test_the_commands_refuse_a_wrong_recovery_key_in_one_line(
    plain_instance: PlainInstance,
) -> None:
    folder = InstanceFolder(plain_instance.settings.instance_dir)
    recorded = folder.recovery_signing_key_file.read_bytes()
    wrong = crypto.export_recovery_key(crypto.generate_private_key()) + "\n"
    create = ("dialogue", "create", "--slug", "uncertified", "--partner", "Uncertified")
    assert run_portal(plain_instance.environment, *create, *DIALOGUE).exit_code == 0
    before = _counts(plain_instance)
    commands = [
        ("recovery", "record-signing-key"),
        ("dialogue", "certify", "uncertified"),
        ("dialogue", "create", "--slug", "refused", "--partner", "Refused", *DIALOGUE, "--certify"),
    ]
    for arguments in commands:
        result = run_portal(plain_instance.environment, *arguments, stdin=wrong)
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == "Error: this is not the recovery key of this instance"
    assert _counts(plain_instance) == before
    assert folder.recovery_signing_key_file.read_bytes() == recorded


def test_an_older_instance_records_the_key_and_certifies_its_dialogues(
    plain_instance: PlainInstance,
) -> None:
    folder = InstanceFolder(plain_instance.settings.instance_dir)
    folder.recovery_signing_key_file.unlink()
    assert folder.load_recovery_signing_key() is None
    stdin = plain_instance.recovery_key + "\n"
    create = ("dialogue", "create", "--slug", "older", "--partner", "Older Land", *DIALOGUE)
    result = run_portal(plain_instance.environment, *create)
    assert result.exit_code == 0, result.output
    result = run_portal(plain_instance.environment, "recovery", "record-signing-key", stdin=stdin)
    assert result.exit_code == 0, result.output
    recovery = crypto.import_recovery_key(plain_instance.recovery_key)
    assert folder.load_recovery_signing_key() == recovery_signing_public_key(recovery)
    result = run_portal(plain_instance.environment, "dialogue", "certify", "older", stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "certified with the recovery key: 1." in result.stdout
    result = run_portal(plain_instance.environment, "dialogue", "certify", "older", stdin=stdin)
    assert "certified with the recovery key: none." in result.stdout


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": "parley-recovery-signing-key-v9", "public_key": ""}',
        '{"format": "parley-recovery-signing-key-v1", "public_key": "abcd"}',
    ],
)
def test_a_malformed_recovery_signing_key_record_is_refused(tmp_path, content: str) -> None:
    folder = InstanceFolder(tmp_path)
    folder.recovery_signing_key_file.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="record-signing-key"):
        folder.load_recovery_signing_key()
