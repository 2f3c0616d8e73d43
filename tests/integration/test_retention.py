"""Retention per dialogue, and how precisely the portal records what a submitter did.

Retention: the day a session's submissions are deleted, the notice the desk always gets, the
setting's checks and audit, the follow-up day it counts from. Precision: audit events a
submitter caused are dated to the day and the chain still verifies; storage file times are
normalised; an upload's expiry is rounded up to the hour.
"""

import datetime as dt
import io
import os

import pytest
from sqlalchemy import select

import crypto
from portal.models import AuditEvent, SessionState, SubmissionKind, Upload
from portal.services.audit.trail import AuditAction, record_event, verify_audit_chain
from portal.services.dialogues import retention
from portal.services.dialogues.dialogue_sessions import advance_session
from portal.services.submissions.inbox import delete_submission
from portal.services.submissions.uploads import append_chunk, create_upload, upload_expiry
from portal.storage import FILE_TIME, PARTIAL_PREFIX, EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.desk_world_support import CASE_FORM, REPRISAL_FORM, sent_submission, staff_account
from tests.intake_support import ROOMY_LIMITS, TEST_SUBMISSION_IDS

DAY = dt.timedelta(days=1)
CASE_KIND = SubmissionKind.INDIVIDUAL_CASE
REPRISAL_KIND = SubmissionKind.REPRISAL_REPORT
REPRISAL = REPRISAL_FORM


def _in_follow_up(world: ConsultationWorld, since: dt.date) -> None:
    world.dialogue_session.state = SessionState.FOLLOW_UP
    world.dialogue_session.follow_up_on = since


def test_nothing_is_deleted_by_age_unless_a_period_is_set(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    sent_submission(world, CASE_KIND, CASE_FORM)
    today = world.now.date()
    _in_follow_up(world, today - 1000 * DAY)

    assert world.dialogue.retention_days is None
    assert retention.deletion_day(world.dialogue, world.dialogue_session) is None
    assert retention.scheduled_deletions(world.session, world.dialogue, today=today) == []
    assert world.session.scalars(retention.due_submissions(world.session, today=today)).all() == []


def test_a_new_period_deletes_nothing_before_its_notice_has_run(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission = sent_submission(world, CASE_KIND, CASE_FORM)
    today = world.now.date()
    _in_follow_up(world, today - 400 * DAY)

    retention.set_retention(world.session, world.dialogue, days=30, notice_days=45, today=today)

    day = today + 45 * DAY
    assert retention.deletion_day(world.dialogue, world.dialogue_session) == day
    [scheduled] = retention.scheduled_deletions(world.session, world.dialogue, today=today)
    assert (scheduled.submissions, scheduled.deletion_day, scheduled.within_notice) == (
        1,
        day,
        True,
    )
    due = retention.due_submissions
    assert world.session.scalars(due(world.session, today=day - DAY)).all() == []
    assert world.session.scalars(due(world.session, today=day)).all() == [submission.id]


def test_the_period_counts_from_follow_up_with_at_least_the_notice(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    sent_submission(world, CASE_KIND, CASE_FORM)
    today = world.now.date()
    retention.set_retention(
        world.session, world.dialogue, days=10, notice_days=30, today=today - 500 * DAY
    )
    _in_follow_up(world, today)
    assert retention.deletion_day(world.dialogue, world.dialogue_session) == today + 30 * DAY

    retention.set_retention(
        world.session, world.dialogue, days=365, notice_days=30, today=today - 400 * DAY
    )
    [scheduled] = retention.scheduled_deletions(world.session, world.dialogue, today=today)
    assert scheduled.deletion_day == today + 365 * DAY
    assert not scheduled.within_notice


def test_only_sessions_in_follow_up_and_material_of_a_session_count(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    sent_submission(world, CASE_KIND, CASE_FORM)
    reprisal = sent_submission(world, REPRISAL_KIND, REPRISAL)
    today = world.now.date()
    retention.set_retention(
        world.session, world.dialogue, days=1, notice_days=30, today=today - 100 * DAY
    )
    world.dialogue_session.follow_up_on = today - 100 * DAY  # a day kept, but not in follow-up

    assert world.session.scalars(retention.due_submissions(world.session, today=today)).all() == []
    world.dialogue_session.state = SessionState.FOLLOW_UP
    due = world.session.scalars(retention.due_submissions(world.session, today=today)).all()
    assert reprisal.id not in due and len(due) == 1


def test_setting_retention_is_checked_and_audited(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    today = world.now.date()
    admin = staff_account(world, "admin").user
    for days, notice in ((0, 30), (retention.MAX_RETENTION_DAYS + 1, 30), (90, 29), (90, 366)):
        with pytest.raises(retention.RetentionSettingError):
            retention.set_retention(
                world.session, world.dialogue, days=days, notice_days=notice, today=today
            )
    assert world.dialogue.retention_days is None

    retention.set_retention(
        world.session, world.dialogue, days=90, notice_days=60, today=today, actor=admin
    )
    retention.set_retention(
        world.session, world.dialogue, days=90, notice_days=60, today=today, actor=admin
    )

    events = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DIALOGUE_RETENTION_SET)
    ).all()
    assert len(events) == 1  # the second call changed nothing
    assert events[0].actor_staff_user_id == admin.id
    assert events[0].details == {
        "from": {"days": None, "notice_days": 30},
        "to": {"days": 90, "notice_days": 60},
    }
    assert world.dialogue.retention_set_on == today


def test_reaching_follow_up_keeps_the_day(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    dialogue_session = world.dialogue_session
    today = dialogue_session.date + 3 * DAY
    for stage in (SessionState.CONSULTATION_CLOSED, SessionState.HELD, SessionState.DEBRIEFED):
        dialogue_session.state = stage
    assert dialogue_session.follow_up_on is None

    advance_session(world.session, dialogue_session, SessionState.FOLLOW_UP, today=today)

    assert dialogue_session.follow_up_on == today


def test_events_a_submitter_caused_are_dated_to_the_day(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission = sent_submission(world, CASE_KIND, CASE_FORM)
    storage = EncryptedStorage(world.storage_dir)
    staff = staff_account(world, "reader").user
    with pytest.raises(ValueError, match="names no staff actor"):
        record_event(
            world.session,
            action=AuditAction.MESSAGE_RECEIVED,
            object_type="desk_message",
            object_id=1,
            actor=staff,
            submitter_caused=True,
        )

    delete_submission(world.session, storage, submission, today=world.now.date())
    record_event(
        world.session, action=AuditAction.STAFF_SIGNED_IN, object_type="staff_user", object_id=1
    )
    world.session.commit()

    deleted, staff_event = world.session.scalars(
        select(AuditEvent).order_by(AuditEvent.sequence.desc()).limit(2)
    ).all()[::-1]
    assert deleted.action == AuditAction.SUBMISSION_DELETED
    assert deleted.details["by"] == "submitter"
    midnight = deleted.occurred_at
    assert (midnight.hour, midnight.minute, midnight.second, midnight.microsecond) == (0, 0, 0, 0)
    assert staff_event.occurred_at.time() != dt.time(0, 0)
    assert verify_audit_chain(world.session).intact


def test_storage_files_and_the_folder_keep_a_fixed_time(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    storage = EncryptedStorage(world.storage_dir)
    staged = storage.stage(world.session)
    staged.write(b"ciphertext")
    world.session.commit()
    upload = create_upload(
        world.session,
        storage,
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ciphertext_size=crypto.encrypted_size(65536),
        budget_bytes=10**9,
        now=world.now,
    ).upload
    append_chunk(world.session, storage, upload, offset=0, body=io.BytesIO(b"x" * 99), length=99)

    for path in (
        storage.path(staged.name),
        world.storage_dir / f"{PARTIAL_PREFIX}{upload.storage_name}",
        world.storage_dir,
    ):
        times = os.stat(path)
        assert (times.st_mtime, times.st_atime) == (FILE_TIME, FILE_TIME), path.name


def test_an_upload_expires_on_a_whole_hour(consultation_world: ConsultationWorld) -> None:
    opened = dt.datetime(2026, 3, 1, 9, 41, 7, 123456, tzinfo=dt.UTC)
    assert upload_expiry(opened) == dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    on_the_hour = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert upload_expiry(on_the_hour) == dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

    world = consultation_world
    create_upload(
        world.session,
        EncryptedStorage(world.storage_dir),
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ciphertext_size=crypto.encrypted_size(65536),
        budget_bytes=10**9,
        now=world.now,
    )
    stored = world.session.scalars(select(Upload.expires_at)).one()
    assert (stored.minute, stored.second, stored.microsecond) == (0, 0, 0)
