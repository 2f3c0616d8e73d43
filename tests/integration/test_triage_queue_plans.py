"""Each filter of the triage queue reads its page from an index, on both databases.

The statements ``queue_page`` sends with a ``LIMIT`` (the page, and the probe for a page in the
other direction when a cursor is given) are caught as they go to the database and explained
there. A plan is asserted on what the database can do, not on what it prefers for a few hundred
rows: PostgreSQL is told to avoid sequential scans, bitmap scans and sorts wherever it has another
way, so a sequential scan or a sort left in the plan means no index serves the filter in page
order; SQLite's planner is asked as it is, and must search one of the filter's indexes without a
sort. Both have statistics (``ANALYZE``), as a live database has.

Filters together may be served by the index of any one of them: the others are checked on the
rows it yields, a bounded number per page. "No session" and "not assessed" are common values (a
third or more of the rows here), for which walking the dialogue's own index finds a page within
a bounded number of rows too, and PostgreSQL rightly prefers it; ``python -m bench`` times them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from bench.queue_pages import insert_submissions
from portal.models import RiskLevel, SubmissionKind, SubmissionState, Topic
from portal.services.staff.triage_queue import (
    NO_RISK,
    NO_SESSION,
    QueueFilters,
    QueueFlag,
    queue_page,
)
from tests.conftest import ConsultationWorld

TOPIC = "ix_submission_topics_queue"
KIND, STATE = "ix_submissions_queue_kind", "ix_submissions_queue_state"
DIALOGUE = "ix_submissions_dialogue_queue"
# (the indexes any of which may serve the filters, the filters, whether a cursor is given)
CASES = [
    pytest.param(indexes, filters, deep, id=name)
    for name, indexes, filters, deep in [
        ("session", {"ix_submissions_queue_session"}, "session", False),
        ("kind", {KIND}, QueueFilters(kind=SubmissionKind.INDIVIDUAL_CASE), False),
        ("state", {STATE}, QueueFilters(state=SubmissionState.IN_TRIAGE), False),
        ("rare-topic", {TOPIC}, QueueFilters(topic=Topic.INTERNATIONAL_HUMANITARIAN_LAW), False),
        ("risk", {"ix_submissions_queue_risk"}, QueueFilters(risk=RiskLevel.HIGH), False),
        ("urgent", {"ix_submissions_queue_urgent"}, QueueFilters(flag=QueueFlag.URGENT), False),
        ("hold", {"ix_submissions_queue_risk_hold"}, QueueFilters(flag=QueueFlag.RISK_HOLD), False),
        (
            "kind-state-topic",
            {KIND, STATE, TOPIC},
            QueueFilters(
                kind=SubmissionKind.INDIVIDUAL_CASE,
                state=SubmissionState.ACCEPTED,
                topic=Topic.HUMAN_RIGHTS_DEFENDERS,
            ),
            False,
        ),
        ("topic-deep", {TOPIC}, QueueFilters(topic=Topic.HUMAN_RIGHTS_DEFENDERS), True),
        (
            "not-assessed",
            {"ix_submissions_queue_risk", DIALOGUE},
            QueueFilters(risk=NO_RISK),
            False,
        ),
        (
            "no-session",
            {"ix_submissions_queue_session", DIALOGUE},
            QueueFilters(session=NO_SESSION),
            False,
        ),
    ]
]


@contextmanager
def _page_query(world: ConsultationWorld) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent while the block runs, with their parameters."""
    sent: list[tuple[str, Any]] = []
    engine = world.session.get_bind()

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", catch)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", catch)


def _plan(world: ConsultationWorld, statement: str, parameters: Any) -> str:
    connection = world.session.connection()
    if connection.dialect.name == "postgresql":
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            connection.execute(text(f"SET LOCAL {setting} = off"))
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        return "\n".join(row[0] for row in rows)
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize(("indexes", "filters", "deep"), CASES)
def test_each_filter_reads_its_index_in_page_order(
    consultation_world: ConsultationWorld,
    indexes: set[str],
    filters: QueueFilters | str,
    deep: bool,
) -> None:
    world = consultation_world
    insert_submissions(world.session, world.dialogue, 300, seed=3)
    # Most rows belong to another dialogue, as on a portal with many: walking the primary key or
    # the whole table is then plainly worse than the dialogue's indexes, whatever the sizes.
    insert_submissions(world.session, world.frozen_dialogue, 3000, seed=4)
    world.session.commit()
    world.session.execute(text("ANALYZE"))  # as the database's own statistics would be
    world.session.commit()
    if filters == "session":
        filters = QueueFilters(session=world.dialogue_session.id)
    after = None
    if deep:  # the second page: the page itself, and the probe for newer ones
        after = queue_page(
            world.session, world.dialogue, filters, today=world.now.date()
        ).next_cursor
        assert after is not None
    with _page_query(world) as sent:
        queue_page(world.session, world.dialogue, filters, after=after, today=world.now.date())
    limited = [(s, p) for s, p in sent if "LIMIT" in s.upper()]
    plans = [_plan(world, statement, parameters) for statement, parameters in limited]
    world.session.rollback()
    assert len(plans) == (2 if deep else 1)
    for plan in plans:
        assert any(index in plan for index in indexes), plan
        assert "Seq Scan" not in plan and "Sort" not in plan, plan
        assert "TEMP B-TREE" not in plan and "SCAN submissions" not in plan, plan
