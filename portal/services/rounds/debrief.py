"""A session's debrief: the one place that composes it and sends it to every contributor.

The guidelines make a debrief for civil society the standard after every session. Here the desk
writes a **general debrief** of the session (``DEBRIEF_GENERAL``: what was discussed, what was
achieved, what comes next) and, where it wants, a few **words of its own** to one submission's
author (``DEBRIEF_FEEDBACK``); both are desk texts, sealed to the desk key and signed by their
author (``rounds.desk_texts``), in Markdown rendered by ``staff_markdown``.

Each contributor (``rounds.contributors``) then receives one notice (``submissions.notices``),
sealed to the desk and to that submission alone and signed by the desk, holding the general
debrief and the feedback on that submission, built from the session's record as structured data
(:class:`NoticeContent`) that the caller's renderer turns into words (a template with
translatable labels: this layer knows no web framework). What the feedback says:

- agenda input and seminar recommendations: the agenda items it was used under (their titles),
  whether each was discussed and the partner's reply under it (``ITEM_REPLY``);
- a case or a reprisal report: how it was raised (during which item, handed over on the list, or
  not raised with the reason from the closed list) and the partner's reply (``CASE_REPLY``), and
  per person ("Person N", never a name) only as far as that person's consent for the round went
  (``round_consent``): a person kept as background is never said to have been raised, a name is
  said to have been allowed only where the consent allowed it, and a case whose consent now
  allows no raising at all gets neither the per-person account nor the reply;
- seminar recommendations: each recommendation's outcome (with the closed-list reason when it was
  not taken up) and the words recorded with it (``RECOMMENDATION_NOTE``);
- a declined submission: the decline reason from the closed list.

Sending (:func:`send_debrief`) goes to every contributor still without a notice or a recorded
reason, once, and only for a held session: a contributor who already has this session's notice
is skipped, so a second send never repeats one. A contributor the sender may not read (restricted
to the desk members named on it, or sealed to a desk key the sender holds no grant of) is not
sent to and is named in the result, for a colleague who may. Each notice moves its submission to
"debriefed" through ``staff.triage`` where the desk had taken it in. The desk may instead record
why a contributor gets no notice (:func:`withhold`, a reason from a closed list), and undo that
while the session is not yet recorded as debriefed.

Who: the desk members who may write to the dialogue's submitters (``need_to_know.may_debrief``).
A refused action raises before anything is stored; the caller's rollback leaves nothing behind.
"""

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    AgendaItemStatus,
    CaseOutcome,
    DebriefWithheld,
    DebriefWithheldReason,
    DeclineReason,
    DeskMessage,
    DeskTextPurpose,
    Dialogue,
    DialogueSession,
    HowRaised,
    MessagePurpose,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    RecommendationResponse,
    SessionState,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.audit.trail import AuditAction, record_submission_event
from portal.services.contexts import DeskTextSubject
from portal.services.desks import need_to_know
from portal.services.dialogues.dialogue_sessions import has_been_held
from portal.services.rounds import record, round_consent
from portal.services.rounds.contributors import DebriefStanding, debrief_standing
from portal.services.rounds.desk_texts import (
    DeskTextRefusedError,
    ReadDeskText,
    read_desk_texts,
    subject_of,
    write_desk_text,
)
from portal.services.rounds.staff_markdown import clean, render
from portal.services.staff import triage
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusedError,
    StaffReader,
    open_submission_for_staff,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.notice_format import notice_payload
from portal.services.submissions.notices import send_notice
from portal.translatable import translatable

DEBRIEF_TEXTS = frozenset(
    {
        DeskTextPurpose.DEBRIEF_GENERAL,
        DeskTextPurpose.DEBRIEF_FEEDBACK,
        DeskTextPurpose.ITEM_REPLY,
        DeskTextPurpose.CASE_REPLY,
        DeskTextPurpose.RECOMMENDATION_NOTE,
    }
)
GENERAL = subject_of(DeskTextPurpose.DEBRIEF_GENERAL)
NOT_TAKEN_FURTHER = frozenset(
    {
        SubmissionState.RECEIVED,
        SubmissionState.IN_TRIAGE,
        SubmissionState.DECLINED,
        SubmissionState.WITHDRAWN,
    }
)
"""States of a submission the desk did not take in: its feedback says that, and why if declined."""


class DebriefRefusedError(ValueError):
    """An action on the debrief that cannot be taken now; the message says why."""


class DebriefForbiddenError(PermissionError):
    """The staff member may not debrief this dialogue's contributors, or not this one."""


class Standing(enum.StrEnum):
    """Where one contributor's debrief stands."""

    OUTSTANDING = "outstanding"
    NOTIFIED = "notified"
    WITHHELD = "withheld"


class PersonWay(enum.StrEnum):
    """How far a raised case went with one person it names, within their consent this round."""

    ON_THE_LIST = "on_the_list"  # on the handover list, which the consent allowed
    NAME_ALLOWED = "name_allowed"  # raised; the consent allowed the name
    WITHOUT_NAME = "without_name"  # raised without the name
    BACKGROUND = "background"  # not raised: the consent kept the person as background


@dataclass(frozen=True)
class ItemUse:
    """An agenda item of the session a submission was used under."""

    title: str
    discussed: bool | None  # None: the record does not say yet
    reply: Markup | None  # the partner's reply under it, rendered


@dataclass(frozen=True)
class CaseFeedback:
    """How a case or reprisal report fared in the session, within its consent for the round."""

    how: HowRaised | None  # None: the session's record has no entry for it
    item_title: str | None  # the item it was raised under
    not_raised_reason: NotRaisedReason | None
    consent_allows: bool  # this round's consent lets the situation be raised at all
    persons: tuple[tuple[int, PersonWay], ...]  # ("Person N", way); only for a raised case
    reply: Markup | None  # only for a raised case whose consent allows raising

    @property
    def raised(self) -> bool:
        return self.how in round_consent.RAISED_IN_SESSION


@dataclass(frozen=True)
class RecommendationFeedback:
    """The response to one recommendation of a seminar submission, by its number in the list."""

    number: int
    outcome: RecommendationOutcome | None  # None: no response recorded
    reason: NotTakenUpReason | None
    note: Markup | None


@dataclass(frozen=True)
class NoticeContent:
    """Everything one contributor's debrief notice says, before it is put into words."""

    general: Markup
    kind: SubmissionKind
    state: SubmissionState
    decline_reason: DeclineReason | None
    items: tuple[ItemUse, ...]
    case: CaseFeedback | None
    recommendations: tuple[RecommendationFeedback, ...]
    desk_words: Markup | None

    @property
    def taken_further(self) -> bool:
        return self.state not in NOT_TAKEN_FURTHER


NoticeRenderer = Callable[[NoticeContent], str]
"""Turns a notice's content into its HTML (the web layer's template); cleaned afterwards."""


@dataclass(frozen=True)
class ContributorEntry:
    """One contributor as the debrief page shows it to one reader."""

    submission: Submission
    standing: Standing
    sent_on: dt.date | None
    withheld: DebriefWithheld | None
    readable: bool  # whether this reader may open it (and so send, withhold or write to it)
    words: ReadDeskText | None  # the desk's own words to it
    notice: Markup | None  # exactly what its notice would hold now, for an outstanding one


@dataclass(frozen=True)
class DebriefSheet:
    """The session's debrief as it stands, for one reader."""

    dialogue_session: DialogueSession
    general: ReadDeskText | None
    contributors: tuple[ContributorEntry, ...]
    complete: bool  # every contributor has a notice or a recorded reason

    @property
    def general_html(self) -> Markup | None:
        general = self.general
        if general is None or not general.usable:
            return None
        return render(general.text)

    def count(self, standing: Standing | str) -> int:
        return sum(1 for entry in self.contributors if entry.standing == standing)


@dataclass(frozen=True)
class SendResult:
    """What one send did: the notices sent, and the contributors this sender may not read."""

    sent: tuple[Submission, ...]
    not_readable: tuple[Submission, ...]


# --- who, and when -----------------------------------------------------------------------------


def require_debriefer(session: Session, user: StaffUser, dialogue: Dialogue) -> None:
    if not need_to_know.may_debrief(session, user, dialogue):
        raise DebriefForbiddenError("only the desk's triage officers and co-chairs debrief")


def _require_held(dialogue_session: DialogueSession) -> None:
    if not has_been_held(dialogue_session):
        raise DebriefRefusedError(translatable("a session is debriefed once it has been held"))


def _require_contributor(standing: DebriefStanding, submission: Submission) -> None:
    if submission not in standing.contributors:
        raise DebriefRefusedError(translatable("the submission did not contribute to this session"))


def _may_read(session: Session, user: StaffUser, submission: Submission, now: dt.datetime) -> bool:
    access = need_to_know.submission_access(session, user, submission, now=now)
    return access is need_to_know.Access.READ


def _require_readable(
    session: Session, user: StaffUser, submission: Submission, now: dt.datetime
) -> None:
    if not _may_read(session, user, submission, now):
        raise DebriefForbiddenError("this submission is restricted to the members named on it")


# --- the desk's words --------------------------------------------------------------------------


def write_general(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    text: str,
    *,
    now: dt.datetime,
) -> None:
    """Write (or, empty, clear) the session's general debrief. Notices already sent keep the
    words they were sent with."""
    require_debriefer(session, signed_in.user, dialogue_session.dialogue)
    _require_held(dialogue_session)
    _write(session, signed_in, dialogue_session, GENERAL, text, now)


def write_words(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    submission: Submission,
    text: str,
    *,
    now: dt.datetime,
) -> None:
    """Write (or, empty, clear) the desk's own words to one contributor, before its notice."""
    require_debriefer(session, signed_in.user, dialogue_session.dialogue)
    _require_held(dialogue_session)
    standing = debrief_standing(session, dialogue_session)
    _require_contributor(standing, submission)
    _require_readable(session, signed_in.user, submission, now)
    if submission.id in standing.notified:
        raise DebriefRefusedError(
            translatable("its notice has been sent; words written now would not reach it")
        )
    subject = subject_of(DeskTextPurpose.DEBRIEF_FEEDBACK, submission=submission)
    _write(session, signed_in, dialogue_session, subject, text, now)


def _write(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    subject: DeskTextSubject,
    text: str,
    now: dt.datetime,
) -> None:
    try:
        write_desk_text(session, signed_in, dialogue_session, subject, text, now=now)
    except DeskTextRefusedError as refusal:
        raise DebriefRefusedError(*refusal.args) from None


# --- composing ---------------------------------------------------------------------------------


class _Composer:
    """Reads the session's texts once and composes each contributor's notice for one reader."""

    def __init__(
        self,
        session: Session,
        signed_in: SignedInStaff,
        dialogue_session: DialogueSession,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.signed_in = signed_in
        self.dialogue_session = dialogue_session
        self.now = now
        self.reader = StaffReader(session, signed_in)
        self.texts = read_desk_texts(session, signed_in, dialogue_session, DEBRIEF_TEXTS)

    def read(self, subject: DeskTextSubject) -> ReadDeskText | None:
        return self.texts.get(subject)

    def words(self, subject: DeskTextSubject) -> Markup | None:
        """A text rendered, or ``None`` where there is none or it does not verify."""
        found = self.texts.get(subject)
        return render(found.text) if found is not None and found.usable and found.text else None

    def opened(self, submission: Submission) -> OpenedForStaff | None:
        """The submission opened for this reader, or ``None`` when they may not open it."""
        try:
            return open_submission_for_staff(
                self.session, self.signed_in, submission, now=self.now, reader=self.reader
            )
        except (ReadRefusedError, crypto.DecryptionError):
            return None

    def content(self, general: Markup, submission: Submission) -> NoticeContent | None:
        """What ``submission``'s notice says; ``None`` when this reader may not open it."""
        opened = self.opened(submission)
        if opened is None:
            return None
        further = submission.state not in NOT_TAKEN_FURTHER
        kind = submission.kind
        return NoticeContent(
            general=general,
            kind=kind,
            state=submission.state,
            decline_reason=submission.decline_reason,
            items=self._items(submission) if further and _uses_items(kind) else (),
            case=self._case(submission, opened) if further and _is_case(kind) else None,
            recommendations=(
                self._recommendations(submission, opened)
                if further and kind is SubmissionKind.SEMINAR_RECOMMENDATIONS
                else ()
            ),
            desk_words=self.words(
                subject_of(DeskTextPurpose.DEBRIEF_FEEDBACK, submission=submission)
            ),
        )

    def _items(self, submission: Submission) -> tuple[ItemUse, ...]:
        items = sorted(
            (
                link.agenda_item
                for link in submission.agenda_links
                if link.agenda_item.session_id == self.dialogue_session.id
                and link.agenda_item.status is AgendaItemStatus.INCLUDED
            ),
            key=lambda item: (item.position, item.id),
        )
        return tuple(
            ItemUse(
                item.title,
                item.discussed,
                self.words(subject_of(DeskTextPurpose.ITEM_REPLY, agenda_item_id=item.id))
                if item.discussed
                else None,
            )
            for item in items
        )

    def _case(self, submission: Submission, opened: OpenedForStaff) -> CaseFeedback:
        outcome = self.session.scalars(
            select(CaseOutcome).where(
                CaseOutcome.session_id == self.dialogue_session.id,
                CaseOutcome.submission_id == submission.id,
            )
        ).first()
        allows = record.consent_allows_raising(
            self.session, opened, submission, self.dialogue_session
        )
        if outcome is None or outcome.how_raised not in round_consent.RAISED_IN_SESSION:
            return CaseFeedback(
                how=None if outcome is None else outcome.how_raised,
                item_title=None,
                not_raised_reason=None if outcome is None else outcome.not_raised_reason,
                consent_allows=allows,
                persons=(),
                reply=None,
            )
        if not allows:
            # Raised then, but the consent as it stands now keeps everyone as background: the
            # notice says no more than that it was taken up.
            return CaseFeedback(outcome.how_raised, None, None, False, (), None)
        persons = round_consent.persons_in_round(
            self.session, opened, submission, self.dialogue_session
        )
        return CaseFeedback(
            how=outcome.how_raised,
            item_title=None if outcome.agenda_item is None else outcome.agenda_item.title,
            not_raised_reason=None,
            consent_allows=True,
            persons=tuple(
                (person.index + 1, _way(person, outcome.how_raised)) for person in persons
            ),
            reply=self.words(subject_of(DeskTextPurpose.CASE_REPLY, submission=submission)),
        )

    def _recommendations(
        self, submission: Submission, opened: OpenedForStaff
    ) -> tuple[RecommendationFeedback, ...]:
        responses = {
            response.recommendation_index: response
            for response in self.session.scalars(
                select(RecommendationResponse).where(
                    RecommendationResponse.session_id == self.dialogue_session.id,
                    RecommendationResponse.submission_id == submission.id,
                )
            )
        }
        feedback = []
        for index in range(len(record.recommendations_of(opened))):
            response = responses.get(index)
            feedback.append(
                RecommendationFeedback(
                    number=index + 1,
                    outcome=None if response is None else response.outcome,
                    reason=None if response is None else response.not_taken_up_reason,
                    note=self.words(
                        subject_of(
                            DeskTextPurpose.RECOMMENDATION_NOTE,
                            submission=submission,
                            recommendation_index=index,
                        )
                    ),
                )
            )
        return tuple(feedback)


def _uses_items(kind: SubmissionKind) -> bool:
    return kind in (SubmissionKind.AGENDA_INPUT, SubmissionKind.SEMINAR_RECOMMENDATIONS)


def _is_case(kind: SubmissionKind) -> bool:
    return kind in (SubmissionKind.INDIVIDUAL_CASE, SubmissionKind.REPRISAL_REPORT)


def _way(person: round_consent.PersonInRound, how: HowRaised) -> PersonWay:
    """How far a raised case went with ``person``: never further than their consent."""
    if not person.may_raise:
        return PersonWay.BACKGROUND
    if how is HowRaised.HANDOVER_LIST and person.may_be_handed_over:
        return PersonWay.ON_THE_LIST
    return PersonWay.NAME_ALLOWED if person.name_may_be_raised else PersonWay.WITHOUT_NAME


def notice_html(content: NoticeContent, renderer: NoticeRenderer) -> Markup:
    """The HTML a notice holds: the renderer's words, cleaned as the notice's plaintext stores
    them, so that a preview shows exactly what is sent."""
    return clean(renderer(content))


# --- the page's view ---------------------------------------------------------------------------


def debrief_sheet(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    renderer: NoticeRenderer,
    *,
    now: dt.datetime,
) -> DebriefSheet:
    """The debrief as it stands for ``signed_in``, with the notice each outstanding contributor
    would receive now (once there is a general debrief). Opening the contributors is recorded
    as reads in the caller's transaction."""
    require_debriefer(session, signed_in.user, dialogue_session.dialogue)
    standing = debrief_standing(session, dialogue_session)
    composer = _Composer(session, signed_in, dialogue_session, now)
    general = composer.words(GENERAL)
    sent_on = _sent_days(session, dialogue_session)
    withheld = {
        row.submission_id: row
        for row in session.scalars(
            select(DebriefWithheld).where(DebriefWithheld.session_id == dialogue_session.id)
        )
    }
    entries = []
    for submission in standing.contributors:
        readable = _may_read(session, signed_in.user, submission, now)
        notice = None
        if submission.id in standing.notified:
            state = Standing.NOTIFIED
        elif submission.id in standing.withheld:
            state = Standing.WITHHELD
        else:
            state = Standing.OUTSTANDING
            if readable and general is not None and has_been_held(dialogue_session):
                content = composer.content(general, submission)
                # None: sealed to a desk key this reader holds no grant of, or not verified.
                readable = content is not None
                notice = None if content is None else notice_html(content, renderer)
        entries.append(
            ContributorEntry(
                submission=submission,
                standing=state,
                sent_on=sent_on.get(submission.id),
                withheld=withheld.get(submission.id),
                readable=readable,
                words=composer.read(
                    subject_of(DeskTextPurpose.DEBRIEF_FEEDBACK, submission=submission)
                )
                if readable
                else None,
                notice=notice,
            )
        )
    return DebriefSheet(dialogue_session, composer.read(GENERAL), tuple(entries), standing.complete)


def _sent_days(session: Session, dialogue_session: DialogueSession) -> dict[int, dt.date]:
    return {
        submission_id: sent_on
        for submission_id, sent_on in session.execute(
            select(DeskMessage.submission_id, DeskMessage.sent_on).where(
                DeskMessage.session_id == dialogue_session.id,
                DeskMessage.purpose == MessagePurpose.DEBRIEF,
            )
        )
    }


# --- sending -----------------------------------------------------------------------------------


def send_debrief(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    renderer: NoticeRenderer,
    *,
    now: dt.datetime,
) -> SendResult:
    """Send this session's notice to every outstanding contributor the sender may read.

    Refused without a general debrief, or for a session not yet held. The session's row is
    locked first, so that two sends at once cannot both reach the same contributor.
    """
    require_debriefer(session, signed_in.user, dialogue_session.dialogue)
    _require_held(dialogue_session)
    session.flush()
    session.refresh(dialogue_session, with_for_update=True)
    composer = _Composer(session, signed_in, dialogue_session, now)
    general = composer.words(GENERAL)
    if general is None:
        raise DebriefRefusedError(
            translatable("write the general debrief first: every notice begins with it")
        )
    sent, not_readable = [], []
    for submission in debrief_standing(session, dialogue_session).outstanding:
        readable = _may_read(session, signed_in.user, submission, now)
        content = composer.content(general, submission) if readable else None
        if content is None:
            not_readable.append(submission)
            continue
        payload = notice_payload(
            MessagePurpose.DEBRIEF, dialogue_session.id, None, notice_html(content, renderer)
        )
        send_notice(session, composer.reader, signed_in.user, submission, payload, now=now)
        previous = submission.state
        if triage.note_debriefed(session, submission):
            record_submission_event(
                session,
                AuditAction.SUBMISSION_DEBRIEFED,
                signed_in.user,
                submission,
                dialogue_session=dialogue_session.id,
                previous=str(previous),
            )
        sent.append(submission)
    return SendResult(tuple(sent), tuple(not_readable))


# --- withholding -------------------------------------------------------------------------------


def withhold(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    submission: Submission,
    reason: DebriefWithheldReason,
    *,
    now: dt.datetime,
) -> DebriefWithheld:
    """Record why ``submission``'s author receives no notice of this session."""
    require_debriefer(session, actor, dialogue_session.dialogue)
    _require_held(dialogue_session)
    standing = debrief_standing(session, dialogue_session)
    _require_contributor(standing, submission)
    _require_readable(session, actor, submission, now)
    if submission.id in standing.notified:
        raise DebriefRefusedError(translatable("its notice has been sent already"))
    if submission.id in standing.withheld:
        raise DebriefRefusedError(
            translatable("a reason is recorded already; undo it to record another")
        )
    row = DebriefWithheld(
        session_id=dialogue_session.id,
        submission_id=submission.id,
        reason=reason,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    record_submission_event(
        session,
        AuditAction.DEBRIEF_WITHHELD,
        actor,
        submission,
        dialogue_session=dialogue_session.id,
        reason=str(reason),
    )
    return row


def undo_withhold(
    session: Session,
    actor: StaffUser,
    dialogue_session: DialogueSession,
    submission: Submission,
    *,
    now: dt.datetime,
) -> None:
    """Take back a recorded reason: the contributor is outstanding again. Only while the session
    is not recorded as debriefed, which counted on the reason."""
    require_debriefer(session, actor, dialogue_session.dialogue)
    _require_readable(session, actor, submission, now)
    row = session.scalars(
        select(DebriefWithheld).where(
            DebriefWithheld.session_id == dialogue_session.id,
            DebriefWithheld.submission_id == submission.id,
        )
    ).first()
    if row is None:
        raise DebriefRefusedError(translatable("no reason is recorded for this contributor"))
    if dialogue_session.state is not SessionState.HELD:
        raise DebriefRefusedError(
            translatable("the session is recorded as debriefed; its reasons stand")
        )
    session.delete(row)
    session.flush()
    record_submission_event(
        session,
        AuditAction.DEBRIEF_WITHHOLD_UNDONE,
        actor,
        submission,
        dialogue_session=dialogue_session.id,
    )
