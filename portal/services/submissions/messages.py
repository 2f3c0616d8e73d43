"""Messages between the desk and a submission's author, sealed so that only those two can read.

Each message is one envelope (``crypto.seal_envelope``) holding ``parley-desk-message-v1``,
sealed under ``contexts.desk_message_context`` to exactly two recipients
(``contexts.recipient_keys``): the dialogue's desk key current when the message is written
(``desk_keys.current_desk_key``) and the key the submission names for its submitter
(docs/FORMATS.md, "Envelope contexts" and "Envelope plaintexts"). The message's public id is random
(``contexts.new_public_id``) and unique among messages, and the context names it and the
submission, so an envelope cannot be replayed as another message, nor moved to another
submission, dialogue, session or kind. The same context serves both directions; ``written_by``
says which end wrote it.

Desk to submitter (:func:`send_desk_message`): a staff member who may message the dialogue
(``need_to_know.may_message``: a triage officer or co-chair on the desk) and may read the
submission (``need_to_know.submission_access`` is ``READ``) writes, on the server, to a
submission whose author ticked "the EU Delegation may contact me through the portal" (the
``contact_through_portal`` flag inside the opened submission). Anything else is refused and
nothing is stored. The plaintext lives in the request only; the row keeps the envelope, the
desk key it is sealed to, the author's staff id and the day (not the time) it was sent.

Submitter to desk (:func:`reply_plain` and :func:`reply_sealed`): replies are accepted whatever
the contact flag (the submitter chose to write) and checked and sealed exactly like further
information (``inbox.checked_addition`` and ``inbox.sealed_addition``). Without JavaScript the
server seals the reply for that request under a public id it makes; with JavaScript the page
seals it under a public id the server issued with the page, and the server checks the envelope's
context and recipients before storing it, never seeing the text.

Reading: the desk opens each message with the desk key it is sealed to
(:func:`thread_for_desk`, through ``staff_reading.StaffReader``), so messages sealed before a
rotation stay readable to whoever holds the old key's grant; the submitter opens them with the
key their codename gives the submission (``submitter_keys.submission_private_key``;
:func:`thread_for_submitter`, or in the browser from
:func:`sealed_thread`). Both ends check the format after opening: a browser-sealed reply cannot
be checked by the server, so a reply that is not a valid message is shown as unreadable.

Audit events name ids only: ``message.sent`` (the staff author as actor) and
``message.received`` (no actor), each with the message's and the submission's internal ids.
Messages hang from their submission and are deleted with it (crypto-shredding takes the thread).
"""

import datetime as dt
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import DeskKey, DeskMessage, MessageAuthor, StaffUser, Submission
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import (
    SubmissionAddress,
    desk_message_context,
    is_public_id,
    new_public_id,
)
from portal.services.desks.need_to_know import Access, may_message, submission_access
from portal.services.staff.reading import OpenedForStaff, StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import SealedRecord, checked_addition, sealed_addition
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.owner_tags import walk
from portal.services.submissions.payload import LONG_TEXT_LIMIT, PayloadError
from portal.services.submissions.submitter_keys import SubmitterKey, submission_private_key

MESSAGE_FORMAT = "parley-desk-message-v1"


class MessageNotAllowedError(PermissionError):
    """This staff member may not write to this submission's author (role, desk or restriction)."""

    def __init__(self) -> None:
        super().__init__("You may not write to the author of this submission.")


class ContactNotAgreedError(ValueError):
    """The submitter did not agree to be contacted through the portal."""

    def __init__(self) -> None:
        super().__init__(
            "The submitter did not agree to be contacted through the portal, so no message "
            "can be sent to them. They can still write to the desk."
        )


@dataclass(frozen=True)
class ThreadEntry:
    """One message opened for one response; ``text`` is ``None`` when it cannot be shown."""

    public_id: str
    written_by: MessageAuthor
    sent_on: dt.date
    text: str | None
    author_name: str | None = None  # the staff author, for the desk's view only


@dataclass(frozen=True)
class SealedMessage:
    """One message still sealed, with what the browser needs to open and label it."""

    public_id: str
    written_by: MessageAuthor
    sent_on: dt.date
    record: SealedRecord


@dataclass(frozen=True)
class DeskMessageSummary:
    """How many messages the desk wrote on one submission, and on which day the latest."""

    count: int
    latest_on: dt.date


def validate_message(data: Mapping[str, Any]) -> dict[str, Any]:
    """A message's payload from what was typed: one required text of at most the long limit."""
    text = data.get("text", "")
    if not isinstance(text, str):
        raise PayloadError({"text": "must be text"})
    text = text.strip()
    if not text:
        raise PayloadError({"text": "is required"})
    if len(text) > LONG_TEXT_LIMIT:
        raise PayloadError({"text": f"must be at most {LONG_TEXT_LIMIT} characters"})
    return {"format": MESSAGE_FORMAT, "text": text}


def read_message(plaintext: bytes) -> str | None:
    """The text of an opened message, or ``None`` when it is not a valid message."""
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MESSAGE_FORMAT:
        return None
    try:
        return validate_message(data)["text"]
    except PayloadError:
        return None


def message_context(submission: Submission, message_public_id: str) -> str:
    """The context a message of ``submission`` with this public id is sealed under."""
    return desk_message_context(SubmissionAddress.of(submission), message_public_id)


def send_desk_message(
    session: Session,
    signed_in: SignedInStaff,
    opened: OpenedForStaff,
    form: Mapping[str, Any],
    *,
    now: dt.datetime,
) -> DeskMessage:
    """Seal a desk member's message to the submission's author (see the module docstring).

    ``opened`` is the submission as ``staff_reading.open_submission_for_staff`` opened it for
    this request: the contact choice is inside the envelope. ``MessageNotAllowedError``,
    ``ContactNotAgreedError`` or ``PayloadError`` refuse it, before anything is stored.
    """
    user = signed_in.user
    submission = opened.submission
    if not may_message(session, user, submission.dialogue) or (
        submission_access(session, user, submission, now=now) is not Access.READ
    ):
        raise MessageNotAllowedError()
    if opened.payload.get("contact_through_portal") is not True:
        raise ContactNotAgreedError()
    payload = validate_message(form)
    public_id = _unused_public_id(session)
    desk_key, envelope = sealed_addition(
        session, submission, payload, functools.partial(_context_of, public_id)
    )
    message = _store(
        session, submission, public_id, MessageAuthor.DESK, user, desk_key, envelope, now.date()
    )
    record_event(
        session,
        action=AuditAction.MESSAGE_SENT,
        object_type="desk_message",
        object_id=message.id,
        actor=user,
        dialogue=submission.dialogue,
        details={"submission_id": submission.id},
    )
    return message


def reply_plain(
    session: Session, submission: Submission, form: Mapping[str, Any], *, today: dt.date
) -> DeskMessage:
    """Validate and seal the submitter's reply posted without JavaScript."""
    payload = validate_message(form)
    public_id = _unused_public_id(session)
    desk_key, envelope = sealed_addition(
        session, submission, payload, functools.partial(_context_of, public_id)
    )
    return _received(session, submission, public_id, desk_key, envelope, today)


def reply_sealed(
    session: Session,
    submission: Submission,
    public_id: str,
    envelope: bytes,
    *,
    today: dt.date,
) -> DeskMessage:
    """Store a reply the submitter's browser sealed under ``public_id``, once it is checked.

    The public id must be one the server could have issued (:func:`new_reply_id`) and not yet
    used; the envelope must name this submission's message context for it and be addressed to
    exactly the current desk key and the submitter. ``SubmissionRefusedError`` otherwise.
    """
    if not is_public_id(public_id) or _public_id_used(session, public_id):
        raise SubmissionRefusedError("this reply has already been sent; reload the page")
    desk_key = checked_addition(
        session, submission, envelope, functools.partial(_context_of, public_id)
    )
    return _received(session, submission, public_id, desk_key, bytes(envelope), today)


def new_reply_id(session: Session) -> str:
    """A fresh public id for the page to seal a reply under."""
    return _unused_public_id(session)


def thread_for_desk(
    session: Session, submission: Submission, reader: StaffReader
) -> list[ThreadEntry]:
    """The thread opened with the desk keys the reader holds, oldest first.

    A message sealed to a desk key the reader cannot open (no grant of it) is listed unreadable.
    """
    entries = []
    for message in submission.messages:
        try:
            key = reader.desk_private_key(message.desk_key)
            text = read_message(
                crypto.open_envelope(
                    message.envelope, key, message_context(submission, message.public_id)
                )
            )
        except (crypto.DecryptionError, PermissionError, LookupError):
            text = None
        author = None if message.author is None else message.author.display_name
        entries.append(
            ThreadEntry(message.public_id, message.written_by, message.sent_on, text, author)
        )
    return entries


def thread_for_submitter(submission: Submission, secrets: SubmitterKey) -> list[ThreadEntry]:
    """The thread opened with the submitter's key for one response, oldest first."""
    key = submission_private_key(submission, secrets)
    entries = []
    for sealed in sealed_thread(submission):
        try:
            text = read_message(
                crypto.open_envelope(sealed.record.envelope, key, sealed.record.context)
            )
        except crypto.DecryptionError:
            text = None
        entries.append(ThreadEntry(sealed.public_id, sealed.written_by, sealed.sent_on, text))
    return entries


def sealed_thread(submission: Submission) -> tuple[SealedMessage, ...]:
    """The thread still sealed, for the submitter's browser to open."""
    return tuple(
        SealedMessage(
            message.public_id,
            message.written_by,
            message.sent_on,
            SealedRecord(message_context(submission, message.public_id), message.envelope),
        )
        for message in submission.messages
    )


def desk_messages_by_submission(
    session: Session, owner_tag_key: bytes
) -> dict[str, DeskMessageSummary]:
    """For the inbox: the submitter's submissions the desk wrote on, by public id."""
    owned = [submission.id for submission in walk(session, owner_tag_key).submissions]
    rows = session.execute(
        select(Submission.public_id, func.count(DeskMessage.id), func.max(DeskMessage.sent_on))
        .join(DeskMessage, DeskMessage.submission_id == Submission.id)
        .where(Submission.id.in_(owned), DeskMessage.written_by == MessageAuthor.DESK)
        .group_by(Submission.public_id)
    )
    return {public_id: DeskMessageSummary(count, latest_on) for public_id, count, latest_on in rows}


def _context_of(public_id: str, address: SubmissionAddress) -> str:
    return desk_message_context(address, public_id)


def _public_id_used(session: Session, public_id: str) -> bool:
    found = session.scalars(select(DeskMessage.id).where(DeskMessage.public_id == public_id))
    return found.first() is not None


def _unused_public_id(session: Session) -> str:
    while True:  # 128 random bits: a repeat is not expected, but would break the unique index
        public_id = new_public_id()
        if not _public_id_used(session, public_id):
            return public_id


def _received(
    session: Session,
    submission: Submission,
    public_id: str,
    desk_key: DeskKey,
    envelope: bytes,
    today: dt.date,
) -> DeskMessage:
    message = _store(
        session, submission, public_id, MessageAuthor.SUBMITTER, None, desk_key, envelope, today
    )
    record_event(
        session,
        action=AuditAction.MESSAGE_RECEIVED,
        object_type="desk_message",
        object_id=message.id,
        dialogue=submission.dialogue,
        details={"submission_id": submission.id},
    )
    return message


def _store(
    session: Session,
    submission: Submission,
    public_id: str,
    written_by: MessageAuthor,
    author: StaffUser | None,
    desk_key: DeskKey,
    envelope: bytes,
    sent_on: dt.date,
) -> DeskMessage:
    message = DeskMessage(
        public_id=public_id,
        written_by=written_by,
        author=author,
        desk_key=desk_key,
        sent_on=sent_on,
        envelope=envelope,
    )
    submission.messages.append(message)
    session.flush()
    return message
