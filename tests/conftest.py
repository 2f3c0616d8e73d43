"""Fixtures shared by every test suite.

Databases: ``database_url`` runs a test on SQLite (a file in the test's temporary folder) and on
PostgreSQL when ``PORTAL_TEST_POSTGRES_URL`` names a server (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each PostgreSQL use gets its own
throw-away database on that server, so parallel runs never collide. A migrated database is made
without running every migration again (``tests.migration_shortcuts``), except for the tests
marked ``real_migrations``. With ``CI=true`` a missing server URL fails the PostgreSQL tests
instead of skipping them: CI must not go green by testing less.

Demo instances (made with ``portal init --demo``, which costs a few seconds of Argon2) are
session-scoped and shared by tests that only read them.
"""

import datetime as dt
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

import crypto
from crypto.file_padding import padded_file_size
from portal import create_app, schema
from portal.cli.main import main
from portal.db import Database, sqlite_side_files
from portal.instance import InstanceFolder
from portal.models import (
    DeskKey,
    DeskMembership,
    Dialogue,
    DialogueKind,
    DialogueSession,
    DialogueStatus,
    PartnerKind,
    RecoveryKey,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    Submitter,
    utc_now,
)
from portal.services.contexts import (
    SubmissionAddress,
    recipient_keys,
    signed_identities_context,
    signed_submission_context,
    submission_context,
)
from portal.services.desks.confirmations import record_confirmation
from portal.services.desks.identity_keys import grant_identity_key, identity_key_of
from portal.services.desks.keys import grant_desk_access
from portal.services.desks.membership import membership_of
from portal.services.dialogues.catalogue import create_dialogue, schedule_session
from portal.services.dialogues.dialogue_sessions import consultation_accepts_submissions
from portal.services.recovery import create_recovery_key
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.payload import decode_payload, encode_payload
from portal.services.submissions.submitter_keys import submission_private_key
from portal.services.submissions.submitters import register_new_codename
from portal.settings import (
    COOKIE_SECURE_VARIABLE,
    DATABASE_URL_VARIABLE,
    INSTANCE_DIR_VARIABLE,
    Settings,
    load_settings,
)
from portal.web.instance import web_instance
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.migration_shortcuts import MigrationShortcuts
from tests.migration_shortcuts import current as current_migration_shortcuts
from tests.migration_shortcuts import installed as migration_shortcuts_installed

POSTGRES_URL_VARIABLE = "PORTAL_TEST_POSTGRES_URL"
RECOVERY_KEY_LINE = re.compile(r"^\s*(parley-recovery-v1:\S+)\s*$", re.MULTILINE)

BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


@contextmanager
def throwaway_postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the duration of the block (made and kept or
    dropped by the run's :class:`MigrationShortcuts`)."""
    if not os.environ.get(POSTGRES_URL_VARIABLE):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {POSTGRES_URL_VARIABLE} is not set")
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    shortcuts = current_migration_shortcuts()
    url = shortcuts.new_postgres_database()
    try:
        yield url
    finally:
        shortcuts.keep_or_drop(url)


@contextmanager
def database_for(backend: str, folder: Path) -> Iterator[str]:
    """A database URL for ``backend``: a SQLite file in ``folder`` or a throw-away PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'test.sqlite3'}"
        return
    with throwaway_postgres_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend in turn."""
    with database_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def migration_shortcuts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MigrationShortcuts]:
    """Installs :class:`MigrationShortcuts` as ``schema.upgrade_to_head`` for the whole run,
    module and session fixtures included."""
    shortcuts = MigrationShortcuts(
        schema.upgrade_to_head,
        lambda: tmp_path_factory.mktemp("migrated-template"),
        os.environ.get(POSTGRES_URL_VARIABLE) or None,
    )
    with migration_shortcuts_installed(shortcuts):
        yield shortcuts


@pytest.fixture(autouse=True)
def _real_migrations_when_marked(
    request: pytest.FixtureRequest, migration_shortcuts: MigrationShortcuts
) -> Iterator[None]:
    """Tests marked ``real_migrations`` run every migration, and their databases are dropped."""
    migration_shortcuts.enabled = request.node.get_closest_marker("real_migrations") is None
    yield
    migration_shortcuts.enabled = True


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database file and the side files beside it now; none on PostgreSQL.

    A scan of what a seized disk holds reads them all: the write-ahead log holds the newest
    pages before they reach the main file.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return []
    database_file = Path(url.database)
    return [database_file, *sqlite_side_files(database_file)]


def portal_environment(
    instance_dir: Path, database_url: str | None = None, *, cookie_secure: bool = False
) -> dict[str, str | None]:
    """The portal's environment variables for a test instance (``None`` unsets a variable)."""
    return {
        INSTANCE_DIR_VARIABLE: str(instance_dir),
        DATABASE_URL_VARIABLE: database_url,
        COOKIE_SECURE_VARIABLE: "true" if cookie_secure else "false",
    }


def settings_from(environment: dict[str, str | None]) -> Settings:
    """The settings the portal reads from ``environment``."""
    return load_settings({key: value for key, value in environment.items() if value is not None})


def run_portal(
    environment: dict[str, str | None], *arguments: str, stdin: str | None = None
) -> Any:
    """Run the ``portal`` command in-process, ``stdin`` on its standard input; returns click's
    result (output, stderr, code)."""
    return CliRunner().invoke(
        main, list(arguments), env=environment, input=stdin, catch_exceptions=False
    )


def recovery_key_from(output: str) -> str:
    """The recovery key ``portal init`` printed."""
    match = RECOVERY_KEY_LINE.search(output)
    assert match is not None, "portal init printed no recovery key"
    return match.group(1)


@dataclass(frozen=True)
class DemoInstance:
    """An instance made by ``portal init --demo``, with what the operator was handed."""

    settings: Settings
    environment: dict[str, str | None]
    credentials_file: Path
    recovery_key: str
    init_output: str


def create_demo_instance(folder: Path, database_url: str | None = None) -> DemoInstance:
    """Run ``portal init --demo --credentials-out`` for an instance inside ``folder``."""
    environment = portal_environment(folder / "instance", database_url)
    credentials_file = folder / "credentials.json"
    result = run_portal(environment, "init", "--demo", "--credentials-out", str(credentials_file))
    assert result.exit_code == 0, result.output
    return DemoInstance(
        settings=settings_from(environment),
        environment=environment,
        credentials_file=credentials_file,
        recovery_key=recovery_key_from(result.stdout),
        init_output=result.stdout,
    )


@pytest.fixture(scope="session", params=BACKENDS)
def demo_instance(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoInstance]:
    """A demo instance on each backend, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp(f"demo-{request.param}")
    with database_for(request.param, folder) as url:
        yield create_demo_instance(folder, url)


@pytest.fixture(scope="module", params=BACKENDS)
def writable_demo_instance(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoInstance]:
    """A demo instance on each backend for one test module that stores things in it."""
    folder = tmp_path_factory.mktemp(f"writable-demo-{request.param}")
    with database_for(request.param, folder) as url:
        yield create_demo_instance(folder, url)


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Flask:
    """The portal of the module's writable demo instance (a module may define its own ``app``)."""
    return create_app(writable_demo_instance.settings)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    """A test client of ``app`` that keeps its cookies for the test."""
    with app.test_client() as client:
        yield client


@pytest.fixture(scope="session")
def demo_app(demo_instance: DemoInstance) -> Flask:
    """The portal application over the shared demo instance."""
    return create_app(demo_instance.settings)


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log, and without the client address in errors."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log(self, type: str, message: str, *args: Any) -> None:
        logging.getLogger("portal.test_server").log(
            logging.ERROR if type == "error" else logging.INFO, message, *args
        )


@pytest.fixture(scope="session")
def portal_server_instance(tmp_path_factory: pytest.TempPathFactory) -> DemoInstance:
    """The SQLite demo instance that ``portal_server`` serves (its credentials file included)."""
    return create_demo_instance(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="session")
def portal_server(portal_server_instance: DemoInstance) -> Iterator[str]:
    """The demo portal on 127.0.0.1 at an ephemeral port, in a background thread; its base URL."""
    app = create_app(portal_server_instance.settings)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="portal-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many PostgreSQL and browser tests ran, so a log shows they were not skipped."""
    for marker, name in (("postgres", "PostgreSQL"), ("browser", "browser (Chromium)")):
        counts: dict[str, int] = {}
        for outcome in ("passed", "failed", "error", "skipped"):
            # A test reports once per phase; count its call, or the setup that stopped it.
            counts[outcome] = sum(
                1
                for report in terminalreporter.stats.get(outcome, [])
                if marker in getattr(report, "keywords", ())
                and (report.when == "call" or (report.when == "setup" and outcome != "passed"))
            )
        summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items() if count)
        terminalreporter.write_line(f"{name} tests: {summary or 'none ran'}")


@dataclass(frozen=True)
class PlainInstance:
    """An instance made by plain ``portal init`` (no demo data, no staff: quick to make)."""

    settings: Settings
    environment: dict[str, str | None]
    recovery_key: str


@pytest.fixture(scope="module", params=BACKENDS)
def plain_instance(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlainInstance]:
    """A fresh instance without demo data on each backend, shared by one test module."""
    folder = tmp_path_factory.mktemp(f"plain-{request.param}")
    with database_for(request.param, folder) as url:
        environment = portal_environment(folder / "instance", url)
        result = run_portal(environment, "init")
        assert result.exit_code == 0, result.output
        yield PlainInstance(
            settings=settings_from(environment),
            environment=environment,
            recovery_key=recovery_key_from(result.stdout),
        )


@dataclass
class ConsultationWorld:
    """A migrated database with one dialogue whose consultation is open, for service tests.

    ``dialogue`` has an open ``dialogue_session``; ``frozen_dialogue`` is frozen. The instance
    folder holds the storage folder; ``pepper`` stands in for the instance's codename pepper.
    """

    session: Session
    database_file: Path | None
    instance_dir: Path
    storage_dir: Path
    pepper: bytes
    now: dt.datetime
    recovery_key: RecoveryKey
    recovery_private_key: crypto.PrivateKey
    dialogue: Dialogue
    dialogue_session: DialogueSession
    desk_key: DeskKey
    desk_private_key: crypto.PrivateKey
    identity_private_key: crypto.PrivateKey
    frozen_dialogue: Dialogue


@pytest.fixture
def consultation_world(database_url: str, tmp_path: Path) -> Iterator[ConsultationWorld]:
    """A fresh ``ConsultationWorld`` on each backend; the session is committed as tests choose."""
    schema.upgrade_to_head(database_url)
    database = Database(database_url)
    instance_dir = tmp_path / "instance"
    storage_dir = instance_dir / "storage"
    storage_dir.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    session = database.session()
    try:
        recovery_key, recovery_private_key = create_recovery_key(session)
        open_dialogue = create_dialogue(
            session,
            slug="valdoria",
            partner="Republic of Valdoria",
            partner_kind=PartnerKind.COUNTRY,
            kind=DialogueKind.FORMAL,
            recovery_key=recovery_key,
        )
        dialogue_session = schedule_session(
            session,
            open_dialogue.dialogue,
            date=(now + dt.timedelta(days=60)).date(),
            place=SessionPlace.BRUSSELS,
            state=SessionState.CONSULTATION_OPEN,
            consultation_opens_at=now - dt.timedelta(days=1),
            consultation_closes_at=now + dt.timedelta(days=30),
        )
        frozen = create_dialogue(
            session,
            slug="marenland",
            partner="Federation of Marenland",
            partner_kind=PartnerKind.COUNTRY,
            kind=DialogueKind.SUB_COMMITTEE,
            status=DialogueStatus.FROZEN,
            recovery_key=recovery_key,
        )
        session.commit()
        yield ConsultationWorld(
            session=session,
            database_file=database.sqlite_file,
            instance_dir=instance_dir,
            storage_dir=storage_dir,
            pepper=crypto.new_symmetric_key(),
            now=now,
            recovery_key=recovery_key,
            recovery_private_key=recovery_private_key,
            dialogue=open_dialogue.dialogue,
            dialogue_session=dialogue_session,
            desk_key=open_dialogue.desk_key,
            desk_private_key=open_dialogue.desk_private_key,
            identity_private_key=open_dialogue.identity_private_key,
            frozen_dialogue=frozen.dialogue,
        )
    finally:
        session.close()
        database.dispose()


# --- desk members of a consultation world ------------------------------------------------------

DESK_AT_REST_KEY = crypto.new_symmetric_key()
"""The at-rest key desk people's key confirmations are sealed under in service tests."""


@dataclass
class DeskPerson:
    """A staff account made for a service test, with the personal key its session would hold."""

    user: StaffUser
    key: crypto.PrivateKey

    def signed_in(self) -> SignedInStaff:
        return SignedInStaff(self.user, "test-session", crypto.private_key_bytes(self.key))


def staff_account(world: ConsultationWorld, role: StaffRole) -> DeskPerson:
    """A new active ``role`` account with a personal key, on no desk."""
    key = crypto.generate_private_key()
    user = StaffUser(
        email=f"{uuid.uuid4().hex[:8]}@example.invalid",
        display_name=f"{role} person",
        role=role,
        login_hash="x",
        personal_public_key=crypto.public_key_bytes(key),
        personal_private_key_wrapped=b"x",
        totp_secret_sealed=b"x",
        must_change_passphrase=False,
        active=True,
    )
    world.session.add(user)
    world.session.flush()
    return DeskPerson(user, key)


def desk_person(world: ConsultationWorld, role: StaffRole, *, active: bool = True) -> DeskPerson:
    """A ``role`` account on ``world``'s desk as a grant makes it: holding the desk key (and,
    for a triage officer, the identity key), confirmed; an observer gets the membership only."""
    person = staff_account(world, role)
    user = person.user
    if role is StaffRole.OBSERVER:
        world.session.add(DeskMembership(dialogue=world.dialogue, staff_user=user))
    else:
        grant_desk_access(
            world.session,
            desk_key=world.desk_key,
            desk_private_key=world.desk_private_key,
            member=user,
            granted_by=None,
        )
        grant_identity_key(
            world.session,
            identity_key_of(world.session, world.desk_key),
            world.identity_private_key,
            user,
            granted_by=None,
        )
        record_confirmation(
            membership_of(world.session, world.dialogue, user),
            user,
            at_rest_key=DESK_AT_REST_KEY,
            now=world.now,
        )
    user.active = active
    world.session.flush()
    return person


# --- the submitter's inbox ---------------------------------------------------------------------

INBOX_DIALOGUE_SLUG = "valdoria"


@pytest.fixture(scope="module")
def inbox_app(plain_instance: PlainInstance) -> Flask:
    """The portal over a fresh instance whose dialogue ``valdoria`` has an open consultation."""
    app = create_app(plain_instance.settings)
    database = Database(plain_instance.settings.database_url)
    now = utc_now()
    try:
        with database.session() as session:
            created = create_dialogue(
                session,
                slug=INBOX_DIALOGUE_SLUG,
                partner="Republic of Valdoria",
                partner_kind=PartnerKind.COUNTRY,
                kind=DialogueKind.FORMAL,
                recovery_key=session.scalars(select(RecoveryKey)).one(),
            )
            schedule_session(
                session,
                created.dialogue,
                date=(now + dt.timedelta(days=60)).date(),
                place=SessionPlace.BRUSSELS,
                state=SessionState.CONSULTATION_OPEN,
                consultation_opens_at=now - dt.timedelta(days=1),
                consultation_closes_at=now + dt.timedelta(days=30),
            )
            session.commit()
    finally:
        database.dispose()
    return app


@dataclass(frozen=True)
class SentSubmission:
    """A submission sent without JavaScript under a new codename, and what was sent."""

    codename: str
    public_id: str
    form: dict[str, Any]


def send_to_valdoria(
    settings: Settings, kind: SubmissionKind, form: dict[str, Any]
) -> SentSubmission:
    """Send a submission to ``valdoria`` through the intake service under a new codename:
    agenda input, cases and seminar recommendations to the dialogue's open consultation,
    reprisal reports to the dialogue (``form`` as the no-JavaScript path posts it)."""
    database = Database(settings.database_url)
    now = utc_now()
    folder = InstanceFolder(settings.instance_dir)
    pepper = folder.load_secrets().codename_pepper
    try:
        with database.session() as session:
            dialogue = session.scalars(
                select(Dialogue).where(Dialogue.slug == INBOX_DIALOGUE_SLUG)
            ).one()
            open_session = None
            if kind is not SubmissionKind.REPRISAL_REPORT:
                open_session = next(
                    item
                    for item in session.scalars(
                        select(DialogueSession).where(DialogueSession.dialogue_id == dialogue.id)
                    )
                    if consultation_accepts_submissions(item, now)
                )
            new = register_new_codename(session, pepper, language="en", today=now.date())
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
                recovery_signing_key=folder.load_recovery_signing_key(),
            )
            session.commit()
            return SentSubmission(new.codename, submission.public_id, form)
    finally:
        database.dispose()


@pytest.fixture
def send_under_new_codename() -> Callable[..., SentSubmission]:
    """:func:`send_to_valdoria`, for tests that take it as a fixture: call it with an instance's
    ``Settings``, the ``SubmissionKind`` and the form."""
    return send_to_valdoria


def seal_as_before_per_submission_keys(settings: Settings, sent: SentSubmission) -> None:
    """Make ``sent`` a row as the release before per-submission keys stored it: its envelope
    sealed to, and its row naming, the key of the codename itself, under its v1 context and
    without signatures (which came later still), and its row naming its submitter
    (``submitter_id``) instead of carrying an owner tag."""
    codename_key = crypto.derive_codename_secrets(sent.codename)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            submission = session.scalars(
                select(Submission).where(Submission.public_id == sent.public_id)
            ).one()
            address = SubmissionAddress.of(submission)
            key = submission_private_key(submission, codename_key)
            payload = decode_payload(
                crypto.open_envelope(submission.envelope, key, signed_submission_context(address))
            )
            del payload["signatures"]
            if submission.identity is not None:  # that release kept the names in the envelope
                identities = crypto.open_envelope(
                    submission.identity.envelope, key, signed_identities_context(address)
                )
                payload = merge_identities(payload, decode_payload(identities), submission.kind)
                submission.identity = None
            submission.submitter_public_key = codename_key.public_key_bytes()
            submission.signature = submission.signing_public_key = None
            submission.owner_tag = None
            submission.submitter_id = session.scalars(
                select(Submitter.id).where(Submitter.public_key == codename_key.public_key_bytes())
            ).one()
            submission.envelope = crypto.seal_envelope(
                encode_payload(payload),
                recipient_keys(submission.desk_key, submission.submitter_public_key),
                submission_context(address),
            )
            session.commit()
    finally:
        database.dispose()


# --- resumable uploads of browser-encrypted attachments ----------------------------------------


@pytest.fixture(scope="module")
def uploads_app(plain_instance: PlainInstance) -> Flask:
    """The portal over a fresh instance, for tests that send uploads through its API."""
    return create_app(plain_instance.settings)


def issued_submission_id(app: Flask) -> str:
    """A submission id ``app`` issued now, as a form page it serves would carry."""
    return web_instance(app).submission_ids.issue(utc_now())


def csrf_token_for(client: Any) -> str:
    """A CSRF token valid for ``client``'s session, as a script would send in ``X-CSRFToken``.

    Made in a request context of the client's application and planted in the client's session,
    the way a page that renders ``csrf_token()`` would.
    """
    from flask import session as flask_session
    from flask_wtf.csrf import generate_csrf

    with client.application.test_request_context():
        token = generate_csrf()
        raw_token = flask_session["csrf_token"]
    with client.session_transaction() as client_session:
        client_session["csrf_token"] = raw_token
    return token


def padded_for_upload(content: bytes) -> bytes:
    """``content`` followed by the zero bytes that pad it to its bucket, as a writer must send it
    (docs/FORMATS.md, ``parley-attachment-keys-v2``)."""
    return content + bytes(padded_file_size(len(content)) - len(content))


def true_content(decrypted: bytes, record: dict[str, Any]) -> bytes:
    """The true bytes of a decrypted ``parley-attachment-keys-v2`` file, its padding checked
    against the format's definition (padded to exactly the bucket of ``size``, with zeros)."""
    assert record["format"] == "parley-attachment-keys-v2"
    size = record["size"]
    assert decrypted == padded_for_upload(decrypted[:size])
    return decrypted[:size]
