"""What the public pages show: dialogues, their sessions and whether a consultation is open.

Only plaintext metadata is read here; nothing about submissions or people.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.models import (
    Dialogue,
    DialogueKind,
    DialogueSession,
    DialogueStatus,
    PartnerKind,
    SessionPlace,
    SessionState,
)


@dataclass(frozen=True)
class SessionSummary:
    """One session as a visitor sees it."""

    date: dt.date
    place: SessionPlace
    state: SessionState
    consultation_opens_at: dt.datetime | None
    consultation_closes_at: dt.datetime | None
    consultation_open: bool


@dataclass(frozen=True)
class DialogueSummary:
    """One dialogue as a visitor sees it, with the facts the index needs precomputed."""

    slug: str
    partner: str
    partner_kind: PartnerKind
    kind: DialogueKind
    status: DialogueStatus
    sessions: tuple[SessionSummary, ...]
    next_session: SessionSummary | None
    open_consultation: SessionSummary | None


def consultation_is_open(dialogue: Dialogue, session: DialogueSession, now: dt.datetime) -> bool:
    """Whether civil society can send input for ``session`` at ``now``.

    All three must hold: the dialogue is not frozen, the desk has opened the consultation, and
    ``now`` lies inside the announced window. The window alone is not enough (the desk may
    close early), and neither is the state alone (the window is what was announced).
    """
    return (
        dialogue.status is DialogueStatus.ACTIVE
        and session.state is SessionState.CONSULTATION_OPEN
        and session.consultation_opens_at is not None
        and session.consultation_closes_at is not None
        and session.consultation_opens_at <= now < session.consultation_closes_at
    )


def list_dialogues(session: Session, now: dt.datetime) -> list[DialogueSummary]:
    """Every dialogue, by partner name."""
    dialogues = session.scalars(
        select(Dialogue).options(selectinload(Dialogue.sessions)).order_by(Dialogue.partner)
    )
    return [_summarise(dialogue, now) for dialogue in dialogues]


def find_dialogue(session: Session, slug: str, now: dt.datetime) -> DialogueSummary | None:
    """One dialogue by its slug, ``None`` if there is none."""
    dialogue = session.scalars(
        select(Dialogue).options(selectinload(Dialogue.sessions)).where(Dialogue.slug == slug)
    ).first()
    return None if dialogue is None else _summarise(dialogue, now)


def _summarise(dialogue: Dialogue, now: dt.datetime) -> DialogueSummary:
    today = now.astimezone(dt.UTC).date()
    sessions = tuple(
        SessionSummary(
            date=item.date,
            place=item.place,
            state=item.state,
            consultation_opens_at=item.consultation_opens_at,
            consultation_closes_at=item.consultation_closes_at,
            consultation_open=consultation_is_open(dialogue, item, now),
        )
        for item in sorted(dialogue.sessions, key=lambda item: item.date, reverse=True)
    )
    upcoming = [item for item in sessions if item.date >= today]
    return DialogueSummary(
        slug=dialogue.slug,
        partner=dialogue.partner,
        partner_kind=dialogue.partner_kind,
        kind=dialogue.kind,
        status=dialogue.status,
        sessions=sessions,
        next_session=min(upcoming, key=lambda item: item.date, default=None),
        open_consultation=next((item for item in sessions if item.consultation_open), None),
    )
