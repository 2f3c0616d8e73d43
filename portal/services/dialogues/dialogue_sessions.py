"""The life of a dialogue's sessions, and when civil society may write in.

Every rule about a session's stage lives here, so that the command line, the staff pages to come
and the submission forms all obey the same one:

- a session moves forward through ``planned → consultation_open → consultation_closed → held →
  debriefed → follow_up`` (:data:`ALLOWED_TRANSITIONS`); the one step back is reopening a closed
  consultation, because a desk that closed early by mistake must be able to undo it before the
  session is held;
- a frozen dialogue opens no consultation, and freezing a dialogue closes any consultation it has
  open, so that "frozen" means "accepts nothing" without a second check anywhere;
- a consultation accepts submissions exactly while its session is ``consultation_open`` and the
  current moment lies inside the announced window ``[opens, closes)``
  (:func:`consultation_accepts_submissions`); reprisal reports are accepted at any time by an
  active dialogue (:func:`dialogue_accepts_reprisal_reports`), because reprisals do not wait for
  the calendar.

Every change is appended to the audit trail in the caller's transaction: a refused change raises
before anything is written, so the caller's rollback leaves nothing half-stored.
"""

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Dialogue, DialogueSession, DialogueStatus, SessionState, StaffUser
from portal.services.audit.trail import AuditAction, record_event
from portal.services.dialogues.catalogue import DialogueDetailsError
from portal.timefmt import iso_utc

ALLOWED_TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    SessionState.PLANNED: frozenset({SessionState.CONSULTATION_OPEN}),
    SessionState.CONSULTATION_OPEN: frozenset({SessionState.CONSULTATION_CLOSED}),
    SessionState.CONSULTATION_CLOSED: frozenset(
        {SessionState.CONSULTATION_OPEN, SessionState.HELD}
    ),
    SessionState.HELD: frozenset({SessionState.DEBRIEFED}),
    SessionState.DEBRIEFED: frozenset({SessionState.FOLLOW_UP}),
    SessionState.FOLLOW_UP: frozenset(),
}
# The stages after the consultation, reached with :func:`advance_session`; the consultation
# window has its own verbs because opening it needs a window.
LATER_STAGES = frozenset({SessionState.HELD, SessionState.DEBRIEFED, SessionState.FOLLOW_UP})


class UnknownDialogueError(DialogueDetailsError):
    """No dialogue has the slug asked for."""


class UnknownSessionError(DialogueDetailsError):
    """No session has the id asked for."""


class SessionChangeRefusedError(DialogueDetailsError):
    """A stage or status change the rules forbid; the message says which rule."""


def consultation_accepts_submissions(dialogue_session: DialogueSession, now: dt.datetime) -> bool:
    """Whether agenda input, cases and seminar recommendations for this session are accepted.

    The stage alone is not enough (the window is what was announced to civil society) and
    neither is the window alone (the desk may close early). The dialogue's status is checked too
    although freezing closes every open consultation: a row changed outside this module must
    still not accept anything for a frozen dialogue.
    """
    opens = dialogue_session.consultation_opens_at
    closes = dialogue_session.consultation_closes_at
    return (
        dialogue_session.dialogue.status is DialogueStatus.ACTIVE
        and dialogue_session.state is SessionState.CONSULTATION_OPEN
        and opens is not None
        and closes is not None
        and opens <= now < closes
    )


def dialogue_accepts_reprisal_reports(dialogue: Dialogue) -> bool:
    """Reprisal reports are accepted whenever the dialogue is active, whatever its sessions."""
    return dialogue.status is DialogueStatus.ACTIVE


def dialogue_by_slug(session: Session, slug: str) -> Dialogue:
    """The dialogue named ``slug``; ``UnknownDialogueError`` if there is none."""
    dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == slug)).first()
    if dialogue is None:
        raise UnknownDialogueError(f"there is no dialogue named {slug!r}")
    return dialogue


def session_by_id(session: Session, session_id: int) -> DialogueSession:
    """The session numbered ``session_id``; ``UnknownSessionError`` if there is none."""
    dialogue_session = session.get(DialogueSession, session_id)
    if dialogue_session is None:
        raise UnknownSessionError(f"there is no session number {session_id}")
    return dialogue_session


def open_consultation(
    session: Session,
    dialogue_session: DialogueSession,
    *,
    now: dt.datetime,
    closes_at: dt.datetime | None = None,
    actor: StaffUser | None = None,
) -> None:
    """Open the consultation window, optionally setting (or moving) its close.

    A window not announced beforehand opens ``now``. The close must lie after both the opening
    and ``now``: opening a consultation that can no longer receive anything would tell civil
    society it is open when it is not. Opening a round asks the submitters of cases taken up
    in an earlier round to confirm consent again (``rounds.consent_requests.ask_again``).
    """
    dialogue = dialogue_session.dialogue
    if dialogue.status is DialogueStatus.FROZEN:
        raise SessionChangeRefusedError(
            f"the dialogue {dialogue.slug!r} is frozen; unfreeze it before opening a consultation"
        )
    _require_allowed(dialogue_session, SessionState.CONSULTATION_OPEN)
    opens_at = dialogue_session.consultation_opens_at or now
    closes_at = closes_at or dialogue_session.consultation_closes_at
    if closes_at is None:
        raise SessionChangeRefusedError(
            f"session {dialogue_session.id} has no consultation close yet; give one"
        )
    if closes_at <= opens_at:
        raise SessionChangeRefusedError("a consultation must open before it closes")
    if closes_at <= now:
        raise SessionChangeRefusedError(
            f"the consultation close {iso_utc(closes_at)} has already passed; give a later one"
        )
    dialogue_session.consultation_opens_at = opens_at
    dialogue_session.consultation_closes_at = closes_at
    _move(
        session,
        dialogue_session,
        SessionState.CONSULTATION_OPEN,
        actor,
        window={"opens": iso_utc(opens_at), "closes": iso_utc(closes_at)},
    )
    # Imported here: the requests read consent through the inbox, whose intake asks this module
    # whether a consultation accepts submissions.
    from portal.services.rounds.consent_requests import ask_again

    ask_again(session, dialogue_session, today=now.date(), actor=actor)


def close_consultation(
    session: Session, dialogue_session: DialogueSession, *, actor: StaffUser | None = None
) -> None:
    """Stop accepting input for this session now, whatever the announced window says."""
    _require_allowed(dialogue_session, SessionState.CONSULTATION_CLOSED)
    _move(session, dialogue_session, SessionState.CONSULTATION_CLOSED, actor)


def advance_session(
    session: Session,
    dialogue_session: DialogueSession,
    target: SessionState,
    *,
    actor: StaffUser | None = None,
) -> None:
    """Move a session to one of the stages after its consultation (held, debriefed, follow-up)."""
    if target not in LATER_STAGES:
        raise SessionChangeRefusedError(
            f"{target} is a consultation stage; open or close the consultation instead"
        )
    _require_allowed(dialogue_session, target)
    _move(session, dialogue_session, target, actor)


def freeze_dialogue(
    session: Session, dialogue: Dialogue, *, actor: StaffUser | None = None
) -> list[DialogueSession]:
    """Freeze ``dialogue``: it accepts nothing until unfrozen. Returns the consultations closed."""
    if dialogue.status is DialogueStatus.FROZEN:
        raise SessionChangeRefusedError(f"the dialogue {dialogue.slug!r} is already frozen")
    closed = [item for item in dialogue.sessions if item.state is SessionState.CONSULTATION_OPEN]
    for dialogue_session in closed:
        close_consultation(session, dialogue_session, actor=actor)
    dialogue.status = DialogueStatus.FROZEN
    _record_status(session, dialogue, AuditAction.DIALOGUE_FROZEN, actor)
    return closed


def unfreeze_dialogue(
    session: Session, dialogue: Dialogue, *, actor: StaffUser | None = None
) -> None:
    """Make a frozen dialogue active again; no consultation reopens by itself."""
    if dialogue.status is DialogueStatus.ACTIVE:
        raise SessionChangeRefusedError(f"the dialogue {dialogue.slug!r} is not frozen")
    dialogue.status = DialogueStatus.ACTIVE
    _record_status(session, dialogue, AuditAction.DIALOGUE_UNFROZEN, actor)


def _require_allowed(dialogue_session: DialogueSession, target: SessionState) -> None:
    current = dialogue_session.state
    if target not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none, it is the last stage"
        raise SessionChangeRefusedError(
            f"session {dialogue_session.id} cannot go from {current} to {target} "
            f"(allowed next: {allowed})"
        )


def _move(
    session: Session,
    dialogue_session: DialogueSession,
    target: SessionState,
    actor: StaffUser | None,
    window: Mapping[str, str] | None = None,
) -> None:
    previous = dialogue_session.state
    dialogue_session.state = target
    session.flush()
    record_event(
        session,
        action=AuditAction.SESSION_STATE_CHANGED,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=actor,
        dialogue=dialogue_session.dialogue,
        details={"from": str(previous), "to": str(target), **(window or {})},
    )


def _record_status(
    session: Session, dialogue: Dialogue, action: AuditAction, actor: StaffUser | None
) -> None:
    session.flush()
    record_event(
        session,
        action=action,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={"slug": dialogue.slug, "status": str(dialogue.status)},
    )
