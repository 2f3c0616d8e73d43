"""The life of a dialogue's sessions, and when civil society may write in.

Every rule about a session's stage lives here, so that the command line, the desk's session
pages and the submission forms all obey the same one:

- a session moves forward through ``planned → consultation_open → consultation_closed → held →
  debriefed → follow_up`` (:data:`ALLOWED_TRANSITIONS`); the one step back is reopening a closed
  consultation, because a desk that closed early by mistake must be able to undo it before the
  session is held; a planned session may also be closed without opening, for a session that takes
  no input (or whose desk never opened it): otherwise, once its day had passed, nothing could ever
  record it as held;
- a session is recorded as held (and so debriefed or in follow-up) only on or after its date,
  today being the day in UTC: a record of a meeting that has not happened yet would let its
  outcome, its replies and its debrief be written ahead of it;
- a session is recorded as debriefed only when every contributor has a debrief notice in their
  inbox or the desk has recorded why not (``rounds.contributors.debrief_standing``): the
  debrief is the standard, so no contributor is forgotten without a reason written down;
- a consultation closes by the end of its session's day (UTC) at the latest, because input that
  arrives after the session can no longer feed its agenda; while it is open its close only moves
  later (:func:`extend_consultation`), and stopping sooner is the explicit verb
  :func:`close_consultation`, so that a mistyped date never quietly shortens what civil society
  was told;
- a frozen dialogue opens no consultation and extends none, its desk schedules no new session
  for it (the operator's ``portal session create`` still may, to bring a dialogue's history in),
  and freezing a dialogue closes any consultation it has open, so that "frozen" means "accepts
  nothing" without a second check anywhere;
- a consultation accepts submissions exactly while its session is ``consultation_open`` and the
  current moment lies inside the announced window ``[opens, closes)``
  (:func:`consultation_accepts_submissions`); reprisal reports are accepted at any time by an
  active dialogue (:func:`dialogue_accepts_reprisal_reports`), because reprisals do not wait for
  the calendar.

Who may change a session: the operator at the command line (``actor`` is ``None``), and on the
web the desk's working members, its triage officers and co-chairs (:func:`may_manage_sessions`):
the desk runs its consultation and records that its session took place. An administrator's role
alone gives no say over a session, as it gives no access to the content the sessions gather (the
role table of docs/DESIGN.md section 2 gives administrators accounts, dialogues, key grants and
retention, which the operator commands serve); an administrator made a desk member sees the
desk's session pages but changes nothing on them. Observers never change anything.

Every change is appended to the audit trail in the caller's transaction, with ids, dates and
stages only: a refused change raises before anything is written, so the caller's rollback leaves
nothing half-stored.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from portal.models import (
    DeskKey,
    Dialogue,
    DialogueSession,
    DialogueStatus,
    SessionPlace,
    SessionState,
    StaffRole,
    StaffUser,
)
from portal.numbers import LARGEST_ID
from portal.services.audit.trail import AuditAction, record_event, record_session_event
from portal.services.desks.keys import current_key_id
from portal.services.desks.need_to_know import is_desk_member
from portal.services.dialogues.catalogue import DialogueDetailsError, schedule_session
from portal.services.rounds.contributors import debrief_standing
from portal.timefmt import iso_utc
from portal.translatable import translatable

ALLOWED_TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    SessionState.PLANNED: frozenset(
        {SessionState.CONSULTATION_OPEN, SessionState.CONSULTATION_CLOSED}
    ),
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
SESSION_MANAGER_ROLES = frozenset({StaffRole.TRIAGE_OFFICER, StaffRole.CO_CHAIR})


class UnknownDialogueError(DialogueDetailsError):
    """No dialogue has the slug asked for."""


class UnknownSessionError(DialogueDetailsError):
    """No session has the id asked for."""


class SessionChangeRefusedError(DialogueDetailsError):
    """A stage or status change the rules forbid; the message says which rule."""


class SessionChangeForbiddenError(PermissionError):
    """The staff member may not change this dialogue's sessions (see the module docstring)."""


def may_manage_sessions(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may schedule ``dialogue``'s sessions, run their consultation and record
    them as held: a triage officer or co-chair on its desk."""
    return user.role in SESSION_MANAGER_ROLES and is_desk_member(session, user, dialogue)


class DialogueFacts(Protocol):
    """What the rules on submissions read of a dialogue: its row, or the copy of
    :func:`read_destination`."""

    @property
    def id(self) -> int: ...

    @property
    def slug(self) -> str: ...

    @property
    def status(self) -> DialogueStatus: ...


class SessionFacts(Protocol):
    """What the rules on submissions read of a session: its row, or the copy of
    :func:`read_destination`."""

    @property
    def id(self) -> int: ...

    @property
    def dialogue_id(self) -> int: ...

    @property
    def state(self) -> SessionState: ...

    @property
    def consultation_opens_at(self) -> dt.datetime | None: ...

    @property
    def consultation_closes_at(self) -> dt.datetime | None: ...


def consultation_accepts_submissions(dialogue_session: DialogueSession, now: dt.datetime) -> bool:
    """Whether agenda input, cases and seminar recommendations for this session are accepted
    (:func:`session_accepts_submissions`, for the session's own dialogue)."""
    return session_accepts_submissions(dialogue_session.dialogue, dialogue_session, now)


def session_accepts_submissions(
    dialogue: DialogueFacts, dialogue_session: SessionFacts, now: dt.datetime
) -> bool:
    """Whether submissions for ``dialogue_session``, a session of ``dialogue``, are accepted.

    The stage alone is not enough (the window is what was announced to civil society) and
    neither is the window alone (the desk may close early). The dialogue's status is checked too
    although freezing closes every open consultation: a row changed outside this module must
    still not accept anything for a frozen dialogue.
    """
    opens = dialogue_session.consultation_opens_at
    closes = dialogue_session.consultation_closes_at
    return (
        dialogue.status is DialogueStatus.ACTIVE
        and dialogue_session.state is SessionState.CONSULTATION_OPEN
        and opens is not None
        and closes is not None
        and opens <= now < closes
    )


def has_been_held(dialogue_session: DialogueSession) -> bool:
    """Whether the session has taken place: its stage is held or later. Its agenda, handover
    list and consent requests are history from then on."""
    return dialogue_session.state in LATER_STAGES


def dialogue_accepts_reprisal_reports(dialogue: DialogueFacts) -> bool:
    """Reprisal reports are accepted whenever the dialogue is active, whatever its sessions."""
    return dialogue.status is DialogueStatus.ACTIVE


def latest_close(session_date: dt.date) -> dt.datetime:
    """The latest moment a consultation for a session on ``session_date`` may close: the end
    of that day in UTC."""
    return dt.datetime.combine(session_date + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


# Built once: every submission and many pages look a dialogue up by its slug.
_BY_SLUG = select(Dialogue).where(Dialogue.slug == bindparam("slug"))


def dialogue_by_slug(session: Session, slug: str) -> Dialogue:
    """The dialogue named ``slug``; ``UnknownDialogueError`` if there is none."""
    dialogue = session.scalars(_BY_SLUG, {"slug": slug}).first()
    if dialogue is None:
        raise UnknownDialogueError(f"there is no dialogue named {slug!r}")
    return dialogue


class DialogueRow(NamedTuple):
    """A dialogue as :func:`read_destination` reads it (:class:`DialogueFacts`)."""

    id: int
    slug: str
    status: DialogueStatus


class SessionRow(NamedTuple):
    """A session as :func:`read_destination` reads it (:class:`SessionFacts`)."""

    id: int
    dialogue_id: int
    state: SessionState
    consultation_opens_at: dt.datetime | None
    consultation_closes_at: dt.datetime | None


class DeskKeyRow(NamedTuple):
    """A desk key as :func:`read_destination` reads it: what a submission is sealed to and
    stored under."""

    id: int
    public_key: bytes


# What a submission's checks, address and envelopes need of its destination's rows, in the
# order of the rows' fields (:func:`destination_read`).
_DIALOGUE_COLUMNS = (Dialogue.id, Dialogue.slug, Dialogue.status)
_SESSION_COLUMNS = (
    DialogueSession.id,
    DialogueSession.dialogue_id,
    DialogueSession.state,
    DialogueSession.consultation_opens_at,
    DialogueSession.consultation_closes_at,
)
_DESK_KEY_COLUMNS = (DeskKey.id, DeskKey.public_key)
_SESSION_START = len(_DIALOGUE_COLUMNS)
_DESK_KEY_START = _SESSION_START + len(_SESSION_COLUMNS)
_READ_COLUMNS = _DESK_KEY_START + len(_DESK_KEY_COLUMNS)


@dataclass(frozen=True)
class Destination:
    """What :func:`read_destination` found: the rows' columns a submission's checks, address and
    envelopes need, and the values of the caller's own columns."""

    dialogue: DialogueRow
    dialogue_session: SessionRow | None
    desk_key: DeskKeyRow | None  # None: the dialogue has no desk key yet
    also: tuple[Any, ...]


def destination_read(*also: ColumnElement[Any]) -> Select[Any]:
    """One read of what a submission sent to a dialogue (and maybe a session of it) needs: the
    dialogue, the session and the dialogue's current desk key (``desks.keys.current_desk_key``),
    then the columns ``also`` of the caller, which reads more in the same statement (build it
    once; run it with :func:`read_destination`). A session id of NULL joins no session, and the
    session need not belong to the dialogue: whether it may receive what is sent to the dialogue
    is the caller's rule (``intake.submission_address``).

    Only the columns the submission needs are read, as plain columns, not ORM entities: loading
    those would cost more than the read itself.
    """
    return (
        select(*_DIALOGUE_COLUMNS, *_SESSION_COLUMNS, *_DESK_KEY_COLUMNS, *also)
        .select_from(Dialogue)
        .outerjoin(DialogueSession, DialogueSession.id == bindparam("session_id"))
        .outerjoin(DeskKey, DeskKey.id == current_key_id(Dialogue.id))
        .where(Dialogue.slug == bindparam("slug"))
    )


def read_destination(
    session: Session,
    statement: Select[Any],
    slug: str,
    session_id: int | None,
    **parameters: Any,
) -> Destination:
    """What ``statement`` (:func:`destination_read`) reads for the dialogue named ``slug`` and
    the session numbered ``session_id`` (none for ``None``), the bind ``parameters`` of its own
    columns given, with the errors of :func:`dialogue_by_slug` and :func:`session_by_id`.

    The rows come as plain values, not ORM objects: nothing a submission does changes them, and
    an ORM copy costs more to make than the read. A session or desk key the outer joins did not
    find (its id NULL) is ``None``.
    """
    fits = session_id is not None and 0 <= session_id <= LARGEST_ID
    found = (
        session.connection()
        .execute(
            statement, {"slug": slug, "session_id": session_id if fits else None, **parameters}
        )
        .first()
    )
    if found is None:
        raise UnknownDialogueError(f"there is no dialogue named {slug!r}")
    if session_id is not None and found[_SESSION_START] is None:
        raise UnknownSessionError(f"there is no session number {session_id}")
    return Destination(
        DialogueRow._make(found[:_SESSION_START]),
        None
        if found[_SESSION_START] is None
        else SessionRow._make(found[_SESSION_START:_DESK_KEY_START]),
        None
        if found[_DESK_KEY_START] is None
        else DeskKeyRow._make(found[_DESK_KEY_START:_READ_COLUMNS]),
        tuple(found[_READ_COLUMNS:]),
    )


def session_by_id(session: Session, session_id: int) -> DialogueSession:
    """The session numbered ``session_id``; ``UnknownSessionError`` if there is none (a number
    too wide for an id, from a JSON body, among them)."""
    fits = 0 <= session_id <= LARGEST_ID
    dialogue_session = session.get(DialogueSession, session_id) if fits else None
    if dialogue_session is None:
        raise UnknownSessionError(f"there is no session number {session_id}")
    return dialogue_session


def schedule_planned_session(
    session: Session,
    dialogue: Dialogue,
    *,
    date: dt.date,
    place: SessionPlace,
    opens_at: dt.datetime | None,
    closes_at: dt.datetime | None,
    now: dt.datetime,
    actor: StaffUser | None = None,
) -> DialogueSession:
    """Schedule a new, planned session of an active dialogue, with its window if it is known.

    The day is today or later (a desk plans sessions; it does not back-date them) and a window
    given must still lie ahead in part and close by the end of the session's day. The
    consultation does not open by itself: the desk opens it when it is ready to read.
    """
    _require_manager(session, actor, dialogue)
    _require_active(dialogue)
    if date < now.astimezone(dt.UTC).date():
        raise SessionChangeRefusedError(
            translatable(
                "%(date)s has passed; a new session is scheduled for today or later",
                date=date,
            )
        )
    if (opens_at is None) != (closes_at is None):
        raise SessionChangeRefusedError(
            translatable("a consultation window needs both its opening and its close, or neither")
        )
    if opens_at is not None and closes_at is not None:
        _check_close(closes_at, opens_at=opens_at, now=now, session_date=date)
    return schedule_session(
        session,
        dialogue,
        date=date,
        place=place,
        state=SessionState.PLANNED,
        consultation_opens_at=opens_at,
        consultation_closes_at=closes_at,
        actor=actor,
    )


def open_consultation(
    session: Session,
    dialogue_session: DialogueSession,
    *,
    now: dt.datetime,
    closes_at: dt.datetime | None = None,
    actor: StaffUser | None = None,
) -> None:
    """Open (or reopen) the consultation window, optionally setting (or moving) its close.

    A window not announced beforehand opens ``now``. The close must lie after both the opening
    and ``now``: opening a consultation that can no longer receive anything would tell civil
    society it is open when it is not. Opening a round asks the submitters of cases taken up
    in an earlier round to confirm consent again (``rounds.consent_requests.ask_again``).
    """
    dialogue = dialogue_session.dialogue
    _require_manager(session, actor, dialogue)
    _require_active(dialogue)
    _require_allowed(dialogue_session, SessionState.CONSULTATION_OPEN)
    opens_at = dialogue_session.consultation_opens_at or now
    closes_at = closes_at or dialogue_session.consultation_closes_at
    if closes_at is None:
        raise SessionChangeRefusedError(
            translatable(
                "session %(session)s has no consultation close yet; give one",
                session=dialogue_session.id,
            )
        )
    _check_close(closes_at, opens_at=opens_at, now=now, session_date=dialogue_session.date)
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


def extend_consultation(
    session: Session,
    dialogue_session: DialogueSession,
    *,
    closes_at: dt.datetime,
    now: dt.datetime,
    actor: StaffUser | None = None,
) -> None:
    """Move the close of an open consultation later; it never moves earlier (close it instead)."""
    dialogue = dialogue_session.dialogue
    _require_manager(session, actor, dialogue)
    _require_active(dialogue)
    current = dialogue_session.consultation_closes_at
    opens_at = dialogue_session.consultation_opens_at
    if dialogue_session.state is not SessionState.CONSULTATION_OPEN or current is None:
        raise SessionChangeRefusedError(
            translatable(
                "the consultation of session %(session)s is not open; only an open consultation "
                "is extended",
                session=dialogue_session.id,
            )
        )
    if closes_at <= current:
        raise SessionChangeRefusedError(
            translatable(
                "the new close must be later than the current one, %(close)s; to stop earlier, "
                "close the consultation",
                close=current,
            )
        )
    _check_close(closes_at, opens_at=opens_at or now, now=now, session_date=dialogue_session.date)
    dialogue_session.consultation_closes_at = closes_at
    _record_session(
        session,
        dialogue_session,
        AuditAction.SESSION_CONSULTATION_EXTENDED,
        actor,
        {"from": iso_utc(current), "to": iso_utc(closes_at)},
    )


def close_consultation(
    session: Session, dialogue_session: DialogueSession, *, actor: StaffUser | None = None
) -> None:
    """Stop accepting input for this session now, whatever the announced window says (or close
    a planned session's consultation without opening it)."""
    _require_manager(session, actor, dialogue_session.dialogue)
    _close(session, dialogue_session, actor)


def advance_session(
    session: Session,
    dialogue_session: DialogueSession,
    target: SessionState,
    *,
    today: dt.date,
    actor: StaffUser | None = None,
) -> None:
    """Move a session to one of the stages after its consultation (held, debriefed, follow-up),
    never before the session's day (``today`` is the day in UTC)."""
    _require_manager(session, actor, dialogue_session.dialogue)
    if target not in LATER_STAGES:
        raise SessionChangeRefusedError(
            translatable(
                '"%(stage)s" is a consultation stage; open or close the consultation instead',
                stage=target,
            )
        )
    if today < dialogue_session.date:
        raise SessionChangeRefusedError(
            translatable(
                'session %(session)s takes place on %(date)s; it can be recorded as "%(stage)s" '
                "only on or after that day (today is %(today)s, UTC)",
                session=dialogue_session.id,
                date=dialogue_session.date,
                stage=target,
                today=today,
            )
        )
    _require_allowed(dialogue_session, target)
    if target is SessionState.DEBRIEFED:
        _require_everyone_debriefed(session, dialogue_session)
    if target is SessionState.FOLLOW_UP:
        dialogue_session.follow_up_on = today  # the day retention counts from
    _move(session, dialogue_session, target, actor)


def _require_everyone_debriefed(session: Session, dialogue_session: DialogueSession) -> None:
    outstanding = debrief_standing(session, dialogue_session).outstanding
    if outstanding:
        raise SessionChangeRefusedError(
            translatable(
                "%(count)s contribution(s) to session %(session)s have neither a debrief notice "
                "nor a recorded reason for none; send the debrief or record why not first",
                count=len(outstanding),
                session=dialogue_session.id,
            )
        )


def freeze_dialogue(
    session: Session, dialogue: Dialogue, *, actor: StaffUser | None = None
) -> list[DialogueSession]:
    """Freeze ``dialogue``: it accepts nothing until unfrozen. Returns the consultations closed."""
    if dialogue.status is DialogueStatus.FROZEN:
        raise SessionChangeRefusedError(
            translatable("the dialogue %(dialogue)s is already frozen", dialogue=dialogue.slug)
        )
    closed = [item for item in dialogue.sessions if item.state is SessionState.CONSULTATION_OPEN]
    for dialogue_session in closed:
        _close(session, dialogue_session, actor)
    dialogue.status = DialogueStatus.FROZEN
    _record_status(session, dialogue, AuditAction.DIALOGUE_FROZEN, actor)
    return closed


def unfreeze_dialogue(
    session: Session, dialogue: Dialogue, *, actor: StaffUser | None = None
) -> None:
    """Make a frozen dialogue active again; no consultation reopens by itself."""
    if dialogue.status is DialogueStatus.ACTIVE:
        raise SessionChangeRefusedError(
            translatable("the dialogue %(dialogue)s is not frozen", dialogue=dialogue.slug)
        )
    dialogue.status = DialogueStatus.ACTIVE
    _record_status(session, dialogue, AuditAction.DIALOGUE_UNFROZEN, actor)


def _require_manager(session: Session, actor: StaffUser | None, dialogue: Dialogue) -> None:
    """A staff member acting from the web must be one of the desk's working members; ``None``
    is the operator at the command line."""
    if actor is not None and not may_manage_sessions(session, actor, dialogue):
        raise SessionChangeForbiddenError()


def _require_active(dialogue: Dialogue) -> None:
    if dialogue.status is DialogueStatus.FROZEN:
        raise SessionChangeRefusedError(
            translatable(
                "the dialogue %(dialogue)s is frozen; unfreeze it first", dialogue=dialogue.slug
            )
        )


def _check_close(
    closes_at: dt.datetime, *, opens_at: dt.datetime, now: dt.datetime, session_date: dt.date
) -> None:
    if closes_at <= opens_at:
        raise SessionChangeRefusedError(translatable("a consultation must open before it closes"))
    if closes_at <= now:
        raise SessionChangeRefusedError(
            translatable(
                "the consultation close %(close)s has already passed; give a later one",
                close=closes_at,
            )
        )
    if closes_at > latest_close(session_date):
        raise SessionChangeRefusedError(
            translatable(
                "the consultation must close by the end of the session's day, %(latest)s",
                latest=latest_close(session_date),
            )
        )


def _close(session: Session, dialogue_session: DialogueSession, actor: StaffUser | None) -> None:
    _require_allowed(dialogue_session, SessionState.CONSULTATION_CLOSED)
    _move(session, dialogue_session, SessionState.CONSULTATION_CLOSED, actor)


def _require_allowed(dialogue_session: DialogueSession, target: SessionState) -> None:
    current = dialogue_session.state
    if target not in ALLOWED_TRANSITIONS[current]:
        raise SessionChangeRefusedError(
            translatable(
                'session %(session)s cannot go from "%(stage)s" to "%(new_stage)s"',
                session=dialogue_session.id,
                stage=current,
                new_stage=target,
            )
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
    _record_session(
        session,
        dialogue_session,
        AuditAction.SESSION_STATE_CHANGED,
        actor,
        {"from": str(previous), "to": str(target), **(window or {})},
    )


def _record_session(
    session: Session,
    dialogue_session: DialogueSession,
    action: AuditAction,
    actor: StaffUser | None,
    details: Mapping[str, str],
) -> None:
    session.flush()
    record_session_event(session, action, actor, dialogue_session, **details)


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
