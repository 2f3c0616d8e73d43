"""Staff prose of a session: briefing points, the partner government's replies, the response to
a seminar recommendation. Sealed and signed like a triage note, read by one rule.

What staff write about a case or an agenda item is drawn from what defenders sent, so it is
sealed to the dialogue's current desk key alone (every desk member holding that key, and the
recovery key through its grant, can read it; observers and administrators cannot), and signed by
its author's personal signing key with that key certified by the desk key
(``staff.staff_signatures``), under a context that names the dialogue, the session, the row, the
subject and the author (``contexts.desk_text_context``). A text moved to another subject or row,
or re-attributed to a colleague, does not verify, and is never shown: readers get
:attr:`Provenance.UNVERIFIED` and record ``item.unverified``.

One text per subject of a session (:class:`DeskTextSubject`): writing again re-seals the same row
under the writer's name, and clearing deletes it. Who may write is the caller's rule (briefing
points: the desk's triage officers and co-chairs; the record: the co-chairs and the desk); this
module refuses anyone who does not hold the current desk key. What it is about (purpose, item,
submission, recommendation) and who wrote it when are plaintext; the words are not.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session

import crypto
from portal.models import DeskText, DeskTextPurpose, DialogueSession, StaffUser, Submission
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import DeskTextSubject, desk_text_context
from portal.services.desks import need_to_know
from portal.services.staff.staff_signatures import (
    StaffSignature,
    sign_as_staff,
    staff_signature_holds,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.payload import LONG_TEXT_LIMIT, decode_payload, encode_payload
from portal.services.submissions.provenance import Provenance
from portal.translatable import translatable

DESK_TEXT_FORMAT = "parley-desk-text-v1"


class DeskTextRefusedError(ValueError):
    """A text that cannot be written now; the message says why and can be shown as is."""


@dataclass(frozen=True)
class ReadDeskText:
    """A desk text after the rule: its words (empty when unverified or not readable by this
    reader), whether they verified, and who wrote them when."""

    row: DeskText
    text: str
    provenance: Provenance

    @property
    def usable(self) -> bool:
        return self.provenance is Provenance.SIGNED


def subject_of(
    purpose: DeskTextPurpose,
    *,
    agenda_item_id: int | None = None,
    submission: Submission | None = None,
    recommendation_index: int | None = None,
) -> DeskTextSubject:
    """The subject a text of ``purpose`` is about, as its context binds it."""
    return DeskTextSubject(
        str(purpose),
        agenda_item_id,
        None if submission is None else submission.public_id,
        recommendation_index,
    )


def write_desk_text(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    subject: DeskTextSubject,
    text: str,
    *,
    now: dt.datetime,
) -> DeskText | None:
    """Seal ``text`` as the session's one text on ``subject``, signed by the signed-in member;
    an empty text clears the subject's text (``None`` is returned). Refused, with nothing
    stored, for a text over ``LONG_TEXT_LIMIT`` or a writer without the current desk key."""
    text = text.strip()
    if len(text) > LONG_TEXT_LIMIT:
        raise DeskTextRefusedError(
            translatable("a text may hold at most %(limit)s characters", limit=LONG_TEXT_LIMIT)
        )

    dialogue = dialogue_session.dialogue
    existing = _row_of(session, dialogue_session, subject)
    if not text:
        if existing is not None:
            session.delete(existing)
            session.flush()
            _record(session, signed_in.user, dialogue_session, existing, cleared=True)
        return None
    try:
        desk_key, desk_private_key = need_to_know.open_current_desk_key(
            session, signed_in, dialogue
        )
    except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
        raise DeskTextRefusedError(
            translatable(
                "you hold no grant of this dialogue's current desk key, "
                "so your text cannot be signed"
            )
        ) from None
    row = existing or DeskText(
        session_id=dialogue_session.id,
        purpose=DeskTextPurpose(subject.purpose),
        agenda_item_id=subject.agenda_item_id,
        submission_id=_submission_id(session, subject),
        recommendation_index=subject.recommendation_index,
    )
    row.author_id = signed_in.user.id
    row.desk_key = desk_key
    row.written_at = now
    row.envelope = b""
    row.signature = b""
    row.author_signing_public_key = b""
    row.author_certificate = b""
    session.add(row)
    session.flush()
    context = desk_text_context(dialogue.slug, dialogue_session.id, row.id, subject, row.author_id)
    row.envelope = crypto.seal_envelope(
        encode_payload({"format": DESK_TEXT_FORMAT, "text": text}), [desk_key.public_key], context
    )
    signed = sign_as_staff(
        signed_in.personal_key(),
        desk_private_key,
        slug=dialogue.slug,
        account=row.author_id,
        context=context,
        envelope=row.envelope,
    )
    row.signature = signed.signature
    row.author_signing_public_key = signed.signing_key
    row.author_certificate = signed.certificate
    session.flush()
    _record(session, signed_in.user, dialogue_session, row, cleared=False)
    return row


def read_desk_texts(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    purposes: frozenset[DeskTextPurpose] | None = None,
) -> dict[DeskTextSubject, ReadDeskText]:
    """The session's texts (of ``purposes``, or all) by subject, each after the rule.

    A text sealed to a desk key the reader holds no grant of is left out: it says nothing of
    its author either way. A text that does not verify is empty and ``UNVERIFIED``, and recorded
    as ``item.unverified``.
    """
    query = select(DeskText).where(DeskText.session_id == dialogue_session.id)
    if purposes is not None:
        query = query.where(DeskText.purpose.in_(purposes))
    texts: dict[DeskTextSubject, ReadDeskText] = {}
    keys: dict[int, crypto.PrivateKey | None] = {}
    for row in session.scalars(query.order_by(DeskText.id)):
        if row.desk_key_id not in keys:
            try:
                keys[row.desk_key_id] = need_to_know.open_desk_key(session, signed_in, row.desk_key)
            except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
                keys[row.desk_key_id] = None
        desk_private_key = keys[row.desk_key_id]
        if desk_private_key is None:
            continue
        subject = _subject_of_row(row)
        read = _checked(row, dialogue_session, subject, desk_private_key)
        if not read.usable:
            record_event(
                session,
                action=AuditAction.ITEM_UNVERIFIED,
                object_type="desk_text",
                object_id=row.id,
                actor=signed_in.user,
                dialogue=dialogue_session.dialogue,
                details={"session": dialogue_session.id, "kind": "desk_text"},
            )
        texts[subject] = read
    return texts


def _checked(
    row: DeskText,
    dialogue_session: DialogueSession,
    subject: DeskTextSubject,
    desk_private_key: crypto.PrivateKey,
) -> ReadDeskText:
    slug = dialogue_session.dialogue.slug
    context = desk_text_context(slug, dialogue_session.id, row.id, subject, row.author_id)
    holds = staff_signature_holds(
        StaffSignature(
            bytes(row.signature),
            bytes(row.author_signing_public_key),
            bytes(row.author_certificate),
        ),
        desk_private_key,
        slug=slug,
        account=row.author_id,
        context=context,
        envelope=bytes(row.envelope),
    )
    if not holds:
        return ReadDeskText(row, "", Provenance.UNVERIFIED)
    try:
        payload = decode_payload(
            crypto.open_envelope(bytes(row.envelope), desk_private_key, context)
        )
    except crypto.DecryptionError:
        return ReadDeskText(row, "", Provenance.UNVERIFIED)
    if payload.get("format") != DESK_TEXT_FORMAT or not isinstance(payload.get("text"), str):
        return ReadDeskText(row, "", Provenance.UNVERIFIED)
    return ReadDeskText(row, payload["text"], Provenance.SIGNED)


def _row_of(
    session: Session, dialogue_session: DialogueSession, subject: DeskTextSubject
) -> DeskText | None:
    query = select(DeskText).where(
        DeskText.session_id == dialogue_session.id,
        DeskText.purpose == DeskTextPurpose(subject.purpose),
        _matches(DeskText.agenda_item_id, subject.agenda_item_id),
        _matches(DeskText.recommendation_index, subject.recommendation_index),
    )
    if subject.submission_public_id is None:
        query = query.where(DeskText.submission_id.is_(None))
    else:
        query = query.join(Submission, DeskText.submission_id == Submission.id).where(
            Submission.public_id == subject.submission_public_id
        )
    return session.scalars(query).first()


def _matches(column: InstrumentedAttribute[int | None], value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _submission_id(session: Session, subject: DeskTextSubject) -> int | None:
    if subject.submission_public_id is None:
        return None
    found = session.scalars(
        select(Submission.id).where(Submission.public_id == subject.submission_public_id)
    ).first()
    if found is None:
        raise DeskTextRefusedError(
            translatable("the text is about a submission that does not exist")
        )
    return found


def _subject_of_row(row: DeskText) -> DeskTextSubject:
    return DeskTextSubject(
        str(row.purpose),
        row.agenda_item_id,
        None if row.submission is None else row.submission.public_id,
        row.recommendation_index,
    )


def _record(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    row: DeskText,
    *,
    cleared: bool,
) -> None:
    """One event per text written or cleared: ids and the purpose, like every submission event
    (the submission by its row id, never its public id)."""
    record_event(
        session,
        action=AuditAction.DESK_TEXT_CLEARED if cleared else AuditAction.DESK_TEXT_WRITTEN,
        object_type="desk_text",
        object_id=row.id,
        actor=actor,
        dialogue=dialogue_session.dialogue,
        details={
            "session": dialogue_session.id,
            "purpose": str(row.purpose),
            "agenda_item": row.agenda_item_id,
            "submission": row.submission_id,
            "recommendation": row.recommendation_index,
        },
    )
