"""Appending to and verifying the hash-chained audit trail.

Each event's hash covers its own fields and the previous event's hash::

    canonical = UTF-8 JSON with sorted keys and no whitespace of
        {"sequence": n, "occurred_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
         "actor": staff user id or null, "action": ..., "object_type": ..., "object_id": ...,
         "dialogue": dialogue id or null, "details": {...}}
    hash = crypto.audit_digest(prev_hash, canonical)
         = SHA-256("parley audit v1" || 0x00 || prev_hash || canonical)

The first event's ``prev_hash`` is 32 zero bytes and sequences run 1, 2, 3, ... without gaps, so
an event removed from the middle or the end, reordered or edited is found by
:func:`verify_audit_chain` (the end only when the last hash is also kept outside the database).

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
from portal.models import AuditEvent, Dialogue, StaffUser, utc_now

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
    STAFF_TOTP_ENROLLED = "staff.totp_enrolled"
    STAFF_DEACTIVATED = "staff.deactivated"
    STAFF_REACTIVATED = "staff.reactivated"
    DESK_MEMBER_ADDED = "desk.member_added"
    DESK_MEMBER_REMOVED = "desk.member_removed"
    DESK_KEY_ROTATED = "desk_key.rotated"
    DIALOGUE_REVIEW_MODE_CHANGED = "dialogue.review_mode_changed"
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
    SUBMISSION_PROPOSED_FOR_HANDOVER = "submission.proposed_for_handover"
    TRIAGE_NOTE_ADDED = "triage_note.added"
    AGENDA_ITEM_CREATED = "agenda_item.created"
    MESSAGE_SENT = "message.sent"
    MESSAGE_RECEIVED = "message.received"
    EMERGENCY_ACCESS = "submission.emergency_access"
    BUNDLE_EXPORTED = "bundle.exported"
    AUDIT_LOG_VIEWED = "audit.viewed"


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chain: how far it held and where it first broke."""

    events_checked: int
    first_broken_sequence: int | None

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
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction."""
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
        occurred_at=utc_now(),
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


def verify_audit_chain(session: Session) -> ChainVerification:
    """Walk the whole chain from the first event and report the first broken link."""
    expected_sequence, prev_hash, checked = 1, AUDIT_GENESIS_HASH, 0
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence))
    for event in events:
        intact_link = (
            event.sequence == expected_sequence
            and event.prev_hash == prev_hash
            and event.hash == audit_digest(prev_hash, canonical_encoding(event))
        )
        if not intact_link:
            return ChainVerification(checked, first_broken_sequence=expected_sequence)
        expected_sequence, prev_hash, checked = event.sequence + 1, event.hash, checked + 1
    return ChainVerification(checked, first_broken_sequence=None)


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
