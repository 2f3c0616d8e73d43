"""What the public pages show: dialogues, their sessions and whether a consultation is open.

Only plaintext metadata and public keys are read here; nothing about submissions or people.
Whether a consultation is open is decided by ``portal.services.dialogues.dialogue_sessions``, the
same rule the forms obey, so a page never says "open" when a submission would be refused.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from portal.models import (
    Dialogue,
    DialogueKind,
    DialogueStatus,
    PartnerKind,
    ReviewMode,
    SessionPlace,
    SessionState,
)
from portal.services.desks.keys import current_desk_key
from portal.services.dialogues.dialogue_sessions import (
    consultation_accepts_submissions,
    dialogue_accepts_reprisal_reports,
)


@dataclass(frozen=True)
class SessionSummary:
    """One session as a visitor sees it."""

    id: int
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


@dataclass(frozen=True)
class DeskKeySummary:
    """The public half of a dialogue's current desk key, as people compare it."""

    fingerprint: str
    key_id: str


@dataclass(frozen=True)
class SessionPage:
    """One session with what its page explains: who reads, how, and which key to check."""

    dialogue: DialogueSummary
    session: SessionSummary
    review_mode: ReviewMode
    desk_key: DeskKeySummary | None
    accepts_reprisal_reports: bool


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


def find_session_page(
    session: Session, slug: str, session_id: int, now: dt.datetime
) -> SessionPage | None:
    """The session ``session_id`` of the dialogue ``slug``; ``None`` unless both exist and match."""
    dialogue = session.scalars(
        select(Dialogue).options(selectinload(Dialogue.sessions)).where(Dialogue.slug == slug)
    ).first()
    if dialogue is None:
        return None
    summary = _summarise(dialogue, now)
    found = next((item for item in summary.sessions if item.id == session_id), None)
    if found is None:
        return None
    desk_key = current_desk_key(session, dialogue)
    return SessionPage(
        dialogue=summary,
        session=found,
        review_mode=dialogue.review_mode,
        desk_key=None
        if desk_key is None
        else DeskKeySummary(
            fingerprint=crypto.fingerprint(desk_key.public_key), key_id=desk_key.key_id.hex()
        ),
        accepts_reprisal_reports=dialogue_accepts_reprisal_reports(dialogue),
    )


def _summarise(dialogue: Dialogue, now: dt.datetime) -> DialogueSummary:
    today = now.astimezone(dt.UTC).date()
    sessions = tuple(
        SessionSummary(
            id=item.id,
            date=item.date,
            place=item.place,
            state=item.state,
            consultation_opens_at=item.consultation_opens_at,
            consultation_closes_at=item.consultation_closes_at,
            consultation_open=consultation_accepts_submissions(item, now),
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
