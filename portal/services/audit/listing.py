"""Reading the audit trail: pages of events, newest first, for administrators and desks.

Read-only listing queries; appending and verifying live in ``portal.services.audit.trail``. Pages
are keyset-paginated on the event's sequence number (``before``: show events older than this one),
which stays as fast on the millionth event as on the first and never skips or repeats an event
when new ones arrive between two pages. Events hold identifiers and labels only, never content,
so a page shows them as they are; the names of the staff members and dialogues they mention are
looked up for the reader.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Dialogue, StaffUser
from portal.services.audit.trail import AuditAction, record_event

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditEntry:
    """One event with the names a reader needs beside its identifiers."""

    event: AuditEvent
    actor_name: str | None
    dialogue_slug: str | None

    @property
    def details_text(self) -> list[tuple[str, str]]:
        """The details as ``(key, value)`` pairs sorted by key, values as plain text."""
        return [(key, _plain(value)) for key, value in sorted(self.event.details.items())]


@dataclass(frozen=True)
class AuditPage:
    """One page of events; ``next_before`` is the cursor of the next (older) page, if any."""

    entries: list[AuditEntry]
    next_before: int | None


def audit_actions() -> list[str]:
    """Every action an event can record, for the filter's choices."""
    return sorted(str(action) for action in AuditAction)


def list_events(
    session: Session,
    *,
    before: int | None = None,
    action: str | None = None,
    dialogue_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """Events newest first, older than ``before`` and matching the filters given."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = (
        select(AuditEvent, StaffUser.display_name, Dialogue.slug)
        .outerjoin(StaffUser, StaffUser.id == AuditEvent.actor_staff_user_id)
        .outerjoin(Dialogue, Dialogue.id == AuditEvent.dialogue_id)
        .order_by(AuditEvent.sequence.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(AuditEvent.sequence < before)
    if action:
        query = query.where(AuditEvent.action == action)
    if dialogue_id is not None:
        query = query.where(AuditEvent.dialogue_id == dialogue_id)
    rows = session.execute(query).all()
    entries = [AuditEntry(event, name, slug) for event, name, slug in rows[:limit]]
    next_before = entries[-1].event.sequence if len(rows) > limit else None
    return AuditPage(entries=entries, next_before=next_before)


def record_audit_view(
    session: Session,
    viewer: StaffUser,
    *,
    before: int | None,
    action: str | None,
    dialogue: Dialogue | None,
) -> None:
    """Audit that ``viewer`` read one page of the log (once per page shown), with its filters."""
    record_event(
        session,
        action=AuditAction.AUDIT_LOG_VIEWED,
        object_type="audit_log",
        object_id="page" if before is None else str(before),
        actor=viewer,
        details={
            "filter_action": action or None,
            "filter_dialogue_id": None if dialogue is None else dialogue.id,
        },
    )


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{key}={_plain(item)}" for key, item in sorted(value.items()))
    return str(value)
