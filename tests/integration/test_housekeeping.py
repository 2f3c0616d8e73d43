"""The clean-up that runs by itself: each kind removed on both databases, in batches, one run at
a time, with a report of counts and bytes only, and VACUUM on PostgreSQL.

The loop is driven through its ``tick`` with a clock the test sets, never by waiting: the
thread only calls ``tick`` once a minute.
"""

import dataclasses
import datetime as dt
import io
import logging
import types
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

import crypto
from portal import storage as storage_module
from portal.db import Database
from portal.models import (
    Attachment,
    AuditEvent,
    DeletedSubmission,
    SessionState,
    SignInThrottle,
    StaffSession,
    Submission,
    SubmissionKind,
    SubmitterSession,
    Upload,
)
from portal.services.contexts import new_public_id
from portal.services.housekeeping import lease, loop, purge
from portal.services.housekeeping.sweeps import Tally
from portal.services.leaky_bucket import LeakyBucket, count
from portal.services.staff.web_sessions import start_staff_session
from portal.services.submissions.inbox_web_sessions import start_browser_held_session
from portal.services.submissions.uploads import append_chunk, create_upload
from portal.storage import PARTIAL_PREFIX, EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.desk_world_support import CASE_FORM, REPRISAL_FORM, sent_submission, staff_account
from tests.intake_support import ROOMY_LIMITS, TEST_SUBMISSION_IDS

UPLOAD_SIZE = crypto.encrypted_size(65536)
CHUNK = b"\x01" * 1000
ORPHAN = b"\x02" * 500
ATTACHED = b"\x03" * 700


@dataclass
class Littered:
    """A world holding one thing of each kind that must go, and one that must stay."""

    world: ConsultationWorld
    database: Database
    storage: EncryptedStorage
    now: dt.datetime
    live_upload: Upload
    doomed_submission_id: int
    kept_submission_id: int
    attachment_name: str

    def clock(self) -> dt.datetime:
        return self.now


@pytest.fixture
def littered(database_url: str, consultation_world: ConsultationWorld) -> Iterator[Littered]:
    world = consultation_world
    session = world.session
    storage = EncryptedStorage(world.storage_dir)
    # Two hours ahead of the files made here, so that an orphan is past its grace.
    now = world.now + dt.timedelta(hours=2)

    expired = create_upload(
        session,
        storage,
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(now - dt.timedelta(hours=25)),
        ciphertext_size=UPLOAD_SIZE,
        budget_bytes=10**9,
        now=now - dt.timedelta(hours=25),
    ).upload
    append_chunk(session, storage, expired, offset=0, body=io.BytesIO(CHUNK), length=len(CHUNK))
    live = create_upload(
        session,
        storage,
        ids=TEST_SUBMISSION_IDS,
        limits=ROOMY_LIMITS,
        submission_public_id=TEST_SUBMISSION_IDS.issue(now),
        ciphertext_size=UPLOAD_SIZE,
        budget_bytes=10**9,
        now=now,
    ).upload
    (world.storage_dir / f"{PARTIAL_PREFIX}orphaned-by-a-crash").write_bytes(ORPHAN)

    # Live rows first: opening a session deletes the rows ended at its own "now".
    start_browser_held_session(session, bytes(32), now=now - dt.timedelta(minutes=1))
    start_browser_held_session(session, bytes(32), now=now - dt.timedelta(hours=3))
    staff = staff_account(world, "cleaner")
    key = crypto.load_private_key(staff.personal_key_bytes)
    start_staff_session(session, staff.user, key, now=now - dt.timedelta(minutes=1))
    start_staff_session(session, staff.user, key, now=now - dt.timedelta(hours=11))
    count(session, [("staff-pass:someone", LeakyBucket(10, 1 / 360))], now - dt.timedelta(hours=2))
    count(session, [("staff-global", LeakyBucket(200, 0.5))], now - dt.timedelta(seconds=5))

    doomed = sent_submission(world, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)
    staged = storage.stage(session)
    staged.write(ATTACHED)
    doomed.attachments.append(
        Attachment(
            public_id=new_public_id(),
            storage_name=staged.name,
            ciphertext_size=staged.size,
            keys_envelope=b"sealed",
        )
    )
    kept = sent_submission(world, SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM)
    _past_retention(world, now.date())
    session.commit()
    database = Database(database_url)
    try:
        yield Littered(world, database, storage, now, live, doomed.id, kept.id, staged.name)
    finally:
        database.dispose()


def _past_retention(world: ConsultationWorld, today: dt.date) -> None:
    """Put the world's session 100 days into follow-up under a 30-day retention set long ago."""
    world.dialogue_session.state = SessionState.FOLLOW_UP
    world.dialogue_session.follow_up_on = today - dt.timedelta(days=100)
    world.dialogue.retention_days = 30
    world.dialogue.retention_set_on = today - dt.timedelta(days=100)


EVERY_KIND = {
    "expired uploads": 1,
    "orphaned partial files": 1,
    "ended inbox sessions": 1,
    "ended staff sessions": 1,
    "drained sign-in limits": 2,  # with the submitters' bucket the migrations made, empty
    "submissions past retention": 1,
}


def _counts(report: purge.PurgeReport) -> dict[str, int]:
    return {kind: tally.items for kind, tally in report.removed.items()}


def _rows(session: Session, model: type) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_dry_run_counts_every_kind_and_removes_nothing(littered: Littered) -> None:
    report = purge.purge(littered.database, littered.storage, clock=littered.clock, dry_run=True)

    assert report is not None and report.dry_run
    assert _counts(report) == EVERY_KIND
    assert report.bytes_freed == len(CHUNK) + len(ORPHAN) + len(ATTACHED)
    assert report.vacuumed == []
    session = littered.world.session
    assert _rows(session, Upload) == 2
    assert _rows(session, SubmitterSession) == 2
    assert _rows(session, StaffSession) == 2
    assert _rows(session, SignInThrottle) == 3
    assert _rows(session, Submission) == 2
    assert (littered.world.storage_dir / f"{PARTIAL_PREFIX}orphaned-by-a-crash").exists()


def test_a_purge_removes_each_kind_and_keeps_what_lives(littered: Littered) -> None:
    statements: list[str] = []
    event.listen(
        littered.database.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_rest: statements.append(statement),
    )

    report = purge.purge(littered.database, littered.storage, clock=littered.clock)

    assert report is not None and not report.dry_run
    assert _counts(report) == EVERY_KIND
    assert report.bytes_freed == len(CHUNK) + len(ORPHAN) + len(ATTACHED)
    session = littered.world.session
    assert session.scalars(select(Upload.id)).all() == [littered.live_upload.id]
    assert _rows(session, SubmitterSession) == 1
    assert _rows(session, StaffSession) == 1
    assert session.scalars(select(SignInThrottle.name)).all() == ["staff-global"]
    assert session.scalars(select(Submission.id)).all() == [littered.kept_submission_id]
    tombstone = session.scalars(select(DeletedSubmission)).one()
    assert tombstone.past_retention
    deleted = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "submission.deleted")
    ).one()
    assert deleted.details["by"] == "retention"
    left = sorted(path.name for path in littered.world.storage_dir.iterdir())
    assert left == [f"{PARTIAL_PREFIX}{littered.live_upload.storage_name}"]
    vacuums = [statement for statement in statements if statement.startswith("VACUUM")]
    if littered.database.engine.dialect.name == "postgresql":
        assert set(report.vacuumed) >= {
            "uploads",
            "submitter_sessions",
            "staff_sessions",
            "sign_in_throttles",
            "submissions",
            "attachments",
            "further_information",
            "desk_messages",
        }
        assert sorted(vacuums) == sorted(f"VACUUM {table}" for table in report.vacuumed)
    else:
        assert report.vacuumed == [] and vacuums == []


def test_a_second_purge_finds_nothing_left(littered: Littered) -> None:
    purge.purge(littered.database, littered.storage, clock=littered.clock)

    again = purge.purge(littered.database, littered.storage, clock=littered.clock)

    assert again is not None and not again.anything_removed
    assert again.vacuumed == []


def test_the_purge_works_in_batches(littered: Littered, monkeypatch: pytest.MonkeyPatch) -> None:
    session = littered.world.session
    for _ in range(4):
        start_browser_held_session(session, bytes(32), now=littered.now - dt.timedelta(hours=5))
    session.commit()
    batches: list[int] = []
    sweep = next(item for item in purge.SWEEPS if item.kind == "ended inbox sessions")
    original = sweep.remove_batch

    def counted(scope: object) -> Tally:
        removed = original(scope)  # type: ignore[arg-type]
        batches.append(removed.items)
        return removed

    monkeypatch.setattr("portal.services.housekeeping.sweeps.BATCH", 2)
    monkeypatch.setattr(purge, "SWEEPS", (dataclasses.replace(sweep, remove_batch=counted),))

    report = purge.purge(littered.database, littered.storage, clock=littered.clock)

    assert report is not None and report.removed["ended inbox sessions"].items == 5
    assert batches == [2, 2, 1, 0]


def test_the_loop_runs_by_itself_once_per_interval(littered: Littered) -> None:
    housekeeping = loop.HousekeepingLoop(littered.database, littered.storage, clock=littered.clock)

    first = housekeeping.tick()
    too_soon = housekeeping.tick()
    littered.now += purge.INTERVAL
    due_again = housekeeping.tick()

    assert first is not None and _counts(first) == EVERY_KIND
    assert too_soon is None
    assert due_again is not None and not due_again.anything_removed


def test_one_run_at_a_time(littered: Littered) -> None:
    housekeeping = loop.HousekeepingLoop(littered.database, littered.storage, clock=littered.clock)
    with littered.database.session() as session:
        held = lease.take(session, purge.JOB, littered.now, on_schedule=False)
    assert held is not None

    assert housekeeping.tick() is None
    with pytest.raises(purge.PurgeBusyError):
        purge.purge(littered.database, littered.storage, clock=littered.clock)
    assert _rows(littered.world.session, Upload) == 2

    littered.now += lease.HOLD  # the holder died: its lease runs out
    assert housekeeping.tick() is not None


def test_a_failed_run_is_logged_without_details_and_frees_the_lease(
    littered: Littered, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sweep = purge.SWEEPS[0]

    def broken(_scope: object) -> Tally:
        raise ValueError("SELECT secret-parameter")

    monkeypatch.setattr(purge, "SWEEPS", (dataclasses.replace(sweep, remove_batch=broken),))
    housekeeping = loop.HousekeepingLoop(littered.database, littered.storage, clock=littered.clock)

    assert housekeeping.tick() is None
    assert "ValueError" in caplog.text and "secret-parameter" not in caplog.text
    monkeypatch.undo()
    littered.now += purge.INTERVAL
    assert housekeeping.tick() is not None


def test_serve_starts_the_loop_in_each_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal import server

    started: list[loop.HousekeepingLoop] = []
    monkeypatch.setattr(loop.HousekeepingLoop, "start", lambda self: started.append(self))
    monkeypatch.setattr(server, "app_database", lambda app: app.database)
    monkeypatch.setattr(
        server, "web_instance", lambda app: types.SimpleNamespace(storage=app.storage)
    )
    app = types.SimpleNamespace(database=object(), storage=object())

    for attribute, value in (("handlers", []), ("propagate", True), ("level", logging.NOTSET)):
        monkeypatch.setattr(loop.logger, attribute, value)  # put back after the test
    error_log = logging.getLogger("test.error_log")
    error_log.addHandler(logging.NullHandler())
    worker = types.SimpleNamespace(wsgi=app, log=types.SimpleNamespace(error_log=error_log))

    server.start_housekeeping(worker)

    assert len(started) == 1
    assert started[0]._database is app.database and started[0]._storage is app.storage
    assert loop.logger.handlers == error_log.handlers and not loop.logger.propagate
    settings = types.SimpleNamespace(workers=2, threads=4)
    configured = server.PortalServer(settings, host="127.0.0.1", port=8000)  # type: ignore[arg-type]
    assert configured.cfg.post_worker_init is server.start_housekeeping


def test_a_purge_sets_the_times_of_every_published_file_again(
    littered: Littered, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = littered.storage.path("published-before-the-run")
    published.write_bytes(b"ciphertext")
    touched: list[object] = []
    real = storage_module.normalise_times

    def spied(*paths: object) -> None:
        touched.extend(paths)
        real(*paths)  # type: ignore[arg-type]

    monkeypatch.setattr(storage_module, "normalise_times", spied)

    purge.purge(littered.database, littered.storage, clock=littered.clock)

    assert published in touched and littered.world.storage_dir in touched
    live_partial = (
        littered.world.storage_dir / f"{PARTIAL_PREFIX}{littered.live_upload.storage_name}"
    )
    assert live_partial not in touched
    assert published.stat().st_mtime == storage_module.FILE_TIME
