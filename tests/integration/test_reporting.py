"""Reports and statistics (``reporting.statistics``, ``reporting.session_report``, blueprint
``reports``) on a writable demo instance.

The world: the ``valdoria`` demo dialogue's open round receives seven agenda inputs, two
individual cases (one carrying a canary string and the desk's "woman human-rights defender"
classification) and one reprisal report (which counts in that round, the first dated after it
arrived). Its earlier round, in follow-up, gets a shared agenda with one item recorded as
discussed, the reprisal report on its record, and a roadmap action. The expected figures are
worked out by hand from the rule in ``reporting.suppression``.
"""

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app
from portal.db import Database
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItem,
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    CaseOutcome,
    Dialogue,
    DialogueSession,
    FollowUpAction,
    HowRaised,
    SessionState,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    utc_now,
)
from portal.services.reporting import statistics as stats
from portal.services.reporting.suppression import Mark
from tests.conftest import DemoInstance, send_to_valdoria
from tests.desk_world_support import CASE_FORM
from tests.integration.test_agenda import REPRISAL_FORM
from tests.staff_sessions_support import demo_credentials, sign_in_client

AGENDA_FORM: dict[str, Any] = {"topics": ["freedom_of_expression"], "situation": "Closures"}
ROADMAP_TITLE = "Follow-up visit to the press council"
ITEM_TITLE = "Freedom of the press"


@dataclass
class World:
    app: Flask
    instance: DemoInstance
    canary: str
    public_ids: list[str]
    open_round: int
    earlier_round: int

    def client(self, role: str) -> FlaskClient:
        credentials = demo_credentials(self.instance.credentials_file)[role]
        client = self.app.test_client()
        sign_in_client(self.app, client, credentials.email, credentials.password)
        return client


@pytest.fixture(scope="module")
def world(writable_demo_instance: DemoInstance) -> Iterator[World]:
    canary = f"CANARY-{uuid.uuid4().hex}"
    settings = writable_demo_instance.settings
    agenda_ids = [
        send_to_valdoria(settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM).public_id
        for _ in range(7)
    ]
    case_form = {
        **CASE_FORM,
        "situation": f"Detained {canary}",
        "topics": ["detention_and_fair_trial"],
    }
    case_ids = [
        send_to_valdoria(settings, SubmissionKind.INDIVIDUAL_CASE, case_form).public_id
        for _ in range(2)
    ]
    reprisal_id = send_to_valdoria(
        settings, SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM
    ).public_id
    database = Database(settings.database_url)
    with database.session() as session:
        sent = {
            s.public_id: s
            for s in session.scalars(
                select(Submission).where(
                    Submission.public_id.in_([*agenda_ids, *case_ids, reprisal_id])
                )
            )
        }
        agenda_inputs = [sent[public_id] for public_id in agenda_ids]
        cases = [sent[public_id] for public_id in case_ids]
        reprisal = sent[reprisal_id]
        # The desk's triage: six agenda inputs accepted; one case classified as concerning a
        # woman human-rights defender.
        for submission in agenda_inputs[:6]:
            submission.state = SubmissionState.ACCEPTED
        cases[0].women_hrd = True
        dialogue = agenda_inputs[0].dialogue
        earlier = next(one for one in dialogue.sessions if one.state is SessionState.FOLLOW_UP)
        earlier.agenda_state = AgendaState.FINAL
        co_chair = session.scalars(select(StaffUser).where(StaffUser.email.like("cochair@%"))).one()
        session.add_all(
            [
                AgendaItem(
                    session_id=earlier.id,
                    title=ITEM_TITLE,
                    theme=AgendaTheme.SPECIFIC_TOPIC,
                    topic="freedom_of_expression",
                    position=1,
                    priority_of=AgendaPriority.EU,
                    status=AgendaItemStatus.INCLUDED,
                    discussed=True,
                ),
                AgendaItem(
                    session_id=earlier.id,
                    title="Reprisals",
                    theme=AgendaTheme.REPRISALS,
                    position=2,
                    priority_of=AgendaPriority.EU,
                    status=AgendaItemStatus.INCLUDED,
                    discussed=False,
                ),
                CaseOutcome(
                    session_id=earlier.id,
                    submission_id=reprisal.id,
                    how_raised=HowRaised.HANDOVER_LIST,
                    recorded_by_id=co_chair.id,
                ),
                FollowUpAction(
                    dialogue_id=dialogue.id,
                    session_id=earlier.id,
                    title=ROADMAP_TITLE,
                    owner=ActionOwner.EU,
                    due_on=utc_now().date() - dt.timedelta(days=3),
                    state=ActionState.IN_PROGRESS,
                    created_by_id=co_chair.id,
                ),
            ]
        )
        session.commit()
        built = World(
            app=create_app(writable_demo_instance.settings),
            instance=writable_demo_instance,
            canary=canary,
            public_ids=[*agenda_ids, *case_ids, reprisal_id],
            open_round=agenda_inputs[0].session_id,
            earlier_round=earlier.id,
        )
    try:
        yield built
    finally:
        database.dispose()


# --- the figures -------------------------------------------------------------------------------


def _round(world: World, round_id: int) -> stats.RoundFigures:
    with Database(world.instance.settings.database_url).session() as session:
        statistics = stats.dialogue_statistics(
            session, session.get(DialogueSession, round_id).dialogue
        )
    return next(one for one in statistics.rounds if one.dialogue_session.id == round_id)


def _shown(figures: dict[str, Any]) -> dict[str, Any]:
    return {c: f.value if f.value is not None else f.mark for c, f in figures.items()}


def test_round_figures_are_counted_and_suppressed(world: World) -> None:
    figures = _round(world, world.open_round)
    submissions = figures.tables[stats.SUBMISSIONS]
    assert submissions.total.value == 10  # the reprisal report counts in the round it preceded
    # Two small cells beside each other: 1 + 2 = 3 leaves each of them 1 or 2, so no complement.
    assert _shown(submissions.partitions[stats.KIND]) == {
        "agenda_input": 7,
        "individual_case": Mark.FEWER_THAN_5,
        "reprisal_report": Mark.FEWER_THAN_5,
        "seminar_recommendations": 0,
    }
    # One small cell: the first cell of 5 or more is hidden with it, or 10 - 6 would give it.
    state = _shown(submissions.partitions[stats.STATE])
    assert state["received"] is Mark.FEWER_THAN_5 and state["accepted"] is Mark.NOT_SHOWN
    assert _shown(submissions.partitions[stats.WOMEN_HRD]) == {
        "yes": Mark.FEWER_THAN_5,
        "no": Mark.NOT_SHOWN,
    }
    assert _shown(submissions.partitions[stats.GENDER_RISK]) == {"yes": 0, "no": 10}
    themes = _shown(figures.themes)
    assert themes["freedom_of_expression"] == 7
    assert themes["detention_and_fair_trial"] is Mark.FEWER_THAN_5
    # The earlier round: nothing sent, one reprisal report on its record: a total below 5, its
    # breakdown withheld.
    earlier = _round(world, world.earlier_round)
    assert earlier.total.value == 0
    reprisals = earlier.tables[stats.REPRISALS]
    assert reprisals.total.mark is Mark.FEWER_THAN_5 and reprisals.withheld


def _csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


def test_csv_trend_and_no_small_count(world: World) -> None:
    client = world.client("observer")
    response = client.get("/staff/reports/valdoria/statistics.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = _csv_rows(response.get_data(as_text=True))
    assert rows and set(rows[0]) == set(stats.CSV_COLUMNS)
    for row in rows:
        figure = row["figure"]
        assert figure in {"fewer_than_5", "not_shown", "withheld"} or not 0 < int(figure) < 5, row
    totals = [r for r in rows if r["table"] == "submissions" and not r["partition"]]
    assert [r["figure"] for r in totals] == ["0", "10"]
    assert [r["change_from_previous_round"] for r in totals] == ["", "10"]
    # A change is given only between two shown figures.
    hidden = [r for r in rows if r["figure"] in {"fewer_than_5", "not_shown", "withheld"}]
    assert hidden and all(r["change_from_previous_round"] == "" for r in hidden)


SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
SVG_TEXT = re.compile(r"<text\b[^>]*>([^<]*)</text>")


def test_pages_tables_and_charts_show_no_small_count(world: World) -> None:
    client = world.client("observer")
    for url in (
        "/staff/reports",
        "/staff/reports/valdoria",
        f"/staff/reports/valdoria/sessions/{world.open_round}",
        f"/staff/reports/valdoria/sessions/{world.earlier_round}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "fewer than 5" in page
        charts = SVG.findall(page)
        assert charts, url
        for chart in charts:
            assert "<title" in chart and "<desc" in chart and "<script" not in chart
            for text in SVG_TEXT.findall(chart):
                assert not (text.strip().isdigit() and 0 < int(text) < 5), (url, text)
        cells = re.findall(r"<td>(\d+)</td>", page)
        assert cells and all(not 0 < int(cell) < 5 for cell in cells), url


def test_reports_hold_no_content_no_id_no_name(world: World) -> None:
    name = CASE_FORM["persons"][0]["name"]
    for role in ("observer", "triage_officer"):
        client = world.client(role)
        for url in (
            "/staff/reports",
            "/staff/reports/valdoria",
            "/staff/reports/valdoria/statistics.csv",
            f"/staff/reports/valdoria/sessions/{world.open_round}",
            f"/staff/reports/valdoria/sessions/{world.open_round}/report.md",
            f"/staff/reports/valdoria/sessions/{world.earlier_round}",
            f"/staff/reports/valdoria/sessions/{world.earlier_round}/report.md",
        ):
            body = client.get(url).get_data(as_text=True)
            assert world.canary not in body and name not in body, url
            assert not any(public_id in body for public_id in world.public_ids), url


def test_session_report_content(world: World) -> None:
    client = world.client("observer")
    page = client.get(f"/staff/reports/valdoria/sessions/{world.earlier_round}").get_data(
        as_text=True
    )
    assert ITEM_TITLE in page and ROADMAP_TITLE in page and "overdue" in page
    assert "report-print.css" in page
    response = client.get(f"/staff/reports/valdoria/sessions/{world.earlier_round}/report.md")
    assert response.mimetype == "text/markdown"
    assert "attachment" in response.headers["Content-Disposition"]
    markdown = response.get_data(as_text=True)
    assert markdown.startswith("# Report on the session of")
    assert f"| {ITEM_TITLE} |" in markdown and ROADMAP_TITLE in markdown
    assert "Reprisal reports on the session's record" in markdown
    # The open round's agenda is a draft: observers are told it is not shared.
    draft = client.get(f"/staff/reports/valdoria/sessions/{world.open_round}").get_data(
        as_text=True
    )
    assert "have not shared the agenda yet" in draft


def test_who_reads_reports(world: World) -> None:
    observer = world.client("observer")
    # Observers read every dialogue's reports, and still reach no desk page.
    assert observer.get("/staff/reports/northvale").status_code == 200
    assert observer.get("/staff/dialogues/valdoria/queue").status_code == 403
    assert observer.get(f"/staff/submissions/{world.public_ids[0]}").status_code == 403
    assert b'href="/staff/reports"' in observer.get("/staff/").get_data()
    # A desk member reads their own dialogues' reports only.
    triage = world.client("triage_officer")
    assert triage.get("/staff/reports/valdoria").status_code == 200
    assert triage.get("/staff/reports/northvale").status_code == 403
    # An administrator's role alone reads no report, and is not offered the link.
    admin = world.client("administrator")
    assert admin.get("/staff/reports").status_code == 403
    assert admin.get("/staff/reports/valdoria").status_code == 403
    assert b"/staff/reports" not in admin.get("/staff/account").get_data()
    # Unknown dialogue or a session of another dialogue: 404.
    assert observer.get("/staff/reports/nowhere").status_code == 404
    with Database(world.instance.settings.database_url).session() as session:
        northvale_round = session.scalars(
            select(DialogueSession.id).join(Dialogue).where(Dialogue.slug == "northvale")
        ).first()
    assert observer.get(f"/staff/reports/valdoria/sessions/{northvale_round}").status_code == 404
