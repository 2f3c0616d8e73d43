"""A dialogue's triage queue: submissions' plaintext metadata, newest first, a page at a time.

Nothing here opens an envelope: the queue shows only the columns kept in the clear (kind, day
received, state, topic tags, risk, re-assessment date, flags) and facts about related rows
(consent changed, messages exist, restricted to named members).

Paging is keyset pagination on ``submissions.id`` descending, which the index
``ix_submissions_dialogue_queue (dialogue_id, id)`` serves: a page is "the 50 newest with an id
below the cursor" (``after``) or, going back, "the 50 oldest with an id above it" (``before``),
read in reverse. One extra row tells whether there is a further page in that direction, and one
``LIMIT 1`` probe tells whether there is one in the other. No page counts the filtered set and
none uses ``OFFSET``, so a page deep in 100,000 submissions costs what the first one does.

Every filter has an index that leads with the dialogue and the filtered column and ends with the
id (``Submission.__table_args__``), so a filtered page also reads its rows in key order from an
index rather than walking the dialogue's rows for matches: a rare value costs what a common one
does, at any size. The topic filter reads ``submission_topics`` (one row per submission and
theme, indexed by dialogue, topic and submission), and pages on that table's ``submission_id``,
equal to the submission's id, so that both databases walk the topic's index in order. Flags are
compared with ``= true``, which an index serves on PostgreSQL (``IS TRUE`` is not).
"""

import datetime as dt
import enum
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.orm import Session, defer

from portal.models import (
    ConsentChange,
    DeskMessage,
    Dialogue,
    NamedMember,
    RiskLevel,
    Submission,
    SubmissionKind,
    SubmissionState,
    SubmissionTopic,
    Topic,
)
from portal.numbers import whole_number

PAGE_SIZE = 50
NO_SESSION = "none"
NO_RISK = "none"


class QueueFlag(enum.StrEnum):
    URGENT = "urgent"
    RISK_HOLD = "risk_hold"


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; each ``None`` means "any"."""

    session: int | str | None = None  # a session id, or NO_SESSION for reprisal reports
    kind: SubmissionKind | None = None
    state: SubmissionState | None = None
    topic: Topic | None = None
    risk: RiskLevel | str | None = None  # a level, or NO_RISK for "not assessed"
    flag: QueueFlag | None = None

    @classmethod
    def from_args(cls, args: dict[str, str]) -> "QueueFilters":
        """Filters from query arguments; anything unknown is ignored rather than refused."""

        def choice(name: str, vocabulary: type[enum.StrEnum]) -> enum.StrEnum | None:
            try:
                return vocabulary(args.get(name, ""))
            except ValueError:
                return None

        raw_session = args.get("session", "")
        session = NO_SESSION if raw_session == NO_SESSION else whole_number(raw_session)
        risk: RiskLevel | str | None = choice("risk", RiskLevel)  # type: ignore[assignment]
        if args.get("risk") == NO_RISK:
            risk = NO_RISK
        return cls(
            session=session,
            kind=choice("kind", SubmissionKind),  # type: ignore[arg-type]
            state=choice("state", SubmissionState),  # type: ignore[arg-type]
            topic=choice("topic", Topic),  # type: ignore[arg-type]
            risk=risk,
            flag=choice("flag", QueueFlag),  # type: ignore[arg-type]
        )

    def as_args(self) -> dict[str, str]:
        """The query arguments that give these filters back."""
        values = {
            "session": self.session,
            "kind": self.kind,
            "state": self.state,
            "topic": self.topic,
            "risk": self.risk,
            "flag": self.flag,
        }
        return {name: str(value) for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class QueueRow:
    """One submission as the queue shows it: metadata only."""

    submission: Submission
    restricted: bool
    consent_changed: bool
    has_messages: bool
    overdue: bool


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: int | None  # pass as ``after`` for the older page
    previous_cursor: int | None  # pass as ``before`` for the newer page
    filters: QueueFilters = field(default_factory=QueueFilters)


def _filtered(
    dialogue: Dialogue, filters: QueueFilters
) -> tuple[Select[tuple[Submission]], ColumnElement[int]]:
    """The filtered query and the key its pages follow (module docstring)."""
    # The envelope is never loaded: the queue must not even hold content it cannot read.
    query = (
        select(Submission)
        .options(defer(Submission.envelope, raiseload=True))
        .where(Submission.dialogue_id == dialogue.id)
    )
    key: ColumnElement[int] = Submission.id
    if filters.session == NO_SESSION:
        query = query.where(Submission.session_id.is_(None))
    elif filters.session is not None:
        query = query.where(Submission.session_id == filters.session)
    if filters.kind is not None:
        query = query.where(Submission.kind == filters.kind)
    if filters.state is not None:
        query = query.where(Submission.state == filters.state)
    if filters.topic is not None:
        query = query.join(SubmissionTopic, SubmissionTopic.submission_id == Submission.id).where(
            SubmissionTopic.dialogue_id == dialogue.id,
            SubmissionTopic.topic == str(filters.topic),
        )
        key = SubmissionTopic.submission_id
    if filters.risk == NO_RISK:
        query = query.where(Submission.risk_level.is_(None))
    elif filters.risk is not None:
        query = query.where(Submission.risk_level == filters.risk)
    if filters.flag is QueueFlag.URGENT:
        query = query.where(Submission.urgent == true())
    elif filters.flag is QueueFlag.RISK_HOLD:
        query = query.where(Submission.risk_hold == true())
    return query, key


def queue_page(
    session: Session,
    dialogue: Dialogue,
    filters: QueueFilters = QueueFilters(),
    *,
    after: int | None = None,
    before: int | None = None,
    today: dt.date,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of ``dialogue``'s queue: older than ``after``, newer than ``before``, or the
    newest page when neither is given."""
    base, key = _filtered(dialogue, filters)
    if before is not None:
        found = list(
            session.scalars(
                base.where(_past(key, before, older=False)).order_by(key.asc()).limit(page_size + 1)
            )
        )
        more_newer = len(found) > page_size
        submissions = list(reversed(found[:page_size]))
        more_older = bool(submissions) and _exists(
            session, base, key, older_than=submissions[-1].id
        )
        if not submissions:
            # Nothing newer: show the newest page instead of an empty one.
            return queue_page(session, dialogue, filters, today=today, page_size=page_size)
    else:
        query = base if after is None else base.where(_past(key, after, older=True))
        found = list(session.scalars(query.order_by(key.desc()).limit(page_size + 1)))
        more_older = len(found) > page_size
        submissions = found[:page_size]
        more_newer = (
            after is not None
            and bool(submissions)
            and _exists(session, base, key, newer_than=submissions[0].id)
        )
        if after is not None and not submissions:
            # Past the end: offer the way back to whatever lies at or above the cursor.
            more_newer = _exists(session, base, key, newer_than=after - 1)
            previous = after - 1 if more_newer else None
            return QueuePage([], None, previous, filters)
    rows = _rows(session, submissions, today)
    return QueuePage(
        rows=rows,
        next_cursor=submissions[-1].id if more_older and submissions else None,
        previous_cursor=submissions[0].id if more_newer and submissions else None,
        filters=filters,
    )


def _past(key: ColumnElement[int], cursor: int, *, older: bool) -> ColumnElement[bool]:
    """Rows whose ``key`` is past ``cursor`` (below it for ``older``). When the key is the topic
    table's, the submission's own id is bounded too: PostgreSQL does not carry a bound across
    the join, and would otherwise walk the submissions from the newest down to the cursor."""
    columns = [key] if key is Submission.id else [key, Submission.id]
    return and_(*(column < cursor if older else column > cursor for column in columns))


def _exists(
    session: Session,
    base: Select[tuple[Submission]],
    key: ColumnElement[int],
    *,
    older_than: int | None = None,
    newer_than: int | None = None,
) -> bool:
    query = base.with_only_columns(key)
    if older_than is not None:
        query = query.where(_past(key, older_than, older=True)).order_by(key.desc())
    if newer_than is not None:
        query = query.where(_past(key, newer_than, older=False)).order_by(key.asc())
    return session.scalars(query.limit(1)).first() is not None


def _rows(session: Session, submissions: list[Submission], today: dt.date) -> list[QueueRow]:
    """Queue rows with the flags that come from related tables, three small queries a page."""
    ids = [submission.id for submission in submissions]
    if not ids:
        return []

    def having(model: type) -> set[int]:
        return set(
            session.scalars(
                select(model.submission_id).where(model.submission_id.in_(ids)).distinct()
            )
        )

    consent_changed = having(ConsentChange)
    messages = having(DeskMessage)
    named = having(NamedMember)
    return [
        QueueRow(
            submission=submission,
            restricted=submission.risk_level is RiskLevel.HIGH and submission.id in named,
            consent_changed=submission.id in consent_changed,
            has_messages=submission.id in messages,
            overdue=submission.risk_reassess_on is not None and submission.risk_reassess_on < today,
        )
        for submission in submissions
    ]


def state_counts(session: Session, dialogue: Dialogue) -> dict[SubmissionState, int]:
    """How many of the dialogue's submissions are in each state (for the staff home page)."""
    rows = session.execute(
        select(Submission.state, func.count())
        .where(Submission.dialogue_id == dialogue.id)
        .group_by(Submission.state)
    )
    return {state: count for state, count in rows}
