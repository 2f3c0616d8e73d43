"""The staff digest: once a day at most, an e-mail of how much work waits, for those who ask.

What it says. Totals per queue over all of the person's desks, no more: submissions to triage,
handover entries to approve, agendas to agree, session records to enter, overdue follow-up
actions. The counts are the ones the staff home page shows (``rounds.waiting``: summed over
sessions, and over dialogues for the overdue actions), so the two never disagree. A digest names
no dialogue, no session, no submission or public id, no person in a case, no colleague, and
carries no link. Why even dialogue names stay out: an e-mail leaves the portal's protection --
it crosses mail servers, sits in mailboxes and on phones, is forwarded and backed up -- and
"3 new inputs on the Valdoria desk" tells whoever reads it which partner country's civil
society is writing to the EU, and when, and that this official works on it. Totals tell them
only that the official has some work. Why no link: staff are told to reach the portal by their
own bookmark, so a message that imitates a digest to phish a sign-in stands out. The
recipient's own name is left out too: the address already says whose mailbox it is.

Who gets one. An active account with a role that has such work (``DIGEST_ROLES``: triage
officers and co-chairs; an observer's or administrator's queues are always empty), whose owner
switched it on on their account page (:func:`set_digest_opt_in`; nobody can for someone else),
that has not had one today (UTC; ``StaffUser.digest_last_sent_on``), and for whom something
waits: a digest of zeros is not sent, because a daily "nothing to do" teaches people to ignore
the mail that matters, and the day is then not used up, so work arriving later that day is
still told in a later run.

How. :func:`send_due_digests` takes each candidate in its own transaction: it counts, then
claims the day with a conditional update (so two overlapping runs never both send) and commits
before handing the message to the mailer. A send that fails gives the day back, so the next run
tries again, and the run goes on with the next person; if the process dies between the claim
and the send, that person misses one day's digest rather than getting two. The run's result
counts sent, skipped and failed and names failed accounts by their id and the kind of failure
only: no address, no count, nothing else a log or a cron mail could leak.

The wording is the template ``staff/digest/digest.txt`` (subject and body), rendered in the
default language: staff accounts store no language (the web pages follow each request's
browser), so a scheduled job has no other to choose.
"""

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Protocol

from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from portal.db import Database
from portal.locales import DEFAULT_LOCALE, TRANSLATIONS_DIR
from portal.mail import MailNotSentError
from portal.models import StaffUser, utc_now
from portal.resources import shipped_folder
from portal.services.audit.trail import AuditAction, record_event
from portal.services.dialogues.dialogue_sessions import SESSION_MANAGER_ROLES
from portal.services.rounds.waiting import overdue_per_dialogue, waiting_per_session

DIGEST_ROLES = SESSION_MANAGER_ROLES
"""The roles whose work ``rounds.waiting`` counts, and so the only ones offered a digest."""
DIGEST_TEMPLATE = "staff/digest/digest.txt"


class DigestNotOfferedError(Exception):
    """The account's role has no queue a digest could count."""


@dataclass(frozen=True)
class DigestCounts:
    """How much waits for one person, per queue, over all of their desks."""

    to_triage: int = 0
    handover_to_approve: int = 0
    agendas_to_agree: int = 0
    records_to_enter: int = 0
    overdue_actions: int = 0

    @property
    def anything(self) -> bool:
        return any(
            (
                self.to_triage,
                self.handover_to_approve,
                self.agendas_to_agree,
                self.records_to_enter,
                self.overdue_actions,
            )
        )


@dataclass(frozen=True)
class FailedDigest:
    """A digest the mail server did not take: the account's id and the kind of failure."""

    staff_user_id: int
    reason: str


@dataclass
class DigestRun:
    """What one run did; ``skipped`` is nothing waiting plus already sent today."""

    sent: int = 0
    nothing_waiting: int = 0
    already_sent_today: int = 0
    failures: list[FailedDigest] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.nothing_waiting + self.already_sent_today

    @property
    def failed(self) -> int:
        return len(self.failures)


class Mailer(Protocol):
    """Hands a message to a mail server (``portal.mail.SmtpMailer``), or raises
    ``MailNotSentError``."""

    @property
    def from_address(self) -> str: ...

    def send(self, message: EmailMessage) -> None: ...


def digest_offered(user: StaffUser) -> bool:
    """Whether ``user``'s role has queues a digest counts."""
    return user.role in DIGEST_ROLES


def set_digest_opt_in(session: Session, user: StaffUser, wanted: bool) -> None:
    """Switch ``user``'s own digest on or off, audited as the owner's act with the new value
    only; ``DigestNotOfferedError`` for a role without queues."""
    if not digest_offered(user):
        raise DigestNotOfferedError(user.role)
    if user.digest_opt_in == wanted:
        return
    user.digest_opt_in = wanted
    record_event(
        session,
        action=AuditAction.STAFF_DIGEST_CHANGED,
        object_type="staff_user",
        object_id=user.id,
        actor=user,
        details={"digest": wanted},
    )


def digest_counts(session: Session, user: StaffUser, *, today: dt.date) -> DigestCounts:
    """The totals of the home page's waiting lists for ``user`` (``today`` in UTC)."""
    rows = waiting_per_session(session, user, today=today)
    overdue = overdue_per_dialogue(session, user, today=today)
    return DigestCounts(
        to_triage=sum(row.to_triage for row in rows),
        handover_to_approve=sum(row.handover_to_approve for row in rows),
        agendas_to_agree=sum(row.agenda_to_agree for row in rows),
        records_to_enter=sum(row.record_to_enter for row in rows),
        overdue_actions=sum(row.overdue for row in overdue),
    )


def digest_message(counts: DigestCounts, *, to_address: str, from_address: str) -> EmailMessage:
    """The e-mail of ``counts`` for ``to_address``: plain text, nothing but the counts."""
    module = _template().make_module({"counts": counts})
    message = EmailMessage()
    message["Subject"] = module.subject
    message["From"] = from_address
    message["To"] = to_address
    message["Date"] = format_datetime(utc_now())
    # The sender's domain, not this machine's host name, which make_msgid would otherwise use.
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    # RFC 3834: an automatic message, to which out-of-office replies should not be sent.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(str(module))
    return message


def send_due_digests(database: Database, mailer: Mailer, *, today: dt.date) -> DigestRun:
    """Send today's digests to everyone due one; see the module's docstring for the rules."""
    run = DigestRun()
    for user_id in _candidates(database):
        _send_one(database, mailer, user_id, today=today, run=run)
    return run


def _due() -> tuple[ColumnElement[bool], ...]:
    """What an account must be to be sent a digest at all."""
    return (
        StaffUser.active.is_(True),
        StaffUser.digest_opt_in.is_(True),
        StaffUser.role.in_(DIGEST_ROLES),
    )


def _candidates(database: Database) -> list[int]:
    with database.session() as session:
        return list(session.scalars(select(StaffUser.id).where(*_due()).order_by(StaffUser.id)))


def _send_one(
    database: Database, mailer: Mailer, user_id: int, *, today: dt.date, run: DigestRun
) -> None:
    """Count, claim the day and send for one account, adding what happened to ``run``."""
    with database.session() as session, session.begin():
        user = session.get(StaffUser, user_id)
        if user is None:  # deleted since the run began: nobody to tell
            return
        if user.digest_last_sent_on == today:
            run.already_sent_today += 1
            return
        counts = digest_counts(session, user, today=today)
        if not counts.anything:
            run.nothing_waiting += 1
            return
        previous = user.digest_last_sent_on
        if not _claim_day(session, user_id, today):  # another run, or switched off meanwhile
            run.already_sent_today += 1
            return
        message = digest_message(counts, to_address=user.email, from_address=mailer.from_address)
    try:
        mailer.send(message)
    except MailNotSentError as error:
        _give_day_back(database, user_id, today=today, previous=previous)
        run.failures.append(FailedDigest(user_id, str(error)))
        return
    run.sent += 1


def _claim_day(session: Session, user_id: int, today: dt.date) -> bool:
    """Mark today as the day of ``user_id``'s digest unless a run already did."""
    claimed = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user_id,
            *_due(),
            or_(StaffUser.digest_last_sent_on.is_(None), StaffUser.digest_last_sent_on != today),
        )
        .values(digest_last_sent_on=today)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def _give_day_back(
    database: Database, user_id: int, *, today: dt.date, previous: dt.date | None
) -> None:
    with database.session() as session, session.begin():
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id, StaffUser.digest_last_sent_on == today)
            .values(digest_last_sent_on=previous)
            .execution_options(synchronize_session=False)
        )


@cache
def _template() -> Template:
    environment = Environment(
        loader=FileSystemLoader(shipped_folder("templates")),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 -- plain text for an e-mail body, never HTML
    )
    environment.install_gettext_translations(
        Translations.load(str(TRANSLATIONS_DIR), [DEFAULT_LOCALE]), newstyle=True
    )
    return environment.get_template(DIGEST_TEMPLATE)
