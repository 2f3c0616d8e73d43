"""Each filter of the triage queue reads its page from an index, on both databases.

The page query ``queue_page`` sends is caught as it goes to the database and explained there. A
plan is asserted on what the database can do, not on what it prefers for a few hundred rows:
PostgreSQL is told to avoid sequential scans, bitmap scans and sorts wherever it has another way,
so a sequential scan or a sort left in the plan means no index serves the filter in page order;
SQLite's planner is asked as it is, and must search the filter's index without a sort. Both
have statistics (``ANALYZE``), as a live database has.

"No session" and "not assessed" are left out: their values are common (a third or more of the
rows here), and PostgreSQL rightly walks the dialogue's index for them, which finds a page within
a bounded number of rows at any size; ``python -m bench`` times them.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from bench.queue_pages import insert_submissions
from portal.models import RiskLevel, SubmissionKind, SubmissionState, Topic
from portal.services.staff.triage_queue import (
    QueueFilters,
    QueueFlag,
    queue_page,
)
from tests.conftest import ConsultationWorld

FILTERS = {
    "ix_submissions_queue_session": ["session"],
    "ix_submissions_queue_kind": [QueueFilters(kind=SubmissionKind.INDIVIDUAL_CASE)],
    "ix_submissions_queue_state": [QueueFilters(state=SubmissionState.IN_TRIAGE)],
    "ix_submission_topics_queue": [QueueFilters(topic=Topic.INTERNATIONAL_HUMANITARIAN_LAW)],
    "ix_submissions_queue_risk": [QueueFilters(risk=RiskLevel.HIGH)],
    "ix_submissions_queue_urgent": [QueueFilters(flag=QueueFlag.URGENT)],
    "ix_submissions_queue_risk_hold": [QueueFilters(flag=QueueFlag.RISK_HOLD)],
}
CASES = [
    pytest.param(index, filters, id=f"{index}-{position}")
    for index, choices in FILTERS.items()
    for position, filters in enumerate(choices)
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


@pytest.mark.parametrize(("index", "filters"), CASES)
def test_each_filter_reads_its_index_in_page_order(
    consultation_world: ConsultationWorld, index: str, filters: QueueFilters | str
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
    with _page_query(world) as sent:
        queue_page(world.session, world.dialogue, filters, today=world.now.date())
    statement, parameters = next((s, p) for s, p in sent if "LIMIT" in s.upper())
    plan = _plan(world, statement, parameters)
    world.session.rollback()
    assert index in plan, plan
    assert "Seq Scan" not in plan and "Sort" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan
