"""The statistics of a dialogue, round by round, from plaintext columns only.

Nothing here opens an envelope: the counts come from the columns the server keeps in plaintext
(kind, state, topic tags, the desk's classification of women human-rights defenders and of
gender-specific risk, and the session's record: how each case was raised, what became of each
recommendation). Every figure goes through :mod:`portal.services.reporting.suppression` before
anyone sees it; the pages, the CSV, the charts and the session report all publish what
:func:`round_figures` returns and nothing else.

**Rounds.** A submission counts in its session's round. A reprisal report belongs to the
dialogue, not to a session, so it counts in the round it was reported for: the dialogue's first
session dated on or after the day it arrived; one that arrived after the last scheduled session
counts nowhere until the next is scheduled.

**What is published per round** (one :class:`~suppression.CountTable` each, so that its
partitions are protected together, and nothing that adds tables up):

- the submissions of the round, partitioned by kind, by state, by whether the desk classified
  them as concerning a woman human-rights defender, and by gender-specific risk;
- topic tags, one count per theme (a submission may carry several, so no total is published);
- the round's record: the individual cases and, apart, the reprisal reports on it, each by how
  they were raised; the seminar recommendations answered, by outcome.

**Trends** set each figure beside the same figure of the previous round, with the change only
where both are shown (``suppression.change``). A dialogue's total across rounds is not
published: it would be a sum of the rounds' totals, and a hidden round total could be worked
back from it.
"""

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    CaseOutcome,
    Dialogue,
    DialogueSession,
    HowRaised,
    RecommendationOutcome,
    RecommendationResponse,
    Submission,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.services.reporting.suppression import (
    CountTable,
    Figure,
    PublishedTable,
    change,
    suppress_cells,
    suppress_table,
)

YES, NO = "yes", "no"
SUBMISSIONS, CASES, REPRISALS, RECOMMENDATIONS = (
    "submissions",
    "cases_on_record",
    "reprisals_on_record",
    "recommendations_answered",
)
KIND, STATE, WOMEN_HRD, GENDER_RISK, HOW_RAISED, OUTCOME = (
    "kind",
    "state",
    "women_hrd",
    "gender_specific_risk",
    "how_raised",
    "outcome",
)
TABLES = (SUBMISSIONS, CASES, REPRISALS, RECOMMENDATIONS)
"""The tables of a round, in the order pages show them."""
THEMES = "themes"


@dataclass(frozen=True)
class RoundCounts:
    """The true counts of one round: never shown as they are."""

    tables: Mapping[str, CountTable]
    themes: Mapping[str, int]


@dataclass(frozen=True)
class RoundFigures:
    """What may be published of one round."""

    dialogue_session: DialogueSession
    tables: Mapping[str, PublishedTable]
    themes: Mapping[str, Figure]

    @property
    def total(self) -> Figure:
        """The round's number of submissions, as published."""
        return self.tables[SUBMISSIONS].total


@dataclass(frozen=True)
class TrendRow:
    """One figure across the rounds of a dialogue, with its change from the previous round."""

    table: str
    partition: str | None  # None: the table's total
    category: str | None
    figures: tuple[Figure, ...]
    changes: tuple[int | None, ...]  # the first round has no previous one: None


@dataclass(frozen=True)
class DialogueStatistics:
    """A dialogue's rounds, oldest first, and its trends."""

    dialogue: Dialogue
    rounds: tuple[RoundFigures, ...]

    def trend_rows(self) -> list[TrendRow]:
        """Every published figure as a row across the rounds."""
        if not self.rounds:
            return []
        first = self.rounds[0]
        rows = []
        for table in TABLES:
            rows.append(self._row(table, None, None))
            for partition, cells in first.tables[table].partitions.items():
                rows.extend(self._row(table, partition, category) for category in cells)
        rows.extend(self._row(THEMES, None, category) for category in first.themes)
        return rows

    def _row(self, table: str, partition: str | None, category: str | None) -> TrendRow:
        figures = tuple(_figure_of(one, table, partition, category) for one in self.rounds)
        changes = (None, *(change(a, b) for a, b in pairwise(figures)))
        return TrendRow(table, partition, category, figures, changes)


def _figure_of(
    figures: RoundFigures, table: str, partition: str | None, category: str | None
) -> Figure:
    if table == THEMES:
        assert category is not None
        return figures.themes[category]
    published = figures.tables[table]
    if partition is None or category is None:
        return published.total
    return published.partitions[partition][category]


# --- counting ------------------------------------------------------------------------------------


def publish_round(dialogue_session: DialogueSession, counts: RoundCounts) -> RoundFigures:
    """The figures of a round as they may be published: pure, so that tests can feed it any
    counts."""
    return RoundFigures(
        dialogue_session=dialogue_session,
        tables={name: suppress_table(table) for name, table in counts.tables.items()},
        themes=suppress_cells(counts.themes),
    )


def round_figures(session: Session, dialogue_session: DialogueSession) -> RoundFigures:
    """The published figures of one round."""
    return publish_round(dialogue_session, round_counts(session, dialogue_session))


def dialogue_statistics(session: Session, dialogue: Dialogue) -> DialogueStatistics:
    """The published figures of every round of ``dialogue``, oldest first."""
    rounds = _rounds(session, dialogue)
    members = _submissions_by_round(session, dialogue, rounds)
    return DialogueStatistics(
        dialogue,
        tuple(publish_round(one, _counts(session, one, members.get(one.id, []))) for one in rounds),
    )


def round_counts(session: Session, dialogue_session: DialogueSession) -> RoundCounts:
    """The true counts of one round (for :func:`publish_round`, never for a page)."""
    dialogue = dialogue_session.dialogue
    members = _submissions_by_round(session, dialogue, _rounds(session, dialogue))
    return _counts(session, dialogue_session, members.get(dialogue_session.id, []))


def _rounds(session: Session, dialogue: Dialogue) -> list[DialogueSession]:
    return list(
        session.scalars(
            select(DialogueSession)
            .where(DialogueSession.dialogue_id == dialogue.id)
            .order_by(DialogueSession.date, DialogueSession.id)
        )
    )


def _submissions_by_round(
    session: Session, dialogue: Dialogue, rounds: Sequence[DialogueSession]
) -> dict[int, list[Submission]]:
    """The dialogue's submissions by the round they count in (the module docstring)."""
    by_round: dict[int, list[Submission]] = {}
    for submission in session.scalars(
        select(Submission).where(Submission.dialogue_id == dialogue.id).order_by(Submission.id)
    ):
        round_id = submission.session_id or _reported_for(rounds, submission.received_on)
        if round_id is not None:
            by_round.setdefault(round_id, []).append(submission)
    return by_round


def _reported_for(rounds: Sequence[DialogueSession], received_on: dt.date) -> int | None:
    return next((one.id for one in rounds if one.date >= received_on), None)


def _counts(
    session: Session, dialogue_session: DialogueSession, members: Sequence[Submission]
) -> RoundCounts:
    return RoundCounts(
        tables={
            SUBMISSIONS: CountTable(
                len(members),
                {
                    KIND: _tally((s.kind for s in members), SubmissionKind),
                    STATE: _tally((s.state for s in members), SubmissionState),
                    WOMEN_HRD: _yes_no(s.women_hrd for s in members),
                    GENDER_RISK: _yes_no(s.gender_specific_risk for s in members),
                },
            ),
            **_record_tables(session, dialogue_session),
        },
        themes=_tally((tag for s in members for tag in s.topic_tags), Topic),
    )


def _record_tables(session: Session, dialogue_session: DialogueSession) -> dict[str, CountTable]:
    outcomes = session.execute(
        select(Submission.kind, CaseOutcome.how_raised)
        .join(Submission, Submission.id == CaseOutcome.submission_id)
        .where(CaseOutcome.session_id == dialogue_session.id)
    ).all()
    answered = list(
        session.scalars(
            select(RecommendationResponse.outcome).where(
                RecommendationResponse.session_id == dialogue_session.id
            )
        )
    )
    tables = {}
    for name, kind in (
        (CASES, SubmissionKind.INDIVIDUAL_CASE),
        (REPRISALS, SubmissionKind.REPRISAL_REPORT),
    ):
        how = [row.how_raised for row in outcomes if row.kind is kind]
        tables[name] = CountTable(len(how), {HOW_RAISED: _tally(how, HowRaised)})
    tables[RECOMMENDATIONS] = CountTable(
        len(answered), {OUTCOME: _tally(answered, RecommendationOutcome)}
    )
    return tables


def _tally(values: Iterable[str], vocabulary: Iterable[str]) -> dict[str, int]:
    """Counts of ``values`` for every word of ``vocabulary``, in its order (zeros included, so
    that every round has the same rows)."""
    counted = Counter(str(value) for value in values)
    return {str(word): counted[str(word)] for word in vocabulary}


def _yes_no(flags: Iterable[bool]) -> dict[str, int]:
    counted = Counter(bool(flag) for flag in flags)
    return {YES: counted[True], NO: counted[False]}


# --- export --------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "dialogue",
    "session_date",
    "table",
    "partition",
    "category",
    "figure",
    "change_from_previous_round",
)
"""The columns of the statistics CSV (README, "Reports and statistics"): ``figure`` is a number,
or ``fewer_than_5``, ``not_shown`` or ``withheld``; the change is empty unless both rounds'
figures are shown. An empty partition and category is the table's total."""


def statistics_csv(statistics: DialogueStatistics) -> str:
    """Every published figure of the dialogue, one row per figure and round."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in statistics.trend_rows():
        for one, figure, moved in zip(statistics.rounds, row.figures, row.changes, strict=True):
            writer.writerow(
                (
                    statistics.dialogue.slug,
                    one.dialogue_session.date.isoformat(),
                    row.table,
                    row.partition or "",
                    row.category or "",
                    figure_text(figure),
                    "" if moved is None else moved,
                )
            )
    return out.getvalue()


def figure_text(figure: Figure) -> str:
    """A figure as the export writes it: the number, or the stored name of its mark."""
    return str(figure.value) if figure.value is not None else str(figure.mark)
