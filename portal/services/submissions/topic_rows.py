"""The one writer of a submission's agenda themes: ``topic_tags`` and its ``submission_topics``
rows, which the triage queue's topic filter reads through their index.

Both are set together here, at intake and when the desk re-tags a submission, so the rows never
say other than the JSON column does.
"""

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from portal.db import adopt_inserted, insert_unless_taken
from portal.models import Submission, SubmissionTopic

# Built once: a plain Core insert, run at every intake with the submission's themes.
_INSERT = insert(SubmissionTopic.__table__)
_SUBMISSIONS = Submission.__table__
# Each column attribute of a submission with its column, for the statements of
# :func:`_insert_with_topics`.
_SUBMISSION_COLUMNS = tuple(
    (attribute.key, attribute.columns[0]) for attribute in Submission.__mapper__.column_attrs
)


def topic_tags(topics: Iterable[str]) -> list[str]:
    """The stored form of a set of themes: each once, sorted."""
    return sorted(set(topics))


def insert_with_topic_rows(session: Session, submission: Submission, *, attach: bool) -> bool:
    """Store the new ``submission`` and index its themes, as ``portal.db.insert_unless_taken``
    stores a row: ``False``, with nothing stored, when one of its unique values is taken, and
    ``attach`` alike.

    On PostgreSQL the submission's insert feeds the topic rows' in one statement (a
    data-modifying common table expression), which costs the server's process one statement
    less at every intake; SQLite has no such statement and runs the two inserts.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        if not insert_unless_taken(session, submission, attach=attach):
            return False
        add_topic_rows(session, submission.id, submission.dialogue_id, submission.topic_tags)
        return True
    state = submission.__dict__
    given = tuple(key for key, _column in _SUBMISSION_COLUMNS if key in state)
    statement, returned = _insert_with_topics(given, attach)
    values = {f"row_{key}": state[key] for key in given}
    stored = connection.execute(statement, {**values, "topics": submission.topic_tags}).first()
    return adopt_inserted(session, submission, returned, stored, attach=attach)


@cache
def _insert_with_topics(
    given: tuple[str, ...], attach: bool
) -> tuple[Select[Any], tuple[str, ...]]:
    """The statement of :func:`insert_with_topic_rows` on PostgreSQL for a submission whose
    attributes ``given`` are set (bound as ``row_<key>``; its themes as ``topics``), and the
    attributes it returns: those left unset when the row is to be attached, as
    ``portal.db.insert_unless_taken`` returns them, else the id alone. Built once for each
    pair."""
    columns = dict(_SUBMISSION_COLUMNS)
    returned = tuple(
        key
        for key, column in _SUBMISSION_COLUMNS
        if key not in given and (attach or column.primary_key)
    )
    binds = {key: bindparam(f"row_{key}", type_=columns[key].type) for key in given}
    stored = (
        postgresql.insert(_SUBMISSIONS)
        .values({columns[key]: bind for key, bind in binds.items()})
        .on_conflict_do_nothing()
        .returning(*(columns[key] for key in returned))
        .cte("stored")
    )
    topics = (
        func.unnest(cast(bindparam("topics"), ARRAY(String)))
        .table_valued("topic")
        .render_derived("topics")
    )
    topic_rows = insert(SubmissionTopic.__table__).from_select(
        ["submission_id", "dialogue_id", "topic"],
        select(stored.c.id, binds["dialogue_id"], topics.c.topic).join_from(stored, topics, true()),
    )
    statement = select(*(stored.c[key] for key in returned)).add_cte(topic_rows.cte("topic_rows"))
    return statement, returned


def add_topic_rows(
    session: Session, submission_id: int, dialogue_id: int, topics: Iterable[str]
) -> None:
    """Index the themes ``topics`` of the submission ``submission_id`` of ``dialogue_id`` just
    stored (one statement, none without themes)."""
    rows = [
        {"submission_id": submission_id, "dialogue_id": dialogue_id, "topic": topic}
        for topic in topics
    ]
    if rows:
        session.connection().execute(_INSERT, rows)


def retag(session: Session, submission: Submission, topics: Iterable[str]) -> None:
    """Replace a stored submission's themes with ``topics``, column and rows alike."""
    submission.topic_tags = topic_tags(topics)
    session.flush()
    session.execute(delete(SubmissionTopic).where(SubmissionTopic.submission_id == submission.id))
    add_topic_rows(session, submission.id, submission.dialogue_id, submission.topic_tags)
