"""The one writer of a submission's agenda themes: ``topic_tags`` and its ``submission_topics``
rows, which the triage queue's topic filter reads through their index.

Both are set together here, at intake and when the desk re-tags a submission, so the rows never
say other than the JSON column does.
"""

from collections.abc import Iterable

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from portal.models import Submission, SubmissionTopic

# Built once: a plain Core insert, run at every intake with the submission's themes.
_INSERT = insert(SubmissionTopic.__table__)


def topic_tags(topics: Iterable[str]) -> list[str]:
    """The stored form of a set of themes: each once, sorted."""
    return sorted(set(topics))


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
