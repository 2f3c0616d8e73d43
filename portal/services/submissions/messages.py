"""Messages between the desk and a submission's author, sealed so that only those two can read.

Each message is one envelope (``crypto.seal_envelope``) holding ``parley-desk-message-v1``,
sealed to exactly two recipients (``contexts.recipient_keys``): the dialogue's desk key current
when the message is written (``desk_keys.current_desk_key``) and the key the submission names for
its submitter (docs/FORMATS.md, "Envelope contexts" and "Envelope plaintexts"). The message's
public id is random (``contexts.new_public_id``) and unique among messages. For a signed
submission the context is ``contexts.signed_desk_message_context``: it names the message, its
position on its writer's side of the history and its direction, and the message is signed, by
the desk key's signing key for the desk (:func:`desk_signing_seed`) and by the submission's
signing key for a reply (docs/FORMATS.md, "Signed items in use"), so that it cannot be replayed,
reordered, turned round or moved to another submission, dialogue, session or kind. Messages of a
submission sent before signatures keep the unsigned v1 context
(``contexts.desk_message_context``), the same for both directions.

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

Reading: each message is first checked (``provenance.message_provenance``) and, when it fails,
shown as unverified and never opened. The desk opens each message with the desk key it is sealed
to (:func:`thread_for_desk`, through ``staff_reading.StaffReader``), so messages sealed before a
rotation stay readable to whoever holds the old key's grant; the submitter opens them with the
key their codename gives the submission (``submitter_keys.submission_private_key``;
:func:`thread_for_submitter`, or in the browser from :func:`sealed_thread`), checking desk
messages against the desk signing key their submission names. Both ends check the format after
opening: a browser-sealed reply cannot be checked by the server, so a reply that is not a valid
message is shown as unreadable.

A notice (``notices``: a debrief, progress on the roadmap) is a desk message whose envelope
holds ``parley-desk-notice-v1``; the readers here check it exactly like any desk message and then
tell the two apart by what the opened envelope holds (:func:`read_thread_item`), never by the
``purpose`` column. ``ThreadEntry.new`` carries the "new" flag of the submitter's inbox
(``inbox_news``).

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

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, object_session

import crypto
from portal.models import (
    DeskKey,
    DeskMessage,
    MessageAuthor,
    MessagePurpose,
    StaffUser,
    Submission,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    desk_message_context,
    is_public_id,
    new_public_id,
    signed_desk_message_context,
    signed_submission_context,
)
from portal.services.desks.need_to_know import Access, may_message, submission_access
from portal.services.staff.reading import OpenedForStaff, StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import (
    CONSENT_CHANGE,
    FURTHER_INFORMATION,
    Addition,
    AdditionKind,
    SealedRecord,
    addition_context,
    addition_position,
    checked_addition,
    history_order,
    sealed_addition,
    submitter_addition,
)
from portal.services.submissions.intake import SubmissionRefusedError, require_desk_key
from portal.services.submissions.notice_format import Notice, read_notice
from portal.services.submissions.owner_tags import walk
from portal.services.submissions.payload import LONG_TEXT_LIMIT, PayloadError
from portal.services.submissions.provenance import (
    Anchors,
    Provenance,
    item_provenance,
    message_provenance,
)
from portal.services.submissions.submitter_keys import SubmitterKey, submission_private_key
from portal.translatable import translatable

MESSAGE_FORMAT = "parley-desk-message-v1"


class MessageNotAllowedError(PermissionError):
    """This staff member may not write to this submission's author (role, desk or restriction)."""

    def __init__(self) -> None:
        super().__init__(translatable("You may not write to the author of this submission."))


class ContactNotAgreedError(ValueError):
    """The submitter did not agree to be contacted through the portal."""

    def __init__(self) -> None:
        super().__init__(
            "The submitter did not agree to be contacted through the portal, so no message "
            "can be sent to them. They can still write to the desk."
        )


@dataclass(frozen=True)
class ThreadEntry:
    """One message or notice opened for one response: ``text`` for a message, ``notice`` for a
    notice, both ``None`` when it cannot be shown. ``new`` marks a desk item the submitter's
    inbox has not shown yet (``DeskMessage.seen_by_submitter``)."""

    public_id: str
    written_by: MessageAuthor
    sent_on: dt.date
    text: str | None
    author_name: str | None = None  # the staff author, for the desk's view only
    provenance: Provenance = Provenance.SIGNED
    notice: Notice | None = None
    new: bool = False


@dataclass(frozen=True)
class SealedMessage:
    """One message still sealed, with what the browser needs to check, open and label it."""

    public_id: str
    written_by: MessageAuthor
    sent_on: dt.date
    record: SealedRecord
    desk_key_id_hex: str  # the key id of the desk key it is sealed to
    new: bool = False  # a desk item the submitter's inbox has not shown yet


@dataclass(frozen=True)
class DeskMessageSummary:
    """How many messages and notices the desk wrote on one submission, how many of them the
    submitter's inbox has not shown yet, and on which day the latest."""

    count: int
    latest_on: dt.date
    new: int = 0


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


def read_thread_item(plaintext: bytes) -> str | Notice | None:
    """What an opened thread envelope holds: a message's text, a notice, or ``None`` for
    anything else. The envelope decides which, not the ``purpose`` column beside it."""
    text = read_message(plaintext)
    return text if text is not None else read_notice(plaintext)


def message_kind(message_public_id: str, way: Direction) -> AdditionKind:
    """How a message with this public id going ``way`` is addressed, unsigned or signed."""
    return AdditionKind(
        "message",
        functools.partial(_context_of, message_public_id),
        lambda address, position: signed_desk_message_context(
            address, message_public_id, position, way
        ),
    )


def message_context(message: DeskMessage) -> str:
    """The context a stored message is sealed (and, with a position, signed) under."""
    kind = message_kind(message.public_id, _direction(message))
    return addition_context(message.submission, kind, message.position)


def reply_context(submission: Submission, reply_public_id: str) -> str:
    """The context the page seals the submitter's next reply under (``reply_sealed`` checks)."""
    kind = message_kind(reply_public_id, Direction.TO_DESK)
    return addition_context(submission, kind, addition_position(submission))


def next_desk_position(submission: Submission) -> int:
    """The next free position of the desk's side of a submission's history."""
    taken = [
        message.position
        for message in submission.messages
        if message.written_by is MessageAuthor.DESK and message.position is not None
    ]
    return 1 + max(taken, default=0)


def may_write(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> bool:
    """Who may write into a submission's thread, message or notice: a member who may message
    the dialogue and may read the submission."""
    return may_message(session, user, submission.dialogue) and (
        submission_access(session, user, submission, now=now) is Access.READ
    )


def require_may_write(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> None:
    """:func:`may_write`, or ``MessageNotAllowedError``."""
    if not may_write(session, user, submission, now=now):
        raise MessageNotAllowedError()


def store_desk_item(
    session: Session,
    reader: StaffReader,
    author: StaffUser,
    submission: Submission,
    payload: Mapping[str, Any],
    *,
    today: dt.date,
    purpose: MessagePurpose = MessagePurpose.MESSAGE,
    session_id: int | None = None,
    follow_up_action_id: int | None = None,
) -> DeskMessage:
    """Seal ``payload`` from the desk to the submission's author, signed by the desk signing
    key, at the desk's next position; the caller has checked :func:`require_may_write`."""
    public_id = unused_message_id(session)
    position = None if submission.signing_public_key is None else next_desk_position(submission)
    signing_seed = desk_signing_seed(reader, require_desk_key(session, submission.dialogue))
    addition = sealed_addition(
        session,
        submission,
        dict(payload),
        message_kind(public_id, Direction.TO_SUBMITTER),
        position,
        signing_seed,
    )
    return store_message(
        session,
        submission,
        public_id,
        MessageAuthor.DESK,
        author,
        addition,
        today,
        purpose=purpose,
        session_id=session_id,
        follow_up_action_id=follow_up_action_id,
    )


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
    require_may_write(session, user, submission, now=now)
    if opened.payload.get("contact_through_portal") is not True:
        raise ContactNotAgreedError()
    payload = validate_message(form)
    message = store_desk_item(session, opened.reader, user, submission, payload, today=now.date())
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
    session: Session,
    submission: Submission,
    secrets: SubmitterKey,
    form: Mapping[str, Any],
    *,
    today: dt.date,
) -> DeskMessage:
    """Validate, seal and sign the submitter's reply posted without JavaScript."""
    payload = validate_message(form)
    public_id = unused_message_id(session)
    kind = message_kind(public_id, Direction.TO_DESK)
    addition = submitter_addition(session, submission, secrets, payload, kind)
    return _received(session, submission, public_id, addition, today)


def reply_sealed(
    session: Session,
    submission: Submission,
    public_id: str,
    envelope: bytes,
    signature: bytes | None,
    *,
    today: dt.date,
) -> DeskMessage:
    """Store a reply the submitter's browser sealed under ``public_id``, once it is checked.

    The public id must be one the server could have issued (:func:`new_reply_id`) and not yet
    used; the envelope must name this submission's message context for it and be addressed to
    exactly the current desk key and the submitter. ``SubmissionRefusedError`` otherwise.
    """
    if not is_public_id(public_id) or _public_id_used(session, public_id):
        raise SubmissionRefusedError(
            translatable("this reply has already been sent; reload the page")
        )
    kind = message_kind(public_id, Direction.TO_DESK)
    addition = checked_addition(session, submission, envelope, signature, kind)
    return _received(session, submission, public_id, addition, today)


def new_reply_id(session: Session) -> str:
    """A fresh public id for the page to seal a reply under."""
    return unused_message_id(session)


def thread_for_desk(
    session: Session, submission: Submission, reader: StaffReader, anchors: Anchors
) -> list[ThreadEntry]:
    """The thread opened with the desk keys the reader holds, each message checked first.

    ``anchors`` are those of the opened submission. A message of the desk is checked with the
    signing key of the desk key it is sealed to, which the reader derives from the private half
    they hold (no column is trusted); a reply with the submission's signing key. A message sealed
    to a desk key the reader cannot open (no grant of it) is listed unreadable; one that fails
    the check is listed unverified, and both without text.
    """
    entries = []
    for message in thread_order(submission.messages):
        provenance = Provenance.SIGNED  # not known, and not said, while the key does not open
        content = None
        try:
            key = reader.desk_private_key(message.desk_key)
            desk_signing_key = crypto.desk_signing_public_key(key)
            provenance = _provenance(message, anchors, desk_signing_key)
            if provenance is not Provenance.UNVERIFIED:
                content = read_thread_item(
                    crypto.open_envelope(message.envelope, key, message_context(message))
                )
        except (crypto.DecryptionError, PermissionError, LookupError):
            content = None
        author = None if message.author is None else message.author.display_name
        entries.append(_entry(message, content, provenance, author))
    return entries


def thread_for_submitter(
    submission: Submission, secrets: SubmitterKey, anchors: Anchors
) -> list[ThreadEntry]:
    """The thread opened with the submitter's key for one response, each message checked first.

    ``anchors`` are those of the submission as the submitter opened it: a desk message must be
    signed by the desk signing key named inside the submission or, for one sealed under a later
    desk key, by that key as certified from the named one at each rotation
    (:func:`certified_desk_signing_keys`); one it cannot be linked to is listed unverified. A
    reply must be signed by the submission's own signing key.
    """
    key = submission_private_key(submission, secrets)
    trusted = certified_desk_signing_keys(submission, anchors)
    entries = []
    for message in thread_order(submission.messages):
        desk_signing_key = trusted.get(message.desk_key_id, anchors.desk_key)
        provenance = _provenance(message, anchors, desk_signing_key)
        content = None
        if provenance is not Provenance.UNVERIFIED:
            try:
                content = read_thread_item(
                    crypto.open_envelope(message.envelope, key, message_context(message))
                )
            except crypto.DecryptionError:
                content = None
        entries.append(_entry(message, content, provenance))
    return entries


def _entry(
    message: DeskMessage,
    content: str | Notice | None,
    provenance: Provenance,
    author_name: str | None = None,
) -> ThreadEntry:
    return ThreadEntry(
        message.public_id,
        message.written_by,
        message.sent_on,
        content if isinstance(content, str) else None,
        author_name,
        provenance,
        notice=content if isinstance(content, Notice) else None,
        new=not message.seen_by_submitter,
    )


def desk_key_history(submission: Submission) -> list[DeskKey]:
    """The desk keys of the submission's dialogue, oldest generation first: public keys and
    certificates, which the submitter's tab checks as :func:`certified_desk_signing_keys` does."""
    session = object_session(submission)
    if session is None:
        return []
    query = select(DeskKey).where(DeskKey.dialogue_id == submission.dialogue_id)
    return list(session.scalars(query.order_by(DeskKey.generation)))


def certified_desk_signing_keys(submission: Submission, anchors: Anchors) -> dict[int, bytes]:
    """The desk signing key a submitter may trust for each desk key of the submission's
    dialogue, by row id: the key their submission names, and each later key certified from it,
    link by link, at rotation or by the recovery signing key the submission names
    (``crypto.verify_desk_key_chain_from``), as far as the chain holds.

    The rows say which key follows which, but cannot lie about it: every certificate after the
    named key must be signed by the key before it or by the named recovery signing key, starting
    from the named key itself. A key whose certificate is missing or does not hold, and every key
    after it, is left out.
    """
    named = anchors.desk_key
    if named is None:
        return {}
    desk_keys = desk_key_history(submission)
    anchor = next((key for key in desk_keys if key.signing_public_key == named), None)
    if anchor is None:
        return {}
    trusted = {anchor.id: bytes(named)}
    chain: list[crypto.DeskKeyCertificate] = []
    for desk_key in (key for key in desk_keys if key.generation > anchor.generation):
        if desk_key.certificate is None or desk_key.signing_public_key is None:
            break
        chain.append(
            crypto.DeskKeyCertificate(
                desk_key.generation,
                bytes(desk_key.public_key),
                bytes(desk_key.signing_public_key),
                bytes(desk_key.certificate),
            )
        )
        try:
            crypto.verify_desk_key_chain_from(
                named, anchor.generation, submission.dialogue.slug, chain, anchors.recovery_key
            )
        except crypto.DecryptionError:
            break
        trusted[desk_key.id] = bytes(desk_key.signing_public_key)
    return trusted


def unverified_as_stored(submission: Submission) -> list[str]:
    """The kinds of the items that fail the check the server can make without opening anything,
    for the audit record of the JavaScript inbox (whose tab checks everything itself, against the
    keys sealed inside the submission): each item against the signing key the row names, and each
    desk message against the signing key stored beside its desk key."""
    key = None if submission.signature is None else submission.signing_public_key
    address = SubmissionAddress.of(submission)
    failed = []
    if key is not None:
        try:
            crypto.verify_item(
                key, signed_submission_context(address), submission.envelope, submission.signature
            )
        except crypto.DecryptionError:
            failed.append("submission")
    for kind, items in (
        (FURTHER_INFORMATION, submission.further_information),
        (CONSENT_CHANGE, submission.consent_changes),
    ):
        for item in items:
            context = None if item.position is None else kind.signed(address, item.position)
            provenance = item_provenance(
                key, signed_context=context, envelope=item.envelope, signature=item.signature
            )
            if provenance is Provenance.UNVERIFIED:
                failed.append(kind.name)
    anchors = Anchors(key, None)
    for message in submission.messages:
        provenance = _provenance(message, anchors, message.desk_key.signing_public_key)
        if provenance is Provenance.UNVERIFIED:
            failed.append("message")
    return failed


def unverified_messages(thread: list[ThreadEntry]) -> list[str]:
    """One ``"message"`` per entry of a thread that failed the check, for the audit record."""
    return ["message" for entry in thread if entry.provenance is Provenance.UNVERIFIED]


def sealed_thread(submission: Submission) -> tuple[SealedMessage, ...]:
    """The thread still sealed, with signatures, in history order, for the browser to check and
    open (it applies the same rule as :func:`thread_for_submitter`)."""
    return tuple(
        SealedMessage(
            message.public_id,
            message.written_by,
            message.sent_on,
            SealedRecord(message_context(message), message.envelope, message.signature),
            message.desk_key.key_id.hex(),
            not message.seen_by_submitter,
        )
        for message in thread_order(submission.messages)
    )


def desk_signing_seed(reader: StaffReader, desk_key: DeskKey) -> bytes:
    """The signing seed of ``desk_key``, from the private half the reader's grant opens."""
    return crypto.desk_signing_seed(reader.desk_private_key(desk_key))


def thread_order(messages: list[DeskMessage]) -> list[DeskMessage]:
    """The thread as it arrived (by row), each side's messages in the order of their signed
    positions: a writer who renumbers rows cannot reorder what one side said."""
    arrived = sorted(messages, key=lambda message: message.id)
    sides = {
        author: history_order([m for m in arrived if m.written_by is author])
        for author in MessageAuthor
    }
    return [sides[message.written_by].pop(0) for message in arrived]


def _direction(message: DeskMessage) -> Direction:
    return Direction.TO_SUBMITTER if message.written_by is MessageAuthor.DESK else Direction.TO_DESK


def _provenance(
    message: DeskMessage, anchors: Anchors, desk_signing_key: bytes | None
) -> Provenance:
    signed_context = None if message.position is None else message_context(message)
    return message_provenance(
        anchors,
        from_desk=message.written_by is MessageAuthor.DESK,
        desk_signing_key=desk_signing_key,
        signed_context=signed_context,
        envelope=message.envelope,
        signature=message.signature,
    )


def desk_messages_by_submission(
    session: Session, owner_tag_key: bytes
) -> dict[str, DeskMessageSummary]:
    """For the inbox: the submitter's submissions the desk wrote on, by public id."""
    owned = [submission.id for submission in walk(session, owner_tag_key).submissions]
    unseen = case((DeskMessage.seen_by_submitter.is_(False), 1), else_=0)
    rows = session.execute(
        select(
            Submission.public_id,
            func.count(DeskMessage.id),
            func.max(DeskMessage.sent_on),
            func.sum(unseen),
        )
        .join(DeskMessage, DeskMessage.submission_id == Submission.id)
        .where(Submission.id.in_(owned), DeskMessage.written_by == MessageAuthor.DESK)
        .group_by(Submission.public_id)
    )
    return {
        public_id: DeskMessageSummary(count, latest_on, int(new or 0))
        for public_id, count, latest_on, new in rows
    }


def _context_of(public_id: str, address: SubmissionAddress) -> str:
    return desk_message_context(address, public_id)


def _public_id_used(session: Session, public_id: str) -> bool:
    found = session.scalars(select(DeskMessage.id).where(DeskMessage.public_id == public_id))
    return found.first() is not None


def unused_message_id(session: Session) -> str:
    while True:  # 128 random bits: a repeat is not expected, but would break the unique index
        public_id = new_public_id()
        if not _public_id_used(session, public_id):
            return public_id


def _received(
    session: Session,
    submission: Submission,
    public_id: str,
    addition: Addition,
    today: dt.date,
) -> DeskMessage:
    message = store_message(
        session, submission, public_id, MessageAuthor.SUBMITTER, None, addition, today
    )
    record_event(
        session,
        action=AuditAction.MESSAGE_RECEIVED,
        object_type="desk_message",
        object_id=message.id,
        dialogue=submission.dialogue,
        details={"submission_id": submission.id},
        submitter_caused=True,
    )
    return message


def store_message(
    session: Session,
    submission: Submission,
    public_id: str,
    written_by: MessageAuthor,
    author: StaffUser | None,
    addition: Addition,
    sent_on: dt.date,
    *,
    purpose: MessagePurpose = MessagePurpose.MESSAGE,
    session_id: int | None = None,
    follow_up_action_id: int | None = None,
) -> DeskMessage:
    """Append a sealed message (or notice) to ``submission``'s thread; the caller has checked
    who may write it and sealed it."""
    message = DeskMessage(
        public_id=public_id,
        written_by=written_by,
        author=author,
        desk_key=addition.desk_key,
        sent_on=sent_on,
        envelope=addition.envelope,
        position=addition.position,
        signature=addition.signature,
        purpose=purpose,
        session_id=session_id,
        follow_up_action_id=follow_up_action_id,
        # What the submitter wrote needs no "new" marker in their own inbox.
        seen_by_submitter=written_by is MessageAuthor.SUBMITTER,
    )
    submission.messages.append(message)
    session.flush()
    return message
