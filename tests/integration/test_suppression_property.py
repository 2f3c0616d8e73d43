"""Small-cell suppression, property-based (issue 11, acceptance 2).

On generated counts with many small cells, nothing published -- table cells and totals, the
round-to-round changes, the CSV, the SVG charts, the session report as a page and as Markdown --
shows a count from 1 to 4, and no small count can be worked back from the published figures:
``suppression_checker`` verifies each table's linear relations by brute force. (The public
summary publishes no count at all: ``test_public_summary``.)
"""

import csv
import datetime as dt
import io
import re
from itertools import pairwise

from flask import Flask, render_template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.blueprints.reports import round_charts
from portal.models import (
    AgendaState,
    Dialogue,
    DialogueSession,
    HowRaised,
    RecommendationOutcome,
    SessionPlace,
    SessionState,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.services.reporting import statistics as stats
from portal.services.reporting.session_report import SessionReport
from portal.services.reporting.suppression import CountTable, Figure, suppress_table
from tests.integration.suppression_checker import derivable_small_cells, small_counts_shown

# Counts mostly small, sometimes not: the hard cases are small cells beside cells just over 5.
counts = st.one_of(st.integers(0, 4), st.integers(0, 9), st.integers(5, 14))
NUMBER = re.compile(r"^\d+$")


@st.composite
def split(draw: st.DrawFn, total: int, categories: list[str]) -> dict[str, int]:
    """``total`` split at random over ``categories``."""
    cuts = sorted(
        draw(
            st.lists(
                st.integers(0, total), min_size=len(categories) - 1, max_size=len(categories) - 1
            )
        )
    )
    return dict(zip(categories, (b - a for a, b in pairwise([0, *cuts, total])), strict=True))


@st.composite
def count_tables(draw: st.DrawFn, first: list[str], others: dict[str, list[str]]) -> CountTable:
    """A total drawn cell by cell over ``first``, and each of ``others`` a random split of it."""
    cells = {category: draw(counts) for category in first}
    total = sum(cells.values())
    partitions = {
        "first": cells,
        **{name: draw(split(total, cats)) for name, cats in others.items()},
    }
    return CountTable(total, partitions)


def _words(vocabulary: type) -> list[str]:
    return [str(word) for word in vocabulary]


@st.composite
def round_counts(draw: st.DrawFn) -> stats.RoundCounts:
    submissions = draw(
        count_tables(
            _words(SubmissionKind),
            {
                stats.STATE: _words(SubmissionState),
                stats.WOMEN_HRD: [stats.YES, stats.NO],
                stats.GENDER_RISK: [stats.YES, stats.NO],
            },
        )
    )
    kind = submissions.partitions["first"]
    tables = {
        stats.SUBMISSIONS: CountTable(
            submissions.total,
            {stats.KIND: kind, **{k: v for k, v in submissions.partitions.items() if k != "first"}},
        )
    }
    for name, vocabulary, partition in (
        (stats.CASES, HowRaised, stats.HOW_RAISED),
        (stats.REPRISALS, HowRaised, stats.HOW_RAISED),
        (stats.RECOMMENDATIONS, RecommendationOutcome, stats.OUTCOME),
    ):
        cells = {word: draw(counts) for word in _words(vocabulary)}
        tables[name] = CountTable(sum(cells.values()), {partition: cells})
    themes = {word: draw(counts) for word in _words(Topic)}
    return stats.RoundCounts(tables=tables, themes=themes)


def _statistics(rounds: list[stats.RoundCounts]) -> stats.DialogueStatistics:
    dialogue = Dialogue(slug="generated", partner="Generated partner")
    published = []
    for index, counts_of_round in enumerate(rounds):
        one = DialogueSession(
            id=index + 1,
            dialogue=dialogue,
            date=dt.date(2020 + index, 3, 1),
            place=SessionPlace.VIDEO,
            state=SessionState.HELD,
            agenda_state=AgendaState.DRAFT,
        )
        published.append(stats.publish_round(one, counts_of_round))
    return stats.DialogueStatistics(dialogue, tuple(published))


def _assert_no_small_number(texts: list[str], where: str) -> None:
    for text in texts:
        text = text.strip()
        assert not (NUMBER.match(text) and 0 < int(text) < 5), (where, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(round_counts(), min_size=1, max_size=3))
def test_nothing_published_shows_or_lets_derive_a_small_count(
    demo_app: Flask, rounds: list[stats.RoundCounts]
) -> None:
    statistics = _statistics(rounds)
    # Every table: no small figure shown, none derivable from its relations.
    for counts_of_round, published in zip(rounds, statistics.rounds, strict=True):
        for name, table in counts_of_round.tables.items():
            assert small_counts_shown(published.tables[name]) == []
            assert derivable_small_cells(table, published.tables[name]) == []
        assert all(not 0 < (f.value or 0) < 5 for f in published.themes.values())
    # Trends: a change only between two shown figures, and then exactly their difference.
    for row in statistics.trend_rows():
        for (earlier, later), moved in zip(pairwise(row.figures), row.changes[1:], strict=True):
            if earlier.value is None or later.value is None:
                assert moved is None
            else:
                assert moved == later.value - earlier.value
    # The CSV.
    for row in csv.DictReader(io.StringIO(stats.statistics_csv(statistics))):
        _assert_no_small_number([row["figure"]], "csv")
    with demo_app.test_request_context("/staff/reports/generated/sessions/1"):
        for published in statistics.rounds:
            # The charts: a hidden figure draws no bar and writes no number.
            charts = round_charts(published)
            for _table, _partition, chart in charts:
                _assert_no_small_number(re.findall(r"<text\b[^>]*>([^<]*)</text>", chart), "svg")
            shown = [f for f in _all_figures(published) if f.value]
            bars = sum(chart.count("<rect") for _t, _p, chart in charts)
            assert bars == len(shown)
            report = SessionReport(
                dialogue=statistics.dialogue,
                dialogue_session=published.dialogue_session,
                agenda=None,
                themes_discussed=(),
                figures=published,
                roadmap=(),
                made_on=dt.date(2030, 1, 1),
            )
            # The report as Markdown and as the page: every table cell and every total.
            markdown = render_template("staff/reports/session_report.md", report=report)
            cells = re.findall(r"^\|[^|]*\| ([^|]*) \|$", markdown, re.MULTILINE)
            totals = re.findall(r"^Total: (.*)$", markdown, re.MULTILINE)
            _assert_no_small_number(cells + totals, "markdown")
            page = render_template("staff/reports/session.html", report=report, charts=charts)
            _assert_no_small_number(re.findall(r"<td>([^<]*)</td>", page), "page")
            _assert_no_small_number(re.findall(r"<strong>([^<]*)</strong>", page), "page")


def _all_figures(published: stats.RoundFigures) -> list[Figure]:
    figures = list(published.themes.values())
    for table in published.tables.values():
        figures.extend(f for cells in table.partitions.values() for f in cells.values())
    return figures


@settings(max_examples=300, deadline=None)
@given(count_tables(["a", "b", "c", "d", "e"], {"x": ["x1", "x2", "x3"], "y": ["y1", "y2"]}))
def test_no_small_count_is_shown_or_derivable(table: CountTable) -> None:
    published = suppress_table(table)
    assert small_counts_shown(published) == []
    assert derivable_small_cells(table, published) == []
