"""Staff digests (``services.staff.digests``, ``portal digest send``) against a real SMTP server,
and the opt-in on the account page.

A local aiosmtpd server on 127.0.0.1, at a free port, takes every message and can refuse chosen
recipients. The world (``consultation_world``, both databases) has work waiting for a triage
officer and a co-chair who opted in, and beside them accounts that must get nothing: one who did
not opt in, an opted-in account that is deactivated, an opted-in observer. Every submission
carries a canary string in what its submitter wrote; no digest may hold it, nor any public id,
the name of the person in the case, a dialogue's name or a colleague's name or address.
Servers with STARTTLS and with TLS from the start, under a self-signed certificate, show that the
mailer checks certificates and never falls back to plain text.
"""

import datetime as dt
import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.db import Database, app_database
from portal.instance import InstanceFolder, InstanceSecrets
from portal.mail import MailNotSentError, SmtpMailer
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaState,
    AuditEvent,
    DialogueSession,
    FollowUpAction,
    HandoverEntry,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
    SubmissionKind,
    SubmissionState,
)
from portal.services.staff.digests import (
    DigestCounts,
    DigestRun,
    digest_message,
    send_due_digests,
)
from portal.settings import SmtpSecurity, SmtpSettings
from tests.conftest import (
    ConsultationWorld,
    DeskPerson,
    PlainInstance,
    csrf_token_for,
    desk_person,
    portal_environment,
    run_portal,
)
from tests.desk_world_support import CASE_FORM, sent_submission
from tests.staff_sessions_support import add_test_account, sign_in_client

SENDER = "parley@digest.test.invalid"
PERSON_IN_CASE = "Oriel Vantablack-Ndiaye"


# --- the mail server ---------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the server received, and the recipients it refuses (``550``)."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    def for_address(self, address: str) -> list[bytes]:
        return [raw for recipients, raw in self.received if address in recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MailServer:
    port: int
    mailbox: Mailbox

    def mailer(self) -> SmtpMailer:
        return SmtpMailer(
            SmtpSettings(
                host="127.0.0.1", port=self.port, security=SmtpSecurity.NONE, from_address=SENDER
            )
        )


@pytest.fixture(scope="module")
def smtp_controller() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


@pytest.fixture
def mail_server(smtp_controller: tuple[Controller, Mailbox]) -> MailServer:
    controller, mailbox = smtp_controller
    mailbox.received.clear()
    mailbox.refused.clear()
    return MailServer(controller.port, mailbox)


# --- a world with work waiting -----------------------------------------------------------------


@dataclass
class Waiting:
    world: ConsultationWorld
    database: Database
    officer: DeskPerson
    co_chair: DeskPerson
    not_opted_in: DeskPerson
    deactivated: DeskPerson
    observer: DeskPerson
    canary: str
    public_ids: list[str]

    def run(self, server: MailServer, *, days_later: int = 0) -> DigestRun:
        today = self.world.now.date() + dt.timedelta(days=days_later)
        return send_due_digests(self.database, server.mailer(), today=today)

    def user(self, person: DeskPerson) -> StaffUser:
        self.world.session.expire_all()
        return self.world.session.get(StaffUser, person.user.id)


def _person(world: ConsultationWorld, role: StaffRole, name: str, **options: Any) -> DeskPerson:
    person = desk_person(world, role, **options)
    person.user.display_name = name
    person.user.digest_opt_in = True
    return person


@pytest.fixture
def waiting(consultation_world: ConsultationWorld, database_url: str) -> Iterator[Waiting]:
    """Two submissions to triage, one handover proposal of the officer's for the co-chair, the
    open session's draft agenda, a session held ten days ago without its record, and on the
    roadmap one overdue action beside one done and one not yet due (the co-chair's)."""
    world = consultation_world
    officer = _person(world, StaffRole.TRIAGE_OFFICER, "Officer Quillfeather")
    co_chair = _person(world, StaffRole.CO_CHAIR, "Co-chair Marchbanks")
    not_opted_in = _person(world, StaffRole.TRIAGE_OFFICER, "Officer Stillwater")
    not_opted_in.user.digest_opt_in = False
    deactivated = _person(world, StaffRole.TRIAGE_OFFICER, "Officer Gone", active=False)
    observer = _person(world, StaffRole.OBSERVER, "Observer Lindqvist")
    canary = f"DIGEST-CANARY-{uuid.uuid4().hex}"
    form = {
        **CASE_FORM,
        "situation": f"Detained since spring. {canary}",
        "persons": [{**CASE_FORM["persons"][0], "name": PERSON_IN_CASE}],
    }
    cases = [sent_submission(world, SubmissionKind.INDIVIDUAL_CASE, form) for _ in range(3)]
    proposed = cases[2]
    proposed.state = SubmissionState.ACCEPTED
    world.session.add(
        HandoverEntry(
            session_id=world.dialogue_session.id,
            submission_id=proposed.id,
            proposed_by_id=officer.user.id,
        )
    )
    world.session.add(
        DialogueSession(
            dialogue_id=world.dialogue.id,
            date=world.now.date() - dt.timedelta(days=10),
            place=SessionPlace.VIDEO,
            state=SessionState.HELD,
            agenda_state=AgendaState.FINAL,
        )
    )
    for days, state in (
        (-5, ActionState.IN_PROGRESS),
        (-5, ActionState.DONE),
        (5, ActionState.PLANNED),
    ):
        world.session.add(
            FollowUpAction(
                dialogue_id=world.dialogue.id,
                title=f"Release the detained lawyers {canary}",
                owner=ActionOwner.PARTNER,
                due_on=world.now.date() + dt.timedelta(days=days),
                state=state,
                created_by_id=co_chair.user.id,
            )
        )
    world.session.commit()
    database = Database(database_url)
    try:
        yield Waiting(
            world=world,
            database=database,
            officer=officer,
            co_chair=co_chair,
            not_opted_in=not_opted_in,
            deactivated=deactivated,
            observer=observer,
            canary=canary,
            public_ids=[case.public_id for case in cases],
        )
    finally:
        database.dispose()


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def listed(message: EmailMessage) -> list[str]:
    return [line for line in message.get_content().splitlines() if line.startswith("- ")]


# --- the digest --------------------------------------------------------------------------------


def test_each_digest_holds_its_counts_and_nothing_else(
    waiting: Waiting, mail_server: MailServer
) -> None:
    run = waiting.run(mail_server)

    assert (run.sent, run.nothing_waiting, run.already_sent_today, run.failed) == (2, 0, 0, 0)
    officer, co_chair = waiting.officer.user, waiting.co_chair.user
    [officer_raw] = mail_server.mailbox.for_address(officer.email)
    [co_chair_raw] = mail_server.mailbox.for_address(co_chair.email)
    assert len(mail_server.mailbox.received) == 2
    assert listed(parsed(officer_raw)) == [
        "- 2 submissions to triage",
        "- 1 session record to enter",
    ]
    assert listed(parsed(co_chair_raw)) == [
        "- 1 handover entry to approve",
        "- 1 agenda to agree",
        "- 1 session record to enter",
        "- 1 follow-up action overdue",
    ]
    world = waiting.world
    staff = [waiting.officer, waiting.co_chair, waiting.not_opted_in, waiting.deactivated]
    for recipient, raw in ((officer, officer_raw), (co_chair, co_chair_raw)):
        message = parsed(raw)
        assert message["To"] == recipient.email
        assert message["From"] == SENDER
        assert message["Auto-Submitted"] == "auto-generated"
        assert message.get_content_type() == "text/plain"
        text = (raw.decode("utf-8", "replace") + message.get_content()).lower()
        forbidden = [
            waiting.canary,
            PERSON_IN_CASE,
            "Defender",
            world.dialogue.partner,
            world.dialogue.slug,
            "http",
            "detained lawyers",
            *waiting.public_ids,
            *(person.user.display_name for person in [*staff, waiting.observer]),
            *(person.user.email for person in staff if person.user.id != recipient.id),
        ]
        assert [word for word in forbidden if word.lower() in text] == []


def test_at_most_one_digest_a_day(waiting: Waiting, mail_server: MailServer) -> None:
    assert waiting.run(mail_server).sent == 2
    assert waiting.user(waiting.officer).digest_last_sent_on == waiting.world.now.date()

    again = waiting.run(mail_server)

    assert (again.sent, again.already_sent_today, again.skipped) == (0, 2, 2)
    assert len(mail_server.mailbox.received) == 2
    assert waiting.run(mail_server, days_later=1).sent == 2


def test_who_did_not_opt_in_or_is_deactivated_or_has_no_queues_gets_nothing(
    waiting: Waiting, mail_server: MailServer
) -> None:
    waiting.run(mail_server)

    for person in (waiting.not_opted_in, waiting.deactivated, waiting.observer):
        assert mail_server.mailbox.for_address(person.user.email) == []
        assert waiting.user(person).digest_last_sent_on is None


def test_nothing_is_sent_when_nothing_waits_and_the_day_stays_open(
    consultation_world: ConsultationWorld, database_url: str, mail_server: MailServer
) -> None:
    idle = _person(consultation_world, StaffRole.CO_CHAIR, "Co-chair Idle")
    consultation_world.dialogue_session.agenda_state = AgendaState.AGREED
    consultation_world.session.commit()
    database = Database(database_url)
    try:
        today = consultation_world.now.date()
        run = send_due_digests(database, mail_server.mailer(), today=today)
    finally:
        database.dispose()

    assert (run.sent, run.nothing_waiting, run.failed) == (0, 1, 0)
    assert mail_server.mailbox.received == []
    consultation_world.session.expire_all()
    assert consultation_world.session.get(StaffUser, idle.user.id).digest_last_sent_on is None


def test_a_refused_digest_is_not_marked_sent_and_does_not_stop_the_others(
    waiting: Waiting, mail_server: MailServer
) -> None:
    co_chair = waiting.co_chair.user
    mail_server.mailbox.refused.add(co_chair.email)

    run = waiting.run(mail_server)

    assert (run.sent, run.failed) == (1, 1)
    assert [failure.staff_user_id for failure in run.failures] == [co_chair.id]
    assert co_chair.email not in run.failures[0].reason
    assert "SMTPRecipientsRefused" in run.failures[0].reason
    assert len(mail_server.mailbox.for_address(waiting.officer.user.email)) == 1
    assert waiting.user(waiting.co_chair).digest_last_sent_on is None

    mail_server.mailbox.refused.clear()
    retried = waiting.run(mail_server)

    assert (retried.sent, retried.already_sent_today, retried.failed) == (1, 1, 0)
    assert len(mail_server.mailbox.for_address(co_chair.email)) == 1


# --- the command -------------------------------------------------------------------------------


def _command_environment(waiting: Waiting, database_url: str, port: int) -> dict[str, Any]:
    InstanceFolder(waiting.world.instance_dir).create(InstanceSecrets.generate())
    return {
        **portal_environment(waiting.world.instance_dir, database_url),
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(port),
        "PORTAL_SMTP_SECURITY": "none",
        "PORTAL_SMTP_FROM": SENDER,
    }


def test_the_command_sends_and_counts_without_any_address(
    waiting: Waiting, database_url: str, mail_server: MailServer
) -> None:
    environment = _command_environment(waiting, database_url, mail_server.port)
    addresses = [person.user.email for person in (waiting.officer, waiting.co_chair)]

    unreachable = run_portal(
        {**environment, "PORTAL_SMTP_PORT": str(free_port())}, "digest", "send"
    )

    assert unreachable.exit_code == 1
    assert "Digests sent: 0, skipped: 0" in unreachable.stdout
    assert "failed: 2" in unreachable.stdout
    assert f"Not sent to staff account {waiting.officer.user.id}: " in unreachable.stderr
    assert [address for address in addresses if address in unreachable.output] == []
    assert waiting.user(waiting.officer).digest_last_sent_on is None

    sent = run_portal(environment, "digest", "send")

    assert sent.exit_code == 0, sent.output
    assert sent.stdout.strip() == (
        "Digests sent: 2, skipped: 0 (nothing waiting: 0, already sent today: 0), failed: 0."
    )
    assert [address for address in addresses if address in sent.output] == []
    assert len(mail_server.mailbox.received) == 2
    again = run_portal(environment, "digest", "send")
    assert "Digests sent: 0, skipped: 2" in again.stdout


def test_the_command_refuses_without_a_mail_server(tmp_path: Any) -> None:
    result = run_portal(portal_environment(tmp_path / "instance"), "digest", "send")

    assert result.exit_code == 2
    assert "PORTAL_SMTP_HOST" in result.output


# --- the opt-in on the account page ------------------------------------------------------------

PASSPHRASE = "digest switch passphrase for tests"


@dataclass
class AccountPages:
    app: Flask
    officer_email: str
    colleague_email: str
    observer_email: str


@pytest.fixture(scope="module")
def account_pages(plain_instance: PlainInstance) -> AccountPages:
    app = create_app(plain_instance.settings)
    at_rest_key = InstanceFolder(plain_instance.settings.instance_dir).load_secrets().at_rest_key
    with app_database(app).session() as session:
        emails = [
            add_test_account(session, name, role, PASSPHRASE, at_rest_key=at_rest_key).email
            for name, role in (
                ("digest_officer", StaffRole.TRIAGE_OFFICER),
                ("digest_colleague", StaffRole.CO_CHAIR),
                ("digest_observer", StaffRole.OBSERVER),
            )
        ]
        session.commit()
    return AccountPages(app, *emails)


def _signed_in(pages: AccountPages, email: str) -> Any:
    client = pages.app.test_client()
    sign_in_client(pages.app, client, email, PASSPHRASE)
    return client


def _account(pages: AccountPages, email: str) -> StaffUser:
    with app_database(pages.app).session() as session:
        return session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def test_a_person_switches_their_own_digest_on_and_off(account_pages: AccountPages) -> None:
    client = _signed_in(account_pages, account_pages.officer_email)
    page = client.get("/staff/account").get_data(as_text=True)
    assert "Your digest is off." in page
    officer = _account(account_pages, account_pages.officer_email)
    colleague = _account(account_pages, account_pages.colleague_email)

    switched_on = client.post(
        "/staff/account/digest",
        data={
            "csrf_token": csrf_token_for(client),
            "digest": "on",
            "staff_user_id": str(colleague.id),
        },
    )

    assert switched_on.status_code == 302
    assert "Your digest is on." in client.get("/staff/account").get_data(as_text=True)
    with app_database(account_pages.app).session() as session:
        session.get(StaffUser, officer.id).digest_last_sent_on = dt.date(2026, 3, 2)
        session.commit()
    assert "The last one was sent on March 2, 2026." in client.get("/staff/account").get_data(
        as_text=True
    )
    assert _account(account_pages, account_pages.officer_email).digest_opt_in is True
    assert _account(account_pages, account_pages.colleague_email).digest_opt_in is False
    with app_database(account_pages.app).session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "staff.digest_changed")
            .order_by(AuditEvent.sequence.desc())
        ).first()
        assert event is not None
        assert (event.object_id, event.actor_staff_user_id, event.details) == (
            str(officer.id),
            officer.id,
            {"digest": True},
        )
    client.post(
        "/staff/account/digest", data={"csrf_token": csrf_token_for(client), "digest": "off"}
    )
    assert _account(account_pages, account_pages.officer_email).digest_opt_in is False


def test_the_switch_refuses_forged_malformed_and_unoffered_requests(
    account_pages: AccountPages,
) -> None:
    client = _signed_in(account_pages, account_pages.officer_email)

    forged = client.post("/staff/account/digest", data={"digest": "on"})
    malformed = client.post(
        "/staff/account/digest", data={"csrf_token": csrf_token_for(client), "digest": "yes"}
    )
    observer = _signed_in(account_pages, account_pages.observer_email)
    unoffered = observer.post(
        "/staff/account/digest", data={"csrf_token": csrf_token_for(observer), "digest": "on"}
    )
    anonymous = account_pages.app.test_client().post("/staff/account/digest", data={"digest": "on"})

    assert (forged.status_code, malformed.status_code, unoffered.status_code) == (400, 400, 403)
    assert anonymous.status_code in (302, 400)
    assert "Daily e-mail digest" not in observer.get("/staff/account").get_data(as_text=True)
    for email in (account_pages.officer_email, account_pages.observer_email):
        assert _account(account_pages, email).digest_opt_in is False


def test_starttls_never_falls_back_to_plain_text(mail_server: MailServer) -> None:
    """The test server offers no STARTTLS: a mailer told to use it gives up, sending nothing."""
    mailer = SmtpMailer(
        SmtpSettings(
            host="127.0.0.1",
            port=mail_server.port,
            security=SmtpSecurity.STARTTLS,
            from_address=SENDER,
        )
    )
    message = digest_message(
        DigestCounts(to_triage=1), to_address="someone@example.org", from_address=SENDER
    )

    with pytest.raises(MailNotSentError, match="SMTPNotSupportedError"):
        mailer.send(message)
    assert mail_server.mailbox.received == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    issued = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    certificate_file, key_file = folder / "certificate.pem", folder / "key.pem"
    certificate_file.write_bytes(issued.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


@pytest.mark.parametrize("security", [SmtpSecurity.STARTTLS, SmtpSecurity.TLS])
def test_an_encrypted_connection_goes_through_only_to_a_trusted_certificate(
    certificate: tuple[Path, Path], security: SmtpSecurity, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*certificate)
    mailbox = Mailbox()
    if security is SmtpSecurity.TLS:
        options: dict[str, Any] = {"ssl_context": server_context}
    else:
        options = {"tls_context": server_context, "require_starttls": True}
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        mailer = SmtpMailer(
            SmtpSettings(
                host="127.0.0.1", port=controller.port, security=security, from_address=SENDER
            )
        )
        message = digest_message(
            DigestCounts(to_triage=1), to_address="someone@example.org", from_address=SENDER
        )
        with pytest.raises(MailNotSentError, match="SSLCertVerificationError"):
            mailer.send(message)
        assert mailbox.received == []

        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        mailer.send(message)
    finally:
        controller.stop()

    assert [recipients for recipients, _raw in mailbox.received] == [["someone@example.org"]]
