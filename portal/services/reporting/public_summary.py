"""A session's public summary: the press statement and the themes discussed, once published.

Optional per session. The desk's triage officers and co-chairs -- those who manage its sessions
(``dialogue_sessions.may_manage_sessions``) -- write the joint or EU press statement in the
cleaned Markdown of staff prose (``rounds.staff_markdown``), and publish or unpublish it; it can
be drafted at any time and published once the session has been held. The public session page
then shows the statement and the themes the record says were discussed (agenda items included
and recorded as discussed: their themes, never their titles, which are staff words about the
session's substance). A summary holds no case, no name and no count: the page that takes it
says so, and it shows no figure of its own.

Every change records one audit event with the session and closed-list values, never the words.
"""

import datetime as dt
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaTheme,
    DialogueSession,
    SessionSummary,
    StaffUser,
    StatementSource,
)
from portal.services.audit.trail import AuditAction, record_session_event
from portal.services.dialogues import dialogue_sessions
from portal.services.rounds import staff_markdown
from portal.services.submissions.kinds import LONG_TEXT_LIMIT
from portal.translatable import translatable


class SummaryRefusedError(ValueError):
    """Not possible now; the message says why and can be shown as is."""


class SummaryForbiddenError(PermissionError):
    """The staff member may not write this session's summary."""


@dataclass(frozen=True)
class DiscussedTheme:
    """A theme the record says was discussed; ``topic`` names a specific topic's subject."""

    theme: AgendaTheme
    topic: str | None


@dataclass(frozen=True)
class PublicSummary:
    """What the public session page shows once the summary is published."""

    statement_source: StatementSource
    statement: Markup
    themes: tuple[DiscussedTheme, ...]


def may_write_summary(session: Session, user: StaffUser, dialogue_session: DialogueSession) -> bool:
    """Whether ``user`` writes and publishes the session's summary: its desk's triage officers
    and co-chairs."""
    return dialogue_sessions.may_manage_sessions(session, user, dialogue_session.dialogue)


def summary_of(session: Session, dialogue_session: DialogueSession) -> SessionSummary | None:
    """The session's summary, published or not."""
    return session.scalars(
        select(SessionSummary).where(SessionSummary.session_id == dialogue_session.id)
    ).first()


def write_summary(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    *,
    source: StatementSource,
    statement: str,
    now: dt.datetime,
) -> SessionSummary:
    """Write (or rewrite) the statement. A published summary shows the new words at once."""
    _require_writer(session, actor, dialogue_session)
    text = statement.strip()
    if not text:
        raise SummaryRefusedError(translatable("write the statement first"))
    if len(text) > LONG_TEXT_LIMIT:
        raise SummaryRefusedError(
            translatable("a statement may hold at most %(limit)s characters", limit=LONG_TEXT_LIMIT)
        )
    summary = summary_of(session, dialogue_session)
    if summary is None:
        summary = SessionSummary(session_id=dialogue_session.id, published_at=None)
        session.add(summary)
    summary.statement_source = source
    summary.statement = text
    summary.written_by_id = actor.id
    summary.written_at = now
    session.flush()
    record_session_event(
        session,
        AuditAction.SESSION_SUMMARY_WRITTEN,
        actor,
        dialogue_session,
        source=str(source),
        published=summary.published_at is not None,
    )
    return summary


def set_published(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    *,
    published: bool,
    now: dt.datetime,
) -> None:
    """Publish the summary on the public session page, or take it off."""
    _require_writer(session, actor, dialogue_session)
    summary = summary_of(session, dialogue_session)
    if summary is None:
        raise SummaryRefusedError(translatable("write the statement first"))
    if published and not dialogue_sessions.has_been_held(dialogue_session):
        raise SummaryRefusedError(
            translatable("a summary is published once the session has been held")
        )
    if (summary.published_at is not None) == published:
        raise SummaryRefusedError(
            translatable("the summary is published already")
            if published
            else translatable("the summary is not published")
        )

    summary.published_at = now if published else None
    session.flush()
    record_session_event(
        session,
        AuditAction.SESSION_SUMMARY_PUBLISHED
        if published
        else AuditAction.SESSION_SUMMARY_UNPUBLISHED,
        actor,
        dialogue_session,
    )


def discussed_themes(
    session: Session, dialogue_session: DialogueSession
) -> tuple[DiscussedTheme, ...]:
    """The themes of the included agenda items the record says were discussed, in agenda order,
    each once."""
    items = session.scalars(
        select(AgendaItem)
        .where(
            AgendaItem.session_id == dialogue_session.id,
            AgendaItem.status == AgendaItemStatus.INCLUDED,
            AgendaItem.discussed.is_(True),
        )
        .order_by(AgendaItem.position, AgendaItem.id)
    )
    themes = (DiscussedTheme(item.theme, item.topic) for item in items)
    return tuple(dict.fromkeys(themes))


def published_summary(session: Session, session_id: int) -> PublicSummary | None:
    """The public summary of session ``session_id``, if one is published."""
    summary = session.scalars(
        select(SessionSummary).where(
            SessionSummary.session_id == session_id, SessionSummary.published_at.is_not(None)
        )
    ).first()
    if summary is None:
        return None
    return PublicSummary(
        statement_source=summary.statement_source,
        statement=staff_markdown.render(summary.statement),
        themes=discussed_themes(session, summary.session),
    )


def _require_writer(session: Session, actor: StaffUser, dialogue_session: DialogueSession) -> None:
    if not may_write_summary(session, actor, dialogue_session):
        raise SummaryForbiddenError()
