"""``portal purge`` and ``portal dialogue retention`` at the command line, on both databases.

The purge prints counts per kind and bytes freed, never an id, a name or a date; ``--dry-run``
removes nothing. Retention is shown and set, and refused outside its ranges.
"""

import datetime as dt
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.db import Database
from portal.instance import InstanceFolder
from portal.models import Dialogue, DialogueKind, PartnerKind, RecoveryKey, Upload, utc_now
from portal.services.dialogues.catalogue import create_dialogue
from portal.services.submissions.uploads import append_chunk, create_upload
from portal.storage import EncryptedStorage
from tests.conftest import PlainInstance, run_portal
from tests.intake_support import ROOMY_LIMITS, TEST_SUBMISSION_IDS


@pytest.fixture
def database(plain_instance: PlainInstance) -> Iterator[Session]:
    handle = Database(plain_instance.settings.database_url)
    try:
        with handle.session() as session:
            yield session
    finally:
        handle.dispose()


def _expired_upload(instance: PlainInstance, session: Session, size: int) -> Upload:
    storage = EncryptedStorage(InstanceFolder(instance.settings.instance_dir).storage_dir)
    upload = create_upload(
        session,
        storage,
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(utc_now() - dt.timedelta(hours=26)),
        ciphertext_size=crypto.encrypted_size(65536),
        budget_bytes=10**9,
        now=utc_now() - dt.timedelta(hours=26),
    ).upload
    body = io.BytesIO(b"\x07" * size)
    append_chunk(session, storage, upload, offset=0, body=body, length=size)
    return upload


def _figures(output: str) -> dict[str, str]:
    """The report's indented lines, as name and figure."""
    lines = [line.strip().rsplit(maxsplit=1) for line in output.splitlines() if line[:2] == "  "]
    return {name.strip(): figure for name, figure in lines}


def _uploads(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Upload)) or 0


def test_purge_reports_counts_and_bytes_and_a_dry_run_removes_nothing(
    plain_instance: PlainInstance, database: Session
) -> None:
    run_portal(plain_instance.environment, "purge")  # whatever earlier tests left
    upload = _expired_upload(plain_instance, database, 1234)

    dry = run_portal(plain_instance.environment, "purge", "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("Dry run: the clean-up would remove\n")
    assert _figures(dry.output)["expired uploads"] == "1"
    assert _figures(dry.output)["bytes of files freed"] == "1234"
    assert "Vacuumed" not in dry.output
    assert _uploads(database) == 1

    done = run_portal(plain_instance.environment, "purge")

    assert done.exit_code == 0, done.output
    assert done.output.startswith("The clean-up removed\n")
    assert _figures(done.output)["expired uploads"] == "1"
    assert _figures(done.output)["bytes of files freed"] == "1234"
    for secret in (upload.public_id, upload.storage_name, upload.submission_public_id):
        assert secret not in done.output
    assert _uploads(database) == 0
    postgres = database.get_bind().dialect.name == "postgresql"
    assert ("Vacuumed 1 tables: uploads." in done.output) is postgres

    again = run_portal(plain_instance.environment, "purge")
    assert _figures(again.output)["expired uploads"] == "0"
    assert "Vacuumed" not in again.output


def test_retention_is_shown_set_and_refused_outside_its_range(
    plain_instance: PlainInstance, database: Session
) -> None:
    create_dialogue(
        database,
        slug="keeping",
        partner="Republic of Keeping",
        partner_kind=PartnerKind.COUNTRY,
        kind=DialogueKind.FORMAL,
        recovery_key=database.scalars(select(RecoveryKey)).one(),
    )
    database.commit()
    environment = plain_instance.environment

    shown = run_portal(environment, "dialogue", "retention", "keeping")
    assert (
        shown.output == "Dialogue keeping keeps submissions until their submitters delete them.\n"
    )

    changed = run_portal(
        environment, "dialogue", "retention", "keeping", "--days", "400", "--notice-days", "60"
    )
    assert changed.exit_code == 0, changed.output
    assert "400 days after the session reached follow-up" in changed.output
    assert "at least 60 days' notice" in changed.output

    refused = run_portal(environment, "dialogue", "retention", "keeping", "--notice-days", "10")
    assert refused.exit_code == 2
    both = run_portal(environment, "dialogue", "retention", "keeping", "--days", "5", "--keep")
    assert both.exit_code == 2

    kept = run_portal(environment, "dialogue", "retention", "keeping", "--keep")
    assert "keeps submissions until their submitters delete them" in kept.output
    database.rollback()
    dialogue = database.scalars(select(Dialogue).where(Dialogue.slug == "keeping")).one()
    assert (dialogue.retention_days, dialogue.retention_notice_days) == (None, 60)
