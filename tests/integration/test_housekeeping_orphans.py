"""The leftovers of interrupted writes in the storage folder are finished or removed, and only
those: a live upload's file and a file still being written stay."""

import datetime as dt

import crypto
from crypto.stream import encrypted_size
from portal.models import SubmissionKind
from portal.services.housekeeping.orphans import ORPHAN_GRACE, remove_orphaned_partials
from portal.services.submissions.attachments import EncryptingUpload, UploadBudget, attach_file
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_new_codename
from portal.services.submissions.uploads import create_upload
from portal.storage import PARTIAL_PREFIX, EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.intake_support import ROOMY_LIMITS, TEST_SUBMISSION_IDS, staging_room

UPLOAD_PLAINTEXT_BYTES = 256 * 1216  # a padded size (crypto.file_padding)


def _listing(world: ConsultationWorld) -> set[str]:
    return {path.name for path in world.storage_dir.iterdir()}


def _attachment_cut_before_its_rename(world: ConsultationWorld, storage: EncryptedStorage) -> str:
    """A stored submission whose attachment's row committed but whose file kept its temporary
    name: what ``kill -9`` between the commit and the rename leaves."""
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    address = submission_address(
        world.session,
        dialogue=world.dialogue,
        dialogue_session=world.dialogue_session,
        kind=SubmissionKind.AGENDA_INPUT,
        public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ids=TEST_SUBMISSION_IDS,
        now=world.now,
    )
    submission = accept_plain_submission(
        world.session,
        address=address,
        submitter_key=new.secrets,
        form={"situation": "Cut short.", "topics": ["rule_of_law"]},
        today=world.now.date(),
    )
    upload = EncryptingUpload(
        world.session, storage, UploadBudget(), staging_room(world.session, storage)
    )
    upload.write(b"evidence" * 1000)
    attachment = attach_file(
        world.session,
        submission,
        upload.finish(),
        new.secrets,
        file_name="evidence.txt",
        content_type="text/plain",
    )
    world.session.commit()
    name = attachment.storage_name
    storage.path(name).rename(world.storage_dir / f"{PARTIAL_PREFIX}{name}")
    return name


def test_interrupted_writes_are_finished_or_removed_and_live_uploads_stay(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    published = _attachment_cut_before_its_rename(world, storage)
    ciphertext_size = encrypted_size(UPLOAD_PLAINTEXT_BYTES)
    upload = create_upload(
        world.session,
        storage,
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ciphertext_size=ciphertext_size,
        budget_bytes=UPLOAD_PLAINTEXT_BYTES,
        now=world.now,
    ).upload
    stray = world.storage_dir / f"{PARTIAL_PREFIX}{crypto.random_token(24)}"
    stray.write_bytes(b"ciphertext of a form whose transaction never committed")

    removed = remove_orphaned_partials(world.session, storage, idle_for=dt.timedelta(0))

    assert removed == 1
    assert _listing(world) == {published, f"{PARTIAL_PREFIX}{upload.storage_name}"}
    assert storage.open(published).read(8)  # the attachment's file is there under its name


def test_a_file_changed_within_the_grace_is_left_for_a_later_sweep(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    stray = world.storage_dir / f"{PARTIAL_PREFIX}{crypto.random_token(24)}"
    stray.write_bytes(b"a form's attachment still arriving")

    assert remove_orphaned_partials(world.session, storage) == 0
    assert stray.exists()

    later = dt.datetime.now(dt.UTC) + ORPHAN_GRACE + dt.timedelta(seconds=1)
    assert remove_orphaned_partials(world.session, storage, now=later) == 1
    assert not stray.exists()
