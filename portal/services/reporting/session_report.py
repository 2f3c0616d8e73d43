"""The written report of one session for the geographic working party and COHOM.

What it holds is what observers may read, and nothing else:

- the agenda once the co-chairs have shared it (``rounds.agenda.SHOWN_TO_OBSERVERS``): each
  included item's title and theme, and whether the record says it was discussed;
- the themes discussed (``public_summary.discussed_themes``);
- the round's figures (``reporting.statistics``, every one through suppression), among them the
  reprisal reports on the session's record by how they were raised: counts only, no identity;
- the state of the dialogue's follow-up roadmap (``rounds.roadmap.roadmap_summary``): results,
  actions, owners, due days and states, staff words about themes.

No submission, public id, name or word a submitter wrote is read to make it: a report is built
from plaintext columns, so that a report can be printed and handed on. The page prints with its
own print stylesheet; the same report downloads as Markdown (``templates/staff/reports/
session_report.md``), and its figures as CSV with the dialogue's statistics.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal.models import AgendaTheme, Dialogue, DialogueSession
from portal.services.reporting.public_summary import DiscussedTheme, discussed_themes
from portal.services.reporting.statistics import RoundFigures, round_figures
from portal.services.rounds import agenda, record
from portal.services.rounds.roadmap import ResultSummary, roadmap_summary


@dataclass(frozen=True)
class AgendaLine:
    """One included agenda item as the report shows it; ``discussed`` is empty until recorded."""

    title: str
    theme: AgendaTheme
    topic: str | None
    discussed: bool | None


@dataclass(frozen=True)
class SessionReport:
    """Everything the report of one session shows."""

    dialogue: Dialogue
    dialogue_session: DialogueSession
    agenda: tuple[AgendaLine, ...] | None  # None: not shared with observers yet
    themes_discussed: tuple[DiscussedTheme, ...]
    figures: RoundFigures
    roadmap: tuple[ResultSummary, ...]
    made_on: dt.date


def session_report(
    session: Session, dialogue_session: DialogueSession, *, today: dt.date
) -> SessionReport:
    """The report of ``dialogue_session`` as of ``today`` (which decides what is overdue)."""
    dialogue = dialogue_session.dialogue
    return SessionReport(
        dialogue=dialogue,
        dialogue_session=dialogue_session,
        agenda=_agenda(session, dialogue_session),
        themes_discussed=discussed_themes(session, dialogue_session),
        figures=round_figures(session, dialogue_session),
        roadmap=roadmap_summary(session, dialogue, today=today),
        made_on=today,
    )


def _agenda(session: Session, dialogue_session: DialogueSession) -> tuple[AgendaLine, ...] | None:
    if dialogue_session.agenda_state not in agenda.SHOWN_TO_OBSERVERS:
        return None
    return tuple(
        AgendaLine(item.title, item.theme, item.topic, item.discussed)
        for item in record.agenda_items(session, dialogue_session)
    )
