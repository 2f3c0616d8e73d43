"""What the record page of a session shows one reader: everything the record holds, opened for
that reader and for the one response that shows it.

Each case and seminar submission on the record is opened through
``staff.reading.open_submission_for_staff`` (a read, audited like any other), so that the page
can say what this round's consent allows per person (``round_consent``) and list the
recommendations. A case the reader may not open (restricted to named members, or sealed to a
desk key they hold no grant of) shows only its reference and its recorded outcome: neither its
consent nor the partner's reply about it. Names never reach this page: persons are "Person N"
with the consent this round, because the record is about what the EU did, and the case's own
page is where a reader allowed to open names reads them.

The texts (the partner's replies, the notes on recommendations) are read once for the whole
page through ``desk_texts``, which checks each signature.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    AgendaItem,
    CaseOutcome,
    DeskTextPurpose,
    DialogueSession,
    RecommendationResponse,
    Submission,
    SubmissionKind,
)
from portal.services.contexts import DeskTextSubject
from portal.services.rounds import record
from portal.services.rounds.desk_texts import ReadDeskText, read_desk_texts, subject_of
from portal.services.rounds.round_consent import PersonInRound, persons_in_round
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusedError,
    StaffReader,
    open_submission_for_staff,
)
from portal.services.staff.web_sessions import SignedInStaff

RECORD_TEXTS = frozenset(
    {
        DeskTextPurpose.ITEM_REPLY,
        DeskTextPurpose.CASE_REPLY,
        DeskTextPurpose.RECOMMENDATION_NOTE,
    }
)


@dataclass(frozen=True)
class ItemEntry:
    item: AgendaItem
    reply: ReadDeskText | None


@dataclass(frozen=True)
class CaseEntry:
    """One case or reprisal report; ``readable`` is false when the reader may not open it (then
    ``persons`` is empty and ``reply`` is ``None``)."""

    submission: Submission
    readable: bool
    persons: tuple[PersonInRound, ...]
    may_be_raised: bool
    listed: bool  # an approved entry of the session's list was in force on the day
    outcome: CaseOutcome | None
    reply: ReadDeskText | None


@dataclass(frozen=True)
class RecommendationEntry:
    index: int
    recommendation: dict[str, Any]
    response: RecommendationResponse | None
    note: ReadDeskText | None


@dataclass(frozen=True)
class SeminarEntry:
    submission: Submission
    readable: bool
    seminar: str
    recommendations: tuple[RecommendationEntry, ...]


@dataclass(frozen=True)
class RecordSheet:
    dialogue_session: DialogueSession
    items: tuple[ItemEntry, ...]
    cases: tuple[CaseEntry, ...]
    seminars: tuple[SeminarEntry, ...]
    missing: tuple[int, int, int]  # items, cases, recommendations still without their entry

    @property
    def individual_cases(self) -> list[CaseEntry]:
        return [
            entry for entry in self.cases if entry.submission.kind is SubmissionKind.INDIVIDUAL_CASE
        ]

    @property
    def reprisal_reports(self) -> list[CaseEntry]:
        return [
            entry for entry in self.cases if entry.submission.kind is SubmissionKind.REPRISAL_REPORT
        ]


def record_sheet(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    *,
    now: dt.datetime,
) -> RecordSheet:
    """The session's record as ``signed_in`` may read it; the reads are recorded in the caller's
    transaction, which the caller commits."""
    texts = read_desk_texts(session, signed_in, dialogue_session, RECORD_TEXTS)
    reader = StaffReader(session, signed_in)
    items = tuple(
        ItemEntry(
            item,
            texts.get(subject_of(DeskTextPurpose.ITEM_REPLY, agenda_item_id=item.id)),
        )
        for item in record.agenda_items(session, dialogue_session)
    )
    outcomes = {
        outcome.submission_id: outcome
        for outcome in session.scalars(
            select(CaseOutcome).where(CaseOutcome.session_id == dialogue_session.id)
        )
    }
    cases = tuple(
        _case_entry(session, signed_in, reader, dialogue_session, case, outcomes, texts, now)
        for case in record.cases_on_record(session, dialogue_session)
    )
    responses = {
        (response.submission_id, response.recommendation_index): response
        for response in session.scalars(
            select(RecommendationResponse).where(
                RecommendationResponse.session_id == dialogue_session.id
            )
        )
    }
    seminars = tuple(
        _seminar_entry(session, signed_in, reader, seminar, responses, texts, now)
        for seminar in record.seminars_on_record(session, dialogue_session)
    )
    counts = {
        entry.submission.id: len(entry.recommendations) for entry in seminars if entry.readable
    }
    missing = record.missing_entries(session, dialogue_session, counts)
    return RecordSheet(dialogue_session, items, cases, seminars, missing)


def _case_entry(
    session: Session,
    signed_in: SignedInStaff,
    reader: StaffReader,
    dialogue_session: DialogueSession,
    case: Submission,
    outcomes: dict[int, CaseOutcome],
    texts: dict[DeskTextSubject, ReadDeskText],
    now: dt.datetime,
) -> CaseEntry:
    listed = record.handover_entry_in_force(session, dialogue_session, case) is not None
    outcome = outcomes.get(case.id)
    opened = _opened(session, signed_in, reader, case, now)
    if opened is None:
        return CaseEntry(case, False, (), False, listed, outcome, None)
    return CaseEntry(
        case,
        True,
        persons_in_round(session, opened, case, dialogue_session),
        record.consent_allows_raising(session, opened, case, dialogue_session),
        listed,
        outcome,
        texts.get(subject_of(DeskTextPurpose.CASE_REPLY, submission=case)),
    )


def _seminar_entry(
    session: Session,
    signed_in: SignedInStaff,
    reader: StaffReader,
    seminar: Submission,
    responses: dict[tuple[int, int], RecommendationResponse],
    texts: dict[DeskTextSubject, ReadDeskText],
    now: dt.datetime,
) -> SeminarEntry:
    opened = _opened(session, signed_in, reader, seminar, now)
    if opened is None:
        return SeminarEntry(seminar, False, "", ())
    entries = tuple(
        RecommendationEntry(
            index,
            recommendation,
            responses.get((seminar.id, index)),
            texts.get(
                subject_of(
                    DeskTextPurpose.RECOMMENDATION_NOTE,
                    submission=seminar,
                    recommendation_index=index,
                ),
            ),
        )
        for index, recommendation in enumerate(record.recommendations_of(opened))
    )
    return SeminarEntry(seminar, True, str(opened.payload.get("seminar", "")), entries)


def _opened(
    session: Session,
    signed_in: SignedInStaff,
    reader: StaffReader,
    submission: Submission,
    now: dt.datetime,
) -> OpenedForStaff | None:
    """The submission opened, or ``None`` when this reader may not open it or it does not verify
    (which the reading has put on record)."""
    try:
        return open_submission_for_staff(session, signed_in, submission, now=now, reader=reader)
    except (ReadRefusedError, crypto.DecryptionError):
        return None
