"""The triage queue service: filters and keyset paging, checked against a plain Python filter.

Submissions are bulk-inserted with the benchmark's own helper (random envelopes: the queue never
opens one), on each backend.
"""

import datetime as dt

import pytest
from sqlalchemy import select

from bench.queue_pages import insert_submissions
from portal.models import (
    ConsentChange,
    RiskLevel,
    Submission,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.services.staff.triage_queue import (
    NO_RISK,
    NO_SESSION,
    QueueFilters,
    QueueFlag,
    queue_page,
)
from portal.services.submissions.topic_rows import retag
from tests.conftest import ConsultationWorld

COUNT = 260
PAGE = 50


@pytest.fixture
def filled(consultation_world: ConsultationWorld) -> ConsultationWorld:
    world = consultation_world
    insert_submissions(world.session, world.dialogue, COUNT, seed=7)
    insert_submissions(world.session, world.frozen_dialogue, 30, seed=8)
    world.session.commit()
    return world


def _all_ids(world: ConsultationWorld, keep: object = lambda s: True) -> list[int]:
    rows = world.session.scalars(
        select(Submission)
        .where(Submission.dialogue_id == world.dialogue.id)
        .order_by(Submission.id.desc())
    )
    return [row.id for row in rows if keep(row)]  # type: ignore[operator]


def _walk(world: ConsultationWorld, filters: QueueFilters) -> list[int]:
    """Every id the queue shows, following "older" links from the first page to the last."""
    today = world.now.date()
    seen: list[int] = []
    page = queue_page(world.session, world.dialogue, filters, today=today, page_size=PAGE)
    assert page.previous_cursor is None
    while True:
        ids = [row.submission.id for row in page.rows]
        assert len(ids) <= PAGE
        seen += ids
        if page.next_cursor is None:
            return seen
        assert len(ids) == PAGE
        following = queue_page(
            world.session,
            world.dialogue,
            filters,
            after=page.next_cursor,
            today=today,
            page_size=PAGE,
        )
        # Going back from the following page gives this page again.
        assert following.previous_cursor is not None
        back = queue_page(
            world.session,
            world.dialogue,
            filters,
            before=following.previous_cursor,
            today=today,
            page_size=PAGE,
        )
        assert [row.submission.id for row in back.rows] == ids
        assert back.next_cursor == page.next_cursor
        assert (back.previous_cursor is None) == (page.previous_cursor is None)
        page = following


def test_unfiltered_paging_covers_every_submission_once(filled: ConsultationWorld) -> None:
    expected = _all_ids(filled)
    assert _walk(filled, QueueFilters()) == expected
    first = queue_page(filled.session, filled.dialogue, today=filled.now.date(), page_size=PAGE)
    assert len(first.rows) == PAGE and first.previous_cursor is None
    assert first.next_cursor == expected[PAGE - 1]


def test_page_boundaries(filled: ConsultationWorld) -> None:
    expected = _all_ids(filled)
    today = filled.now.date()
    last = queue_page(
        filled.session,
        filled.dialogue,
        after=expected[COUNT - 11],
        today=today,
        page_size=PAGE,
    )
    assert [row.submission.id for row in last.rows] == expected[COUNT - 10 :]
    assert last.next_cursor is None and last.previous_cursor == expected[COUNT - 10]
    beyond = queue_page(
        filled.session, filled.dialogue, after=expected[-1], today=today, page_size=PAGE
    )
    assert beyond.rows == [] and beyond.next_cursor is None
    assert beyond.previous_cursor is not None
    back = queue_page(
        filled.session,
        filled.dialogue,
        before=beyond.previous_cursor,
        today=today,
        page_size=PAGE,
    )
    assert [row.submission.id for row in back.rows] == expected[-PAGE:]
    # "Newer than the newest" falls back to the first page rather than an empty one.
    top = queue_page(
        filled.session, filled.dialogue, before=expected[0], today=today, page_size=PAGE
    )
    assert [row.submission.id for row in top.rows] == expected[:PAGE]
    assert top.previous_cursor is None


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        (QueueFilters(kind=SubmissionKind.INDIVIDUAL_CASE), lambda s: s.kind == "individual_case"),
        (QueueFilters(state=SubmissionState.ACCEPTED), lambda s: s.state == "accepted"),
        (
            QueueFilters(topic=Topic.HUMAN_RIGHTS_DEFENDERS),
            lambda s: "human_rights_defenders" in s.topic_tags,
        ),
        (QueueFilters(topic=Topic.RULE_OF_LAW), lambda s: "rule_of_law" in s.topic_tags),
        (QueueFilters(risk=RiskLevel.HIGH), lambda s: s.risk_level == "high"),
        (QueueFilters(risk=NO_RISK), lambda s: s.risk_level is None),
        (QueueFilters(flag=QueueFlag.URGENT), lambda s: s.urgent),
        (QueueFilters(flag=QueueFlag.RISK_HOLD), lambda s: s.risk_hold),
        (QueueFilters(session=NO_SESSION), lambda s: s.session_id is None),
        (
            QueueFilters(kind=SubmissionKind.AGENDA_INPUT, topic=Topic.HUMAN_RIGHTS_DEFENDERS),
            lambda s: s.kind == "agenda_input" and "human_rights_defenders" in s.topic_tags,
        ),
    ],
)
def test_filters_match_a_plain_filter(
    filled: ConsultationWorld, filters: QueueFilters, keep: object
) -> None:
    assert _walk(filled, filters) == _all_ids(filled, keep)


def test_topic_filter_follows_retagging(filled: ConsultationWorld) -> None:
    session = filled.session
    first, second = _all_ids(filled)[:2]
    retag(session, session.get(Submission, first), ["rule_of_law"])
    retag(session, session.get(Submission, second), ["lgbti", "rule_of_law"])
    session.commit()
    assert {first, second} <= set(_walk(filled, QueueFilters(topic=Topic.RULE_OF_LAW)))
    retag(session, session.get(Submission, second), ["lgbti"])
    session.commit()
    shown = _walk(filled, QueueFilters(topic=Topic.RULE_OF_LAW))
    assert first in shown and second not in shown
    assert second in _walk(filled, QueueFilters(topic=Topic.LGBTI))
    assert _walk(filled, QueueFilters(topic=Topic.RULE_OF_LAW)) == _all_ids(
        filled, lambda s: "rule_of_law" in s.topic_tags
    )


def test_rows_carry_flags_and_never_the_envelope(filled: ConsultationWorld) -> None:
    session = filled.session
    newest = _all_ids(filled)[0]
    submission = session.get(Submission, newest)
    submission.risk_reassess_on = filled.now.date() - dt.timedelta(days=1)
    session.add(
        ConsentChange(
            submission_id=newest,
            desk_key_id=submission.desk_key_id,
            received_on=filled.now.date(),
            envelope=b"x",
        )
    )
    session.commit()
    session.expunge_all()
    page = queue_page(session, filled.dialogue, today=filled.now.date(), page_size=PAGE)
    row = page.rows[0]
    assert row.submission.id == newest
    assert row.consent_changed and row.overdue and not row.has_messages
    assert not any(other.consent_changed for other in page.rows[1:])
    with pytest.raises(Exception, match="envelope"):
        _ = row.submission.envelope


def test_filters_from_query_arguments_ignore_nonsense() -> None:
    filters = QueueFilters.from_args(
        {"kind": "individual_case", "state": "nope", "topic": "lgbti", "session": "12"}
    )
    assert filters == QueueFilters(
        session=12, kind=SubmissionKind.INDIVIDUAL_CASE, topic=Topic.LGBTI
    )
    assert QueueFilters.from_args(filters.as_args()) == filters
    assert QueueFilters.from_args({"session": "none", "risk": "none"}) == QueueFilters(
        session=NO_SESSION, risk=NO_RISK
    )
