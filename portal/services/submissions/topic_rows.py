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

from portal.db import adopt_inserted, insert_values_unless_taken
from portal.models import Submission, SubmissionTopic

# Built once: a plain Core insert, run at every intake with the submission's themes.
_INSERT = insert(SubmissionTopic.__table__)
_SUBMISSIONS = Submission.__table__
# Each column attribute of a submission by key, in order, with its column: for the inserts
# built here.
_COLUMNS = {attribute.key: attribute.columns[0] for attribute in Submission.__mapper__.column_attrs}


def topic_tags(topics: Iterable[str]) -> list[str]:
    """The stored form of a set of themes: each once, sorted."""
    return sorted(set(topics))


def insert_with_topic_rows(session: Session, submission: Submission) -> bool:
    """Store the new ORM object ``submission`` and index its themes, as
    ``portal.db.insert_unless_taken`` stores a row: ``False``, with nothing stored, when one of
    its unique values is taken; else the object is the session's persistent row."""
    state = submission.__dict__
    values = {key: state[key] for key in _COLUMNS if key in state}
    # The id first, as :func:`_insert` wants it.
    returned = ("id", *(key for key in _COLUMNS if key != "id" and key not in state))
    stored = _insert(session, values, returned)
    return adopt_inserted(session, submission, returned, stored)


def insert_values_with_topic_rows(session: Session, values: dict[str, Any]) -> int | None:
    """Store a new submission from the values of its attributes and index its themes, without
    an ORM object (``portal.db.insert_values_unless_taken`` says when that serves); its new id,
    or ``None``, with nothing stored, when one of its unique values is taken."""
    stored = _insert(session, values, ("id",))
    return None if stored is None else stored[0]


def _insert(session: Session, values: dict[str, Any], returned: tuple[str, ...]) -> Any:
    """Insert the submission whose attributes have ``values``, with its topic rows; what the
    insert returned of the attributes ``returned`` (the id first), or ``None`` if it stored
    nothing.

    On PostgreSQL the submission's insert feeds the topic rows' in one statement (a
    data-modifying common table expression), which costs the server's process one statement
    less at every intake; SQLite has no such statement and runs the two inserts.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        stored = insert_values_unless_taken(
            session,
            _SUBMISSIONS,
            {_COLUMNS[key].name: value for key, value in values.items()},
            tuple(_COLUMNS[key] for key in returned),
        )
        if stored is not None:
            add_topic_rows(session, stored[0], values["dialogue_id"], values["topic_tags"])
        return stored
    statement = _insert_with_topics(tuple(values), returned)
    binds = {f"row_{key}": value for key, value in values.items()}
    return connection.execute(statement, {**binds, "topics": values["topic_tags"]}).first()


@cache
def _insert_with_topics(given: tuple[str, ...], returned: tuple[str, ...]) -> Select[Any]:
    """The statement of :func:`_insert` on PostgreSQL for a submission whose attributes
    ``given`` are set (bound as ``row_<key>``; its themes as ``topics``), returning the
    attributes ``returned``. Built once for each pair."""
    binds = {key: bindparam(f"row_{key}", type_=_COLUMNS[key].type) for key in given}
    stored = (
        postgresql.insert(_SUBMISSIONS)
        .values({_COLUMNS[key]: bind for key, bind in binds.items()})
        .on_conflict_do_nothing()
        .returning(*(_COLUMNS[key] for key in returned))
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
    return select(*(stored.c[key] for key in returned)).add_cte(topic_rows.cte("topic_rows"))


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
