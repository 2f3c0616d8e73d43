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
    Table,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from portal.db import RowValues, adopt_inserted, insert_values_unless_taken
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


class PrecedingRowTakenError(Exception):
    """The row a submission was to be stored after could not be: one of its unique values is
    taken, and neither it nor the submission was stored."""


def insert_values_with_topic_rows(
    session: Session, values: dict[str, Any], *, after: RowValues | None = None
) -> int | None:
    """Store a new submission from the values of its attributes and index its themes, without
    an ORM object (``portal.db.insert_values_unless_taken`` says when that serves); its new id,
    or ``None``, with nothing stored, when one of its unique values is taken.

    ``after`` is a row of another table to store first, with nothing of the submission stored
    unless it is (a browser's new pseudonym, ``submitters.BrowserRegistration``):
    ``PrecedingRowTakenError`` when one of its unique values is taken. When the row is stored and
    the submission is not, the row stays stored in the transaction.
    """
    stored = _insert(session, values, ("id",), after)
    return None if stored is None else stored[0]


def _insert(
    session: Session,
    values: dict[str, Any],
    returned: tuple[str, ...],
    after: RowValues | None = None,
) -> Any:
    """Insert the submission whose attributes have ``values``, with its topic rows, after the
    row ``after`` if one is given (:func:`insert_values_with_topic_rows`); what the insert
    returned of the attributes ``returned`` (the id first), or ``None`` if it stored nothing.

    On PostgreSQL the whole is one statement, each insert feeding the next (data-modifying
    common table expressions), which costs the server's process a statement, or two, less at
    every intake; SQLite has no such statement and runs the inserts one by one.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        if after is not None:
            primary_key = tuple(after.table.primary_key)
            if insert_values_unless_taken(session, after.table, after.values, primary_key) is None:
                raise PrecedingRowTakenError()
        stored = insert_values_unless_taken(
            session,
            _SUBMISSIONS,
            {_COLUMNS[key].name: value for key, value in values.items()},
            tuple(_COLUMNS[key] for key in returned),
        )
        if stored is not None:
            add_topic_rows(session, stored[0], values["dialogue_id"], values["topic_tags"])
        return stored
    binds = {f"row_{key}": value for key, value in values.items()}
    binds["topics"] = values["topic_tags"]
    if after is None:
        statement = _insert_with_topics(tuple(values), returned)
        return connection.execute(statement, binds).first()
    statement = _insert_after(after.table, tuple(after.values), tuple(values), returned)
    binds.update({f"first_{name}": value for name, value in after.values.items()})
    preceding_stored, *stored = connection.execute(statement, binds).one()
    if not preceding_stored:
        raise PrecedingRowTakenError()
    return None if stored[0] is None else stored


@cache
def _insert_with_topics(given: tuple[str, ...], returned: tuple[str, ...]) -> Select[Any]:
    """The statement of :func:`_insert` on PostgreSQL for a submission whose attributes
    ``given`` are set (bound as ``row_<key>``; its themes as ``topics``), returning the
    attributes ``returned``. Built once for each pair."""
    binds = _binds(given)
    stored = (
        postgresql.insert(_SUBMISSIONS)
        .values({_COLUMNS[key]: bind for key, bind in binds.items()})
        .on_conflict_do_nothing()
        .returning(*(_COLUMNS[key] for key in returned))
        .cte("stored")
    )
    return select(*(stored.c[key] for key in returned)).add_cte(_topic_rows(stored, binds))


@cache
def _insert_after(
    table: Table, first: tuple[str, ...], given: tuple[str, ...], returned: tuple[str, ...]
) -> Select[Any]:
    """The statement of :func:`_insert` on PostgreSQL when a row of ``table`` whose columns
    ``first`` are set (bound as ``first_<name>``) is stored first; the submission as for
    :func:`_insert_with_topics`, and only if that row was stored. It answers one row: whether
    the first row was stored, then the attributes ``returned`` (``NULL`` when not stored)."""
    preceding = (
        postgresql.insert(table)
        .values(
            {table.c[name]: bindparam(f"first_{name}", type_=table.c[name].type) for name in first}
        )
        .on_conflict_do_nothing()
        .returning(*table.primary_key)
        .cte("preceding")
    )
    binds = _binds(given)
    # An insert from a select that is itself part of a select gets no values for the columns'
    # defaults (SQLAlchemy computes those for a statement that is an insert): they are given here.
    defaults = {
        column: literal(column.default.arg, column.type)
        for key, column in _COLUMNS.items()
        if key not in given and column.default is not None and column.default.is_scalar
    }
    stored = (
        postgresql.insert(_SUBMISSIONS)
        .from_select(
            [*(_COLUMNS[key] for key in given), *defaults],
            select(*binds.values(), *defaults.values()).where(exists(preceding.select())),
            include_defaults=False,
        )
        .on_conflict_do_nothing()
        .returning(*(_COLUMNS[key] for key in returned))
        .cte("stored")
    )
    return select(
        exists(preceding.select()),
        *(select(stored.c[key]).scalar_subquery() for key in returned),
    ).add_cte(_topic_rows(stored, binds))


def _binds(given: tuple[str, ...]) -> dict[str, Any]:
    """A typed bind parameter ``row_<key>`` for each submission attribute ``given``, by key."""
    return {key: bindparam(f"row_{key}", type_=_COLUMNS[key].type) for key in given}


def _topic_rows(stored: Any, binds: dict[str, Any]) -> Any:
    """The insert of a topic row for each theme bound as ``topics`` of the submission the
    common table expression ``stored`` returned, if it returned one, as an expression too."""
    topics = (
        func.unnest(cast(bindparam("topics"), ARRAY(String)))
        .table_valued("topic")
        .render_derived("topics")
    )
    return (
        insert(SubmissionTopic.__table__)
        .from_select(
            ["submission_id", "dialogue_id", "topic"],
            select(stored.c.id, binds["dialogue_id"], topics.c.topic).join_from(
                stored, topics, true()
            ),
        )
        .cte("topic_rows")
    )


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
