"""Migrations: up to head and back down on an empty database, and head equals the models."""

import re
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.pool import NullPool

import crypto
from portal import create_app, schema
from portal.db import Database, sqlite_side_files
from portal.instance import InstanceFolder
from portal.models import (
    Base,
    FurtherInformation,
    RecoveryKey,
    StaffUser,
    Submission,
    SubmissionKind,
    TriageNote,
    utc_now,
)
from portal.services.contexts import (
    SubmissionAddress,
    further_information_context,
    recipient_keys,
    triage_note_context,
)
from portal.services.submissions.payload import encode_payload
from tests.conftest import create_demo_instance, run_portal, seal_as_before_per_submission_keys
from tests.staff_sessions_support import StaffCredentials, demo_credentials, sign_in_client

# These tests are about the migrations themselves: no copy of a migrated file stands in for them.
pytestmark = pytest.mark.real_migrations


def _table_names(database_url: str) -> set[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_to_head_and_down_to_base(database_url: str) -> None:
    schema.upgrade_to_head(database_url)
    assert _table_names(database_url) == set(Base.metadata.tables) | {"alembic_version"}

    schema.downgrade_to_base(database_url)
    assert _table_names(database_url) <= {"alembic_version"}

    schema.upgrade_to_head(database_url)
    assert set(Base.metadata.tables) <= _table_names(database_url)


def test_head_schema_equals_the_models(database_url: str) -> None:
    schema.upgrade_to_head(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == schema.head_revision()
    finally:
        engine.dispose()


def test_a_downgrade_on_sqlite_zeroes_what_it_drops(tmp_path: Path) -> None:
    """Migrations connect with the portal's pragmas: ``portal init --force`` clears a database
    by downgrading it, and the rows it drops must not stay readable in the file."""
    database_file = tmp_path / "parley.sqlite3"
    database_url = f"sqlite:///{database_file}"
    marker = b"DROPPED-ROW-5f1c"
    schema.upgrade_to_head(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(
                RecoveryKey.__table__.insert().values(
                    key_id=marker[:16], public_key=marker * 2, created_at=utc_now()
                )
            )
    finally:
        engine.dispose()
    assert marker in database_file.read_bytes()

    schema.downgrade_to_base(database_url)

    for path in [database_file, *sqlite_side_files(database_file)]:
        assert marker not in path.read_bytes(), path


PREVIOUS_RELEASE = "0005"
"""The schema revision of the release before this round's changes (staff side, issue 4)."""
CANARY = "CANARY-previous-release-3f2a"


def test_an_instance_of_the_previous_release_reads_its_submissions_after_portal_migrate(
    database_url: str, tmp_path: Path, send_under_new_codename
) -> None:
    """Made by the previous release, with a submission in it; `portal migrate`; the desk reads.

    The instance is brought back to the previous release's schema with the data in it (the
    downgrade of every later revision), then upgraded by the operator's own command, and a desk
    member of the demo reads the submission on the staff page: nothing stored before was lost or
    made unreadable by the new revisions. The submission is sealed as that release sealed it, to
    the codename's own key under its v1 context and without signatures, with further information
    stored the same way, and names its submitter as that release did: its author still reads it
    back in the inbox, and that first sign-in gives it the codename's owner tag in place of the
    submitter's id, after which the desk and its author still read it. Both readers mark what was
    sent before signatures as such (the desk's private note on it too), and the desk key learns
    its signing key when a holder first opens it after the migration. That release recorded no
    recovery signing key: new forms name none until the operator records it, and then certifies
    the dialogue's desk keys with it.
    """
    instance = create_demo_instance(tmp_path, database_url)
    sent = send_under_new_codename(
        instance.settings,
        SubmissionKind.AGENDA_INPUT,
        {"topics": ["general_developments"], "situation": f"{CANARY} in the capital."},
    )
    seal_as_before_per_submission_keys(instance.settings, sent)
    _add_unsigned_further_information(instance.settings.database_url, sent, f"{CANARY} added")
    _add_unsigned_note(instance.settings.database_url, sent, f"{CANARY} noted")
    consent = {"level": "raise_by_name", "given_by": "family", "risks_explained": True}
    case = send_under_new_codename(
        instance.settings,
        SubmissionKind.INDIVIDUAL_CASE,
        {
            "persons": [{"name": f"{CANARY} person", "consent": consent}],
            "situation": "Detained.",
            "relation_to_person": "colleague",
        },
    )
    # That release kept the names inside the submission envelope, for every reader of the case.
    seal_as_before_per_submission_keys(instance.settings, case)
    folder = InstanceFolder(instance.settings.instance_dir)
    folder.recovery_signing_key_file.unlink()
    command.downgrade(schema.alembic_config(instance.settings.database_url), PREVIOUS_RELEASE)
    assert schema.database_state(Database(instance.settings.database_url)).revision == (
        PREVIOUS_RELEASE
    )

    migrated = run_portal(instance.environment, "migrate")

    assert migrated.exit_code == 0, migrated.output
    assert schema.database_state(Database(instance.settings.database_url)).revision == (
        schema.head_revision()
    )
    app = create_app(instance.settings)
    officer = demo_credentials(instance.credentials_file)["triage_officer"]
    assert _owner_columns(instance.settings.database_url, sent.public_id) == (None, True)
    assert not _desk_signing_key_known(instance.settings.database_url, sent.public_id)
    _desk_reads(app, officer, sent.public_id)
    assert _desk_signing_key_known(instance.settings.database_url, sent.public_id)
    # The case's names are shown as before, to a member who is no triage officer and named on
    # nothing.
    co_chair = demo_credentials(instance.credentials_file)["co_chair"]
    with app.test_client() as client:
        sign_in_client(app, client, co_chair.email, co_chair.password)
        case_page = client.get(f"/staff/submissions/{case.public_id}").get_data(as_text=True)
    assert f"{CANARY} person" in case_page and 'id="names-sealed"' not in case_page
    for _ in range(2):  # the first sign-in tags the row; the next finds it by its tag
        with app.test_client() as client:
            sign_in_page = client.get("/inbox/sign-in").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', sign_in_page)[1]
            signed_in = client.post(
                "/inbox/sign-in", data={"codename": sent.codename, "csrf_token": token}
            )
            assert signed_in.location == "/inbox"
            assert sent.public_id in client.get("/inbox").get_data(as_text=True)
            read_back = client.get(f"/inbox/{sent.public_id}")
        assert read_back.status_code == 200
        own_page = read_back.get_data(as_text=True)
        assert f"{CANARY} in the capital." in own_page and f"{CANARY} added" in own_page
        assert own_page.count(BEFORE_SIGNATURES) == 2
        tag_key = crypto.owner_tag_key(crypto.derive_codename_secrets(sent.codename).key_seed)
        tagged = (crypto.owner_tag(tag_key, 0), False)
        assert _owner_columns(instance.settings.database_url, sent.public_id) == tagged
    _desk_reads(app, officer, sent.public_id)
    assert folder.load_recovery_signing_key() is None
    stdin = instance.recovery_key + "\n"
    recorded = run_portal(instance.environment, "recovery", "record-signing-key", stdin=stdin)
    assert recorded.exit_code == 0, recorded.output
    slug = _dialogue_of(instance.settings.database_url, sent.public_id)
    certified = run_portal(instance.environment, "dialogue", "certify", slug, stdin=stdin)
    assert certified.exit_code == 0, certified.output
    assert "recovery key: 1." in certified.stdout
    _desk_reads(app, officer, sent.public_id)


def _dialogue_of(database_url: str, public_id: str) -> str:
    with Database(database_url).session() as session:
        read = session.scalars(select(Submission).where(Submission.public_id == public_id))
        return read.one().dialogue.slug


def _owner_columns(database_url: str, public_id: str) -> tuple[bytes | None, bool]:
    """The row's owner tag, and whether it names a submitter."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            tag, submitter_id = connection.execute(
                select(Submission.owner_tag, Submission.submitter_id).where(
                    Submission.public_id == public_id
                )
            ).one()
    finally:
        engine.dispose()
    return (None if tag is None else bytes(tag)), submitter_id is not None


def _desk_reads(app: Flask, officer: StaffCredentials, public_id: str) -> None:
    with app.test_client() as client:
        sign_in_client(app, client, officer.email, officer.password)
        page = client.get(f"/staff/submissions/{public_id}")
    assert page.status_code == 200
    staff_page = page.get_data(as_text=True)
    assert f"{CANARY} in the capital." in staff_page and f"{CANARY} added" in staff_page
    assert f"{CANARY} noted" in staff_page
    assert staff_page.count(BEFORE_SIGNATURES) == 3  # the submission, its addition, its note


BEFORE_SIGNATURES = "Sent before signatures"


def _add_unsigned_further_information(database_url: str, sent, text: str) -> None:
    """Further information as the previous release stored it: v1 context, no signature."""
    with Database(database_url).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.public_id)
        ).one()
        payload = {"format": "parley-further-information-v1", "text": text}
        envelope = crypto.seal_envelope(
            encode_payload(payload),
            recipient_keys(submission.desk_key, submission.submitter_public_key),
            further_information_context(SubmissionAddress.of(submission)),
        )
        submission.further_information.append(
            FurtherInformation(
                desk_key=submission.desk_key, received_on=submission.received_on, envelope=envelope
            )
        )
        session.commit()


def _add_unsigned_note(database_url: str, sent, text: str) -> None:
    """A private note as the previous release stored it: v1 context, no signature."""
    with Database(database_url).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.public_id)
        ).one()
        note = TriageNote(
            submission_id=submission.id,
            author=session.scalars(select(StaffUser).order_by(StaffUser.id)).first(),
            desk_key=submission.desk_key,
            envelope=b"",
        )
        session.add(note)
        session.flush()
        note.envelope = crypto.seal_envelope(
            encode_payload({"format": "parley-triage-note-v1", "text": text}),
            [submission.desk_key.public_key],
            triage_note_context(SubmissionAddress.of(submission), note.id),
        )
        session.commit()


def _desk_signing_key_known(database_url: str, public_id: str) -> bool:
    """Whether the submission's desk key has learnt its signing key (from a holder opening it)."""
    with Database(database_url).session() as session:
        read = session.scalars(select(Submission).where(Submission.public_id == public_id))
        return read.one().desk_key.signing_public_key is not None
