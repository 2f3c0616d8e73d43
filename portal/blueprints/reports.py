"""Reports and statistics (under ``/staff/reports``): figures and session reports, never content.

Who reads what is ``need_to_know.may_read_reports``: observers every dialogue, desk members their
own; anyone else is answered 403, an unknown dialogue or session 404. Every figure comes from
``reporting.statistics`` already suppressed; charts are drawn on the server
(``reporting.charts``), each beside the table of the same figures. This module turns requests into
those calls and the answers into pages, a CSV and a Markdown download.
"""

import enum
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup
from sqlalchemy.orm import Session

from portal.blueprints.staff_access import signed_in_staff, staff_required
from portal.labels import label
from portal.models import (
    Dialogue,
    HowRaised,
    RecommendationOutcome,
    SubmissionKind,
    SubmissionState,
    Topic,
    utc_now,
)
from portal.services.desks import need_to_know
from portal.services.reporting import statistics as stats
from portal.services.reporting.charts import Bar, bar_chart
from portal.services.reporting.session_report import SessionReport, session_report
from portal.services.reporting.suppression import THRESHOLD, Figure, Mark
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import dialogue_or_404, session_of_dialogue_or_404
from portal.web.transaction import reading

blueprint = Blueprint("reports", __name__, url_prefix="/staff/reports")

MARK_WORDS = {
    Mark.FEWER_THAN_5: lazy_gettext("fewer than %(threshold)s", threshold=THRESHOLD),
    Mark.NOT_SHOWN: lazy_gettext("not shown"),
    Mark.WITHHELD: lazy_gettext("withheld"),
}
TABLE_WORDS = {
    stats.SUBMISSIONS: lazy_gettext("Submissions of the round"),
    stats.CASES: lazy_gettext("Individual cases on the session's record"),
    stats.REPRISALS: lazy_gettext("Reprisal reports on the session's record"),
    stats.RECOMMENDATIONS: lazy_gettext("Seminar recommendations answered in the session"),
    stats.THEMES: lazy_gettext("Themes (topic tags; a submission may carry several)"),
}
PARTITION_WORDS = {
    stats.KIND: lazy_gettext("By kind"),
    stats.STATE: lazy_gettext("By state"),
    stats.WOMEN_HRD: lazy_gettext(
        "Concerning a woman human-rights defender (the desk's classification)"
    ),
    stats.GENDER_RISK: lazy_gettext("With a gender-specific risk (the desk's assessment)"),
    stats.HOW_RAISED: lazy_gettext("By how it was raised"),
    stats.OUTCOME: lazy_gettext("By outcome"),
}
YES_NO_WORDS = {stats.YES: lazy_gettext("Yes"), stats.NO: lazy_gettext("No")}
VOCABULARIES: dict[str, type[enum.Enum]] = {
    stats.KIND: SubmissionKind,
    stats.STATE: SubmissionState,
    stats.HOW_RAISED: HowRaised,
    stats.OUTCOME: RecommendationOutcome,
    stats.THEMES: Topic,
}


def category_label(partition: str, category: str) -> str:
    """What a category of a partition (or a theme) reads as."""
    vocabulary = VOCABULARIES.get(partition)
    if vocabulary is not None:
        return str(label(vocabulary(category)))
    return str(YES_NO_WORDS[category])


@blueprint.app_context_processor
def _reports_navigation() -> dict[str, Any]:
    """Whether the staff navigation offers "Reports": to whoever reads at least one dialogue's."""

    def reports_visible() -> bool:
        signed_in = signed_in_staff()
        if signed_in is None:
            return False
        return bool(need_to_know.report_dialogues(reading(), signed_in.user))

    return {"reports_visible": reports_visible}


@blueprint.context_processor
def _report_words() -> dict[str, Any]:
    return {
        "mark_words": MARK_WORDS,
        "table_words": TABLE_WORDS,
        "partition_words": PARTITION_WORDS,
        "category_label": category_label,
        "threshold": THRESHOLD,
    }


@blueprint.get("")
@staff_required()
def index(signed_in: SignedInStaff) -> ResponseReturnValue:
    """The dialogues the person reads, each with its rounds' totals and a chart of them."""
    database = reading()
    dialogues = need_to_know.report_dialogues(database, signed_in.user)
    if not dialogues:
        abort(403)
    overview = [stats.dialogue_statistics(database, dialogue) for dialogue in dialogues]
    return render_template(
        "staff/reports/index.html",
        overview=[(one, _totals_chart(one)) for one in overview],
    )


@blueprint.get("/<slug>")
@staff_required()
def dialogue_statistics(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    """One dialogue's figures round by round, with the change from round to round."""
    database = reading()
    dialogue = _readable_dialogue(database, signed_in, slug)
    statistics = stats.dialogue_statistics(database, dialogue)
    latest = statistics.rounds[-1] if statistics.rounds else None
    return render_template(
        "staff/reports/dialogue.html",
        report_dialogue=dialogue,
        statistics=statistics,
        rows=statistics.trend_rows(),
        totals_chart=_totals_chart(statistics),
        latest_charts=[] if latest is None else round_charts(latest),
        latest=latest,
    )


@blueprint.get("/<slug>/statistics.csv")
@staff_required()
def statistics_csv(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    """Every published figure of the dialogue as CSV (columns in ``statistics.CSV_COLUMNS``)."""
    database = reading()
    dialogue = _readable_dialogue(database, signed_in, slug)
    return Response(
        stats.statistics_csv(stats.dialogue_statistics(database, dialogue)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="statistics-{dialogue.slug}.csv"'},
    )


@blueprint.get("/<slug>/sessions/<int:session_id>")
@staff_required()
def report(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The written report of one session, printable."""
    found = _report(signed_in, slug, session_id)
    return render_template(
        "staff/reports/session.html", report=found, charts=round_charts(found.figures)
    )


@blueprint.get("/<slug>/sessions/<int:session_id>/report.md")
@staff_required()
def report_markdown(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The same report as a Markdown document to download."""
    found = _report(signed_in, slug, session_id)
    name = f"report-{found.dialogue.slug}-{found.dialogue_session.date.isoformat()}.md"
    return Response(
        render_template("staff/reports/session_report.md", report=found),
        mimetype="text/markdown",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- helpers -----------------------------------------------------------------------------------


def _readable_dialogue(database: Session, signed_in: SignedInStaff, slug: str) -> Dialogue:
    dialogue = dialogue_or_404(database, slug)
    if not need_to_know.may_read_reports(database, signed_in.user, dialogue):
        abort(403)
    return dialogue


def _report(signed_in: SignedInStaff, slug: str, session_id: int) -> SessionReport:
    database = reading()
    dialogue = _readable_dialogue(database, signed_in, slug)
    dialogue_session = session_of_dialogue_or_404(database, dialogue, session_id)
    return session_report(database, dialogue_session, today=utc_now().date())


def _chart(chart_id: str, title: str, bars: list[Bar]) -> Markup:
    return bar_chart(
        chart_id=chart_id,
        title=title,
        description=_(
            "The same figures as the table beside the chart. A count from 1 to %(largest)s "
            "reads “fewer than %(threshold)s”, and a hidden figure has no bar.",
            largest=THRESHOLD - 1,
            threshold=THRESHOLD,
        ),
        bars=bars,
        mark_words={mark: str(words) for mark, words in MARK_WORDS.items()},
    )


def _totals_chart(statistics: stats.DialogueStatistics) -> Markup:
    bars = [Bar(_round_name(one), one.total) for one in statistics.rounds]
    return _chart(
        f"totals-{statistics.dialogue.slug}",
        _("Submissions per round: %(partner)s", partner=statistics.dialogue.partner),
        bars,
    )


def _round_name(one: stats.RoundFigures) -> str:
    return one.dialogue_session.date.isoformat()


def round_charts(figures: stats.RoundFigures) -> list[tuple[str, str, Markup]]:
    """A chart per partition of the round's tables and one of its themes, with the table and
    partition each draws (the page puts each beside its table)."""
    charts = []
    for table in stats.TABLES:
        for partition, cells in figures.tables[table].partitions.items():
            charts.append(
                (
                    table,
                    partition,
                    _chart(
                        f"{table}-{partition}",
                        f"{TABLE_WORDS[table]}: {PARTITION_WORDS[partition]}",
                        _bars(partition, cells),
                    ),
                )
            )
    charts.append(
        (
            stats.THEMES,
            "",
            _chart(
                stats.THEMES, str(TABLE_WORDS[stats.THEMES]), _bars(stats.THEMES, figures.themes)
            ),
        )
    )
    return charts


def _bars(partition: str, cells: Mapping[str, Figure]) -> list[Bar]:
    return [Bar(category_label(partition, category), figure) for category, figure in cells.items()]
