"""Appending to and verifying the hash-chained audit trail.

Each event's hash covers its own fields, in a canonical JSON encoding
(:func:`canonical_encoding`), and the previous event's hash (``crypto.audit_digest``); sequences
run 1, 2, 3, ... without gaps. Both, and the ``SEQUENCE:HASH`` form of a kept head, are specified
in docs/FORMATS.md, "Audit chain". So an event removed from the middle or the end, reordered or
edited is found by :func:`verify_audit_chain` (the end only when the last hash is also kept
outside the database).

An event a submitter's action caused (a message or a consent confirmation received, a
submission deleted, an item found unverified while its submitter read it) is dated to the day:
its ``occurred_at`` is midnight UTC of that day, so the trail keeps no finer time of anything a
submitter did (SECURITY.md, "How precisely the portal records a submitter"). The hash covers the
stored value as for any event, so verification is unchanged; only the event's place in the
sequence, between staff events that keep their time, still narrows the moment down.

``details`` holds identifiers and labels, never anything a submitter wrote; its values are
limited to strings, integers, booleans and null (and lists and objects of those) because a float
may not read back with the same digits from every database, which would break the chain.
"""

import datetime as dt
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from crypto import AUDIT_GENESIS_HASH, audit_digest
from portal.models import AuditEvent, Dialogue, DialogueSession, StaffUser, Submission, utc_now

# Arbitrary constant naming the PostgreSQL advisory lock that serialises appends, so that two
# workers never both take the next sequence number.
_APPEND_LOCK_KEY = 0x7061726C6579


class AuditAction(enum.StrEnum):
    """What an audit event records; stored as its string value."""

    INSTANCE_INITIALISED = "instance.initialised"
    RECOVERY_KEY_CREATED = "recovery_key.created"
    STAFF_CREATED = "staff.created"
    DIALOGUE_CREATED = "dialogue.created"
    SESSION_SCHEDULED = "session.scheduled"
    SESSION_STATE_CHANGED = "session.state_changed"
    SESSION_CONSULTATION_EXTENDED = "session.consultation_extended"
    DIALOGUE_FROZEN = "dialogue.frozen"
    DIALOGUE_UNFROZEN = "dialogue.unfrozen"
    DESK_KEY_CREATED = "desk_key.created"
    DESK_KEY_GRANTED = "desk_key.granted"
    SUBMISSION_DELETED = "submission.deleted"
    STAFF_SIGNED_IN = "staff.signed_in"
    STAFF_SIGN_IN_FAILED = "staff.sign_in_failed"
    STAFF_SIGNED_OUT = "staff.signed_out"
    STAFF_SESSIONS_ENDED = "staff.sessions_ended"
    STAFF_PASSPHRASE_CHANGED = "staff.passphrase_changed"  # noqa: S105 (an action name)
    STAFF_PASSPHRASE_RESET = "staff.passphrase_reset"  # noqa: S105 (an action name)
    STAFF_RESET_REQUESTED = "staff.reset_requested"
    STAFF_RESET_CANCELLED = "staff.reset_cancelled"
    STAFF_RESET_ACKNOWLEDGED = "staff.reset_acknowledged"
    STAFF_TOTP_ENROLLED = "staff.totp_enrolled"
    STAFF_DIGEST_CHANGED = "staff.digest_changed"
    STAFF_DEACTIVATED = "staff.deactivated"
    STAFF_REACTIVATED = "staff.reactivated"
    DESK_MEMBER_ADDED = "desk.member_added"
    DESK_MEMBER_REMOVED = "desk.member_removed"
    DESK_MEMBER_KEY_CONFIRMED = "desk.member_key_confirmed"
    DESK_KEY_ROTATED = "desk_key.rotated"
    DESK_KEY_CERTIFIED = "desk_key.certified"
    DIALOGUE_REVIEW_MODE_CHANGED = "dialogue.review_mode_changed"
    DIALOGUE_RETENTION_SET = "dialogue.retention_set"
    SUBMISSION_READ = "submission.read"
    ATTACHMENT_READ = "attachment.read"
    SUBMISSION_TOPICS_TAGGED = "submission.topics_tagged"
    SUBMISSION_RISK_ASSESSED = "submission.risk_assessed"
    SUBMISSION_RISK_HOLD_SET = "submission.risk_hold_set"
    SUBMISSION_RISK_HOLD_CLEARED = "submission.risk_hold_cleared"
    SUBMISSION_NAMED_MEMBERS_SET = "submission.named_members_set"
    SUBMISSION_ACCEPTED = "submission.accepted"
    SUBMISSION_DECLINED = "submission.declined"
    SUBMISSION_MARKED_DUPLICATE = "submission.marked_duplicate"
    SUBMISSION_LINKED_TO_AGENDA = "submission.linked_to_agenda"
    SUBMISSION_UNLINKED_FROM_AGENDA = "submission.unlinked_from_agenda"
    SUBMISSION_PROPOSED_FOR_HANDOVER = "submission.proposed_for_handover"
    HANDOVER_APPROVED = "handover.approved"
    HANDOVER_REJECTED = "handover.rejected"
    HANDOVER_LEFT = "handover.left"
    HANDOVER_FROZEN = "handover.frozen"
    HANDOVER_UNFROZEN = "handover.unfrozen"
    HANDOVER_EXPORTED = "handover.exported"
    TRIAGE_NOTE_ADDED = "triage_note.added"
    DESK_TEXT_WRITTEN = "desk_text.written"
    DESK_TEXT_CLEARED = "desk_text.cleared"
    SESSION_HELD_RECORDED = "session.held_recorded"
    AGENDA_ITEM_RECORDED = "agenda_item.recorded"
    CASE_OUTCOME_RECORDED = "submission.outcome_recorded"
    RECOMMENDATION_RESPONSE_RECORDED = "submission.recommendation_response_recorded"
    SESSION_RECORD_COMPLETED = "session.record_completed"
    AGENDA_ITEM_CREATED = "agenda_item.created"
    AGENDA_ITEM_EDITED = "agenda_item.edited"
    AGENDA_ITEM_MOVED = "agenda_item.moved"
    AGENDA_ITEM_INCLUDED = "agenda_item.included"
    AGENDA_ITEM_DROPPED = "agenda_item.dropped"
    AGENDA_STATE_CHANGED = "agenda.state_changed"
    ROADMAP_RESULT_ADDED = "roadmap.result_added"
    ROADMAP_RESULT_EDITED = "roadmap.result_edited"
    ROADMAP_ACTION_ADDED = "roadmap.action_added"
    ROADMAP_ACTION_EDITED = "roadmap.action_edited"
    ROADMAP_ACTION_STATE_CHANGED = "roadmap.action_state_changed"
    ROADMAP_ACTION_LINKED = "roadmap.action_linked"
    ROADMAP_ACTION_UNLINKED = "roadmap.action_unlinked"
    MESSAGE_SENT = "message.sent"
    NOTICE_SENT = "notice.sent"
    SUBMISSION_DEBRIEFED = "submission.debriefed"
    DEBRIEF_WITHHELD = "debrief.withheld"
    DEBRIEF_WITHHOLD_UNDONE = "debrief.withhold_undone"
    MESSAGE_RECEIVED = "message.received"
    ITEM_UNVERIFIED = "item.unverified"
    EMERGENCY_ACCESS = "submission.emergency_access"
    IDENTITY_KEY_GRANTED = "identity_key.granted"
    SUBMISSION_NAME_READERS_SET = "submission.name_readers_set"
    NAMES_EMERGENCY_ACCESS = "submission.names_emergency_access"
    NAMES_READ = "submission.names_read"
    BUNDLE_EXPORTED = "bundle.exported"
    BRIEFING_READ = "briefing.read"
    BRIEFING_BUNDLE_EXPORTED = "briefing.bundle_exported"
    AUDIT_LOG_VIEWED = "audit.viewed"
    CONSENT_REQUESTS_CREATED = "consent_request.created"
    CONSENT_REQUEST_ANSWERED = "consent_request.answered"
    SESSION_SUMMARY_WRITTEN = "session_summary.written"
    SESSION_SUMMARY_PUBLISHED = "session_summary.published"
    SESSION_SUMMARY_UNPUBLISHED = "session_summary.unpublished"


class ChainProblem(enum.StrEnum):
    """How a link of the chain is broken."""

    MISSING = "missing"  # a gap in the sequence: the event was removed
    OUT_OF_ORDER = "out_of_order"  # its prev_hash is the hash of another stored event
    UNLINKED = "unlinked"  # its prev_hash is not the previous event's hash (replaced)
    EDITED = "edited"  # its stored fields no longer match its own hash
    HEAD_MISSING = "head_missing"  # the trail ends before the head kept outside the database
    HEAD_REPLACED = "head_replaced"  # the event at the kept head's sequence has another hash


@dataclass(frozen=True)
class ChainHead:
    """The last event of the chain as an operator keeps it: ``SEQUENCE:HASH`` (hash in hex)."""

    sequence: int
    hash: bytes

    def __str__(self) -> str:
        return f"{self.sequence}:{self.hash.hex()}"

    @classmethod
    def parse(cls, text_form: str) -> "ChainHead":
        """Read ``SEQUENCE:HASH``; ``ValueError`` with a reason when it is not that."""
        sequence_text, separator, hash_text = text_form.strip().partition(":")
        if not separator or not sequence_text.isdigit() or int(sequence_text) < 1:
            raise ValueError("a head is written SEQUENCE:HASH, e.g. 42:3f9a... (64 hex digits)")
        try:
            digest = bytes.fromhex(hash_text)
        except ValueError:
            digest = b""
        if len(digest) != 32:
            raise ValueError("the hash of a head is 64 hexadecimal digits")
        return cls(int(sequence_text), digest)


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chain: how far it held and where it first broke.

    ``first_broken_sequence`` is the sequence number of the first event that is missing, out of
    order, unlinked or edited (or of the kept head that is missing or replaced); ``description``
    says in one line what is wrong with it, naming the event as stored; ``head`` is the last
    event of an intact chain (``None`` for an empty one).
    """

    events_checked: int
    first_broken_sequence: int | None
    problem: ChainProblem | None = None
    description: str | None = None
    head: ChainHead | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken_sequence is None


def record_event(
    session: Session,
    *,
    action: AuditAction,
    object_type: str,
    object_id: str | int,
    actor: StaffUser | None = None,
    dialogue: Dialogue | None = None,
    details: Mapping[str, Any] | None = None,
    submitter_caused: bool = False,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction; ``submitter_caused`` dates it
    to the day (module docstring)."""
    if submitter_caused and actor is not None:
        raise ValueError("an event a submitter caused names no staff actor")
    details = dict(details or {})
    _require_stable_json(details)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
    last = session.execute(
        select(AuditEvent.sequence, AuditEvent.hash).order_by(AuditEvent.sequence.desc()).limit(1)
    ).first()
    sequence, prev_hash = (1, AUDIT_GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    event = AuditEvent(
        sequence=sequence,
        occurred_at=_to_the_day(utc_now()) if submitter_caused else utc_now(),
        actor_staff_user_id=None if actor is None else actor.id,
        action=str(action),
        object_type=object_type,
        object_id=str(object_id),
        dialogue_id=None if dialogue is None else dialogue.id,
        details=details,
        prev_hash=prev_hash,
    )
    event.hash = audit_digest(prev_hash, canonical_encoding(event))
    session.add(event)
    session.flush()
    return event


def record_submission_event(
    session: Session,
    action: AuditAction,
    actor: StaffUser | None,
    submission: Submission,
    *,
    submitter_caused: bool = False,
    **details: Any,
) -> AuditEvent:
    """An event about one submission, on its dialogue's record: named by its internal id, never
    by the public id its submitter holds."""
    return record_event(
        session,
        action=action,
        object_type="submission",
        object_id=submission.id,
        actor=actor,
        dialogue=submission.dialogue,
        details=details,
        submitter_caused=submitter_caused,
    )


def record_session_event(
    session: Session,
    action: AuditAction,
    actor: StaffUser | None,
    dialogue_session: DialogueSession,
    **details: Any,
) -> AuditEvent:
    """An event about one session of a dialogue, on its dialogue's record."""
    return record_event(
        session,
        action=action,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=actor,
        dialogue=dialogue_session.dialogue,
        details=details,
    )


def canonical_encoding(event: AuditEvent) -> bytes:
    """The bytes an event's hash covers (see the module docstring)."""
    document = {
        "sequence": event.sequence,
        "occurred_at": _utc_text(event.occurred_at),
        "actor": event.actor_staff_user_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "dialogue": event.dialogue_id,
        "details": event.details,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def verify_audit_chain(
    session: Session, *, expect_head: ChainHead | None = None
) -> ChainVerification:
    """Walk the whole chain from the first event and report the first broken link.

    Each event must carry the next sequence number (else the one expected is missing), link to
    the previous event's hash (else it was moved or replaced) and match its own hash (else it was
    edited). Removing the last events leaves a shorter chain that is intact in itself; only a head
    kept outside the database (``expect_head``, see :func:`chain_head`) shows it.
    """
    expected_sequence, prev_hash, checked = 1, AUDIT_GENESIS_HASH, 0
    last: AuditEvent | None = None
    events = session.scalars(
        select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=1000)
    )
    for event in events:
        broken = _broken_link(session, event, expected_sequence, prev_hash)
        if broken is not None:
            problem, description = broken
            return ChainVerification(checked, expected_sequence, problem, description)
        expected_sequence, prev_hash, checked = event.sequence + 1, bytes(event.hash), checked + 1
        last = event
    head = None if last is None else ChainHead(last.sequence, bytes(last.hash))
    if expect_head is not None:
        mismatch = _head_mismatch(session, head, expect_head)
        if mismatch is not None:
            problem, description = mismatch
            return ChainVerification(checked, expect_head.sequence, problem, description, head)
    return ChainVerification(checked, None, head=head)


def chain_head(session: Session) -> ChainHead | None:
    """The last stored event, to be kept outside the database (``None`` for an empty trail)."""
    last = session.execute(
        select(AuditEvent.sequence, AuditEvent.hash).order_by(AuditEvent.sequence.desc()).limit(1)
    ).first()
    return None if last is None else ChainHead(last[0], bytes(last[1]))


def describe_event(event: AuditEvent) -> str:
    """An event named as stored: sequence, action, object and time."""
    return (
        f"event {event.sequence} ({event.action} on {event.object_type} {event.object_id} "
        f"at {_utc_text(event.occurred_at)})"
    )


def _broken_link(
    session: Session, event: AuditEvent, expected_sequence: int, prev_hash: bytes
) -> tuple[ChainProblem, str] | None:
    if event.sequence != expected_sequence:
        found = describe_event(event)
        if expected_sequence + 1 == event.sequence:
            return ChainProblem.MISSING, (
                f"event {expected_sequence} is missing (next found is {found})"
            )
        return ChainProblem.MISSING, (
            f"events {expected_sequence} to {event.sequence - 1} are missing "
            f"(next found is {found})"
        )
    if bytes(event.prev_hash) != prev_hash:
        previous = (
            "the start of the trail" if expected_sequence == 1 else f"event {expected_sequence - 1}"
        )
        linked_to = session.scalar(
            select(AuditEvent.sequence).where(AuditEvent.hash == bytes(event.prev_hash))
        )
        if linked_to is not None and linked_to != expected_sequence - 1:
            return ChainProblem.OUT_OF_ORDER, (
                f"{describe_event(event)} is out of order: it follows event {linked_to} in the "
                f"chain, not {previous} (events were reordered)"
            )
        expected_link = "the genesis hash" if expected_sequence == 1 else "that event's hash"
        return ChainProblem.UNLINKED, (
            f"{describe_event(event)} does not link to {previous}: its prev_hash is not "
            f"{expected_link} (an event was replaced)"
        )
    if bytes(event.hash) != audit_digest(prev_hash, canonical_encoding(event)):
        return ChainProblem.EDITED, (
            f"{describe_event(event)} was edited: its stored fields do not match its hash"
        )
    return None


def _head_mismatch(
    session: Session, head: ChainHead | None, expected: ChainHead
) -> tuple[ChainProblem, str] | None:
    if head is None or head.sequence < expected.sequence:
        ends = "the trail is empty" if head is None else f"the trail ends at event {head.sequence}"
        first_gone = 1 if head is None else head.sequence + 1
        gone = (
            f"event {expected.sequence} was removed"
            if first_gone == expected.sequence
            else f"events {first_gone} to {expected.sequence} were removed"
        )
        return ChainProblem.HEAD_MISSING, (
            f"the kept head event {expected.sequence} ({expected.hash.hex()}) is missing: "
            f"{ends}, so {gone}"
        )
    event = session.get(AuditEvent, expected.sequence)
    if event is None or bytes(event.hash) != expected.hash:
        stored = "missing" if event is None else f"hash {bytes(event.hash).hex()}"
        named = f"event {expected.sequence}" if event is None else describe_event(event)
        return ChainProblem.HEAD_REPLACED, (
            f"{named} is not the kept head: the kept head has hash {expected.hash.hex()}, the "
            f"trail has {stored} (the trail was rewritten from there back)"
        )
    return None


def _to_the_day(moment: dt.datetime) -> dt.datetime:
    """Midnight UTC of ``moment``'s day."""
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _require_stable_json(value: Any) -> None:
    """Refuse detail values whose stored form could differ from what was hashed."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for item in value:
            _require_stable_json(item)
        return
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for item in value.values():
            _require_stable_json(item)
        return
    raise TypeError(f"audit details may not hold a {type(value).__name__}")
