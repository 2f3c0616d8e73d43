"""Consent asked again for a new round: the one home of ``ConsentRequest``.

A case or reprisal report that was raised, or approved for a handover list, in an earlier
session of its dialogue (``round_consent.was_taken_up_before``) is background only in a new
round until its submitter confirms, per named person, how far the EU may go this time. This
module makes the requests that say so in the submitter's inbox and records their answers; what
a confirmation means is ``round_consent``'s rule and is not decided here.

- :func:`ask_again` makes one request per such submission and session when the session's
  consultation opens (``dialogue_sessions.open_consultation``) and when the desk asks from its
  page; asking twice adds nothing. A withdrawn or declined submission is not asked; a deleted
  one has no row left (and its requests go with it, by the ORM cascade).
- A request stays open while its session has not been held
  (``dialogue_sessions.has_been_held``): the submitter may confirm each person, and confirm
  again, until then. It is *answered* on the
  day of the first confirmation; further confirmations keep that day.
- A confirmation is a consent change whose sealed payload names the round (``"round"``). On the
  no-JavaScript path the server seals it (:func:`confirm_plain`); on the JavaScript path the
  browser seals it and sends the round beside the envelope, in plaintext, only so that the
  server can check the request is open (:func:`confirm_sealed`). The server cannot see that the
  two agree: the staff reader trusts only the sealed value, and a confirmation that names
  another round than the one asked about confirms nothing there.

Audit events name ids and counts only (``consent_request.created``, with the session and how
many; ``consent_request.answered``, a submission event with the session); nothing says what
was confirmed, which on the sealed path the server could not know anyway.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import (
    ConsentChange,
    ConsentRequest,
    DialogueSession,
    StaffUser,
    Submission,
    SubmissionState,
)
from portal.services.audit.trail import AuditAction, record_event, record_submission_event
from portal.services.dialogues.dialogue_sessions import has_been_held
from portal.services.rounds.round_consent import was_taken_up_before
from portal.services.submissions.inbox import (
    KINDS_WITH_CONSENT,
    change_plain_consent,
    change_sealed_consent,
)
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.owner_tags import walk
from portal.services.submissions.submitter_keys import SubmitterKey
from portal.translatable import translatable

# A submission the desk has let go of, or its submitter has taken back, is not asked again.
NOT_ASKED_AGAIN = frozenset({SubmissionState.DECLINED, SubmissionState.WITHDRAWN})


class RoundAlreadyHeldError(ValueError):
    """The session has been held: it is too late to ask for its consent."""


class NoOpenRequestError(SubmissionRefusedError):
    """The round a confirmation names is not an open request of this submission."""

    def __init__(self) -> None:
        super().__init__(
            translatable("this submission is not asked to confirm consent for that session")
        )


@dataclass(frozen=True)
class RequestCounts:
    """How many submissions a session asked again, and how many have answered (no more)."""

    asked: int
    answered: int

    @property
    def waiting(self) -> int:
        return self.asked - self.answered


def is_open(request: ConsentRequest) -> bool:
    """Whether a request may still be answered: its session is not yet held."""
    return not has_been_held(request.session)


def ask_again(
    session: Session,
    dialogue_session: DialogueSession,
    *,
    today: dt.date,
    actor: StaffUser | None = None,
) -> int:
    """Ask every submitter whose case was taken up before this round to confirm again.

    Returns how many requests were made; ``RoundAlreadyHeldError`` for a session already held.
    """
    if has_been_held(dialogue_session):
        raise RoundAlreadyHeldError(f"session {dialogue_session.id} has already been held")
    already = set(
        session.scalars(
            select(ConsentRequest.submission_id).where(
                ConsentRequest.session_id == dialogue_session.id
            )
        )
    )
    candidates = session.scalars(
        select(Submission)
        .where(
            Submission.dialogue_id == dialogue_session.dialogue_id,
            Submission.kind.in_(KINDS_WITH_CONSENT),
            Submission.state.not_in(NOT_ASKED_AGAIN),
        )
        .order_by(Submission.id)
    )
    asked = [
        submission
        for submission in candidates
        if submission.id not in already
        and was_taken_up_before(session, submission, dialogue_session)
    ]
    made = [
        ConsentRequest(submission=submission, session=dialogue_session, requested_on=today)
        for submission in asked
    ]
    if made:
        session.add_all(made)
        session.flush()
        record_event(
            session,
            action=AuditAction.CONSENT_REQUESTS_CREATED,
            object_type="dialogue_session",
            object_id=dialogue_session.id,
            actor=actor,
            dialogue=dialogue_session.dialogue,
            details={"count": len(made)},
        )
    return len(made)


def open_request(session: Session, submission: Submission, round_id: int) -> ConsentRequest:
    """The open request of ``submission`` for session ``round_id``; ``NoOpenRequestError``
    for any other round (another submission's, a closed one, none)."""
    request = session.scalars(
        select(ConsentRequest).where(
            ConsentRequest.submission_id == submission.id,
            ConsentRequest.session_id == round_id,
        )
    ).first()
    if request is None or not is_open(request):
        raise NoOpenRequestError()
    return request


def current_request(submission: Submission) -> ConsentRequest | None:
    """The request the submitter answers now: the open one of the earliest session.

    A confirmation names one round, and a later confirmation of the same person replaces it,
    so the inbox asks about one round at a time, the next to be held.
    """
    waiting = [request for request in submission.consent_requests if is_open(request)]
    return min(
        waiting, key=lambda request: (request.session.date, request.session.id), default=None
    )


def waiting_requests(session: Session, owner_tag_key: bytes) -> dict[str, ConsentRequest]:
    """The current request (:func:`current_request`) of each of the submitter's submissions,
    by public id, where it has not been answered yet: what the inbox says is waiting."""
    found = {}
    for submission in walk(session, owner_tag_key).submissions:
        request = current_request(submission)
        if request is not None and request.answered_on is None:
            found[submission.public_id] = request
    return found


def answer(session: Session, request: ConsentRequest, *, today: dt.date) -> None:
    """Mark ``request`` answered by a confirmation just stored, and put that on record."""
    if request.answered_on is None:
        request.answered_on = today
    record_submission_event(
        session,
        AuditAction.CONSENT_REQUEST_ANSWERED,
        None,
        request.submission,
        submitter_caused=True,
        session_id=request.session_id,
    )


def confirm_plain(
    session: Session,
    submission: Submission,
    secrets: SubmitterKey,
    form: Mapping[str, Any],
    round_id: int,
    *,
    today: dt.date,
) -> ConsentChange:
    """Seal and store, without JavaScript, a consent change that confirms round ``round_id``:
    refused (``NoOpenRequestError``) before anything is sealed unless it is an open request of
    this submission."""
    request = open_request(session, submission, round_id)
    change = change_plain_consent(
        session, submission, secrets, {**form, "round": round_id}, today=today
    )
    answer(session, request, today=today)
    return change


def confirm_sealed(
    session: Session,
    submission: Submission,
    envelope: bytes,
    signature: bytes | None,
    round_id: int,
    *,
    today: dt.date,
) -> ConsentChange:
    """Store a confirmation a browser sealed, once round ``round_id`` (sent beside the envelope)
    is found to be an open request of this submission and the envelope passes the checks of
    any consent change."""
    request = open_request(session, submission, round_id)
    change = change_sealed_consent(session, submission, envelope, signature, today=today)
    answer(session, request, today=today)
    return change


def counts_by_session(session: Session, dialogue_id: int) -> dict[int, RequestCounts]:
    """For each session of a dialogue that asked again, how many it asked and how many
    answered: counts only, for the desk."""
    rows = session.execute(
        select(
            ConsentRequest.session_id,
            func.count(ConsentRequest.id),
            func.count(ConsentRequest.answered_on),
        )
        .join(DialogueSession, DialogueSession.id == ConsentRequest.session_id)
        .where(DialogueSession.dialogue_id == dialogue_id)
        .group_by(ConsentRequest.session_id)
    )
    return {session_id: RequestCounts(asked, answered) for session_id, asked, answered in rows}
