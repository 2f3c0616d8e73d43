"""The briefing pack of a session: what the co-chairs and their delegation take into the room.

**Who.** Triage officers and co-chairs on the dialogue's desk (``need_to_know.may_brief``) read
the pack and write its points; administrators made desk members, observers and everyone else
are refused. The pack is built for one reader: it holds what *they* may open, and no more.

**What, per included agenda item in its order:**

- the item's title, theme, whose priority it is and its gender dimension (staff words about a
  theme, plaintext like the agenda itself);
- the desk's *briefing point* on the item (a ``BRIEFING_POINT`` desk text, sealed and signed,
  ``desk_texts``): the desk writes the points drawn from the linked inputs; the raw words of a
  submission never reach the pack;
- how many linked inputs of each kind support it;
- the *seminar recommendations* of the seminar submissions linked to it: the recommendation, to
  whom it is addressed and its theme. A rapporteur writes these for the co-chairs, about
  policies and never about persons (the form names no one), and discussing them with the
  co-chairs is what a seminar recommendation is for (DESIGN.md, section 1): they are shown as
  written. Nothing else of a seminar submission is;
- the *cases to raise*: the individual cases linked to the item, and the reprisal reports under
  the standing reprisals point. For each, the desk's briefing point on the case (written for the
  case, not per item) and, per named person, exactly what ``round_consent.persons_in_round``
  allows in this round: the name only when the round allows the name *and* this reader opens it
  (``staff.identities``); otherwise "Person N" with "situation only", or "by name" with the name
  left sealed for a reader who does not open names; a person who is background only this round,
  or whose consent does not read, is "not to be raised this round" and never named. A case none
  of whose persons may be raised, or on risk hold, is not listed: the item says how many such
  cases it holds back, nothing more. Each case carries its history across rounds: the earlier
  sessions that recorded it (how it was raised, under which item, the partner's reply, read as
  the desk texts of the pack are) and the follow-up actions of the roadmap linked to it, with
  their state (``roadmap.case_follow_up``: titles, owners, due days and states, staff words
  about themes that never name anyone).

Opening a case is a read of it (``open_submission_for_staff``, audited ``submission.read``, and
``submission.names_read`` where names open); reading the pack is audited once more as
``briefing.read`` with the session, the use (page, print, bundle) and counts only. The pack is
plain data: the page, the print view and the offline bundle all render the same structure.
"""

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    AgendaPriority,
    AgendaTheme,
    DeskTextPurpose,
    Dialogue,
    DialogueSession,
    HowRaised,
    NotRaisedReason,
    SessionPlace,
    StaffUser,
    Submission,
    SubmissionKind,
    Topic,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks import need_to_know
from portal.services.rounds.agenda import AgendaEntry, linked_submissions, session_agenda
from portal.services.rounds.desk_texts import (
    DeskTextRefusedError,
    ReadDeskText,
    read_desk_texts,
    subject_of,
    write_desk_text,
)
from portal.services.rounds.record import case_replies
from portal.services.rounds.roadmap import ActionSummary, case_follow_up
from portal.services.rounds.round_consent import PersonInRound, persons_in_round
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusedError,
    StaffReader,
    open_submission_for_staff,
    require_read_access,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import KINDS_WITH_CONSENT
from portal.services.submissions.provenance import UnverifiedSubmissionError


class BriefingForbiddenError(PermissionError):
    """This person may not read or write this session's briefing."""


class BriefingRefusedError(ValueError):
    """A point that cannot be written; the message says why and can be shown as is."""


class BriefingUse(enum.StrEnum):
    """What the pack is read for, as the audit trail records it."""

    PAGE = "page"
    PRINT = "print"
    BUNDLE = "bundle"


class RaiseAs(enum.StrEnum):
    """How one named person of a case may be brought up this round, as this reader sees it."""

    BY_NAME = "by_name"  # the round allows the name and the reader opens it: it is shown
    NAME_SEALED = "name_sealed"  # the round allows the name, but this reader does not open it
    SITUATION_ONLY = "situation_only"  # the situation may be raised, never the name
    NOT_THIS_ROUND = "not_this_round"  # background only this round, or consent unreadable


@dataclass(frozen=True)
class PersonBrief:
    number: int  # "Person N", from 1
    raise_as: RaiseAs
    name: str | None  # only for BY_NAME
    awaiting_confirmation: bool  # taken up before, not yet confirmed for this round


@dataclass(frozen=True)
class EarlierRound:
    """What became of the case in an earlier session of the dialogue."""

    session_date: dt.date
    held_on: dt.date | None
    how_raised: HowRaised
    not_raised_reason: NotRaisedReason | None
    agenda_item: str | None  # the title of the item it was raised under, if during an item
    reply: str  # the partner's reply as the desk recorded it; empty if none (or unreadable)


@dataclass(frozen=True)
class CaseBrief:
    public_id: str
    kind: SubmissionKind
    point: str  # the desk's briefing point on the case (Markdown); empty if none yet
    persons: tuple[PersonBrief, ...]
    history: tuple[EarlierRound, ...]
    follow_up: tuple[ActionSummary, ...]  # the roadmap's actions linked to the case


@dataclass(frozen=True)
class RecommendationBrief:
    number: int  # its place in the seminar submission's list, from 1
    text: str
    addressee: str
    topic: Topic | None


@dataclass(frozen=True)
class ItemBrief:
    item_id: int
    position: int
    title: str
    theme: AgendaTheme
    topic: Topic | None
    priority_of: AgendaPriority
    gender_dimension: str | None
    point: str  # the desk's briefing point on the item (Markdown); empty if none yet
    counts: dict[SubmissionKind, int]
    recommendations: tuple[RecommendationBrief, ...]
    cases: tuple[CaseBrief, ...]
    cases_held_back: int  # linked cases none of whose persons may be raised, or on risk hold
    inputs_not_open: int  # linked cases and seminars this reader may not open


@dataclass(frozen=True)
class BriefingPack:
    dialogue_slug: str
    partner: str
    session_id: int
    session_date: dt.date
    session_place: SessionPlace
    prepared_on: dt.date
    items: tuple[ItemBrief, ...]

    @property
    def case_count(self) -> int:
        return sum(len(item.cases) for item in self.items)


def require_briefer(session: Session, user: StaffUser, dialogue: Dialogue) -> None:
    if not need_to_know.may_brief(session, user, dialogue):
        raise BriefingForbiddenError("only the desk's triage officers and co-chairs brief")


def build_pack(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    *,
    use: BriefingUse,
    now: dt.datetime,
) -> BriefingPack:
    """The pack of ``dialogue_session`` for ``signed_in`` (module docstring), audited."""
    dialogue = dialogue_session.dialogue
    require_briefer(session, signed_in.user, dialogue)
    points = read_desk_texts(
        session, signed_in, dialogue_session, frozenset({DeskTextPurpose.BRIEFING_POINT})
    )
    builder = _Builder(session, signed_in, dialogue_session, points, now)
    items = tuple(
        builder.item(entry, linked_submissions(session, entry.item))
        for entry in session_agenda(session, dialogue_session, include_proposed=False)
    )
    pack = BriefingPack(
        dialogue.slug,
        dialogue.partner,
        dialogue_session.id,
        dialogue_session.date,
        dialogue_session.place,
        now.date(),
        items,
    )
    record_event(
        session,
        action=AuditAction.BRIEFING_READ,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=signed_in.user,
        dialogue=dialogue,
        details={"use": str(use), "items": len(items), "cases": pack.case_count},
    )
    return pack


def write_point(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    text: str,
    *,
    item_id: int | None = None,
    case_public_id: str | None = None,
    now: dt.datetime,
) -> None:
    """Write (or, with an empty text, clear) the briefing point on an included item of the
    session, or on a case the pack lists under one of its items.

    ``BriefingForbiddenError`` for someone who may not brief or may not read the case;
    ``LookupError`` for an item or case that is not in this session's pack;
    ``BriefingRefusedError`` (nothing stored) for a text too long or a writer without the
    current desk key.
    """
    require_briefer(session, signed_in.user, dialogue_session.dialogue)
    items = [
        entry.item for entry in session_agenda(session, dialogue_session, include_proposed=False)
    ]
    if item_id is not None:
        if item_id not in {item.id for item in items}:
            raise LookupError("no such item on this session's agenda")
        subject = subject_of(DeskTextPurpose.BRIEFING_POINT, agenda_item_id=item_id)
    else:
        case = next(
            (
                submission
                for item in items
                for submission in linked_submissions(session, item)
                if submission.public_id == case_public_id and submission.kind in KINDS_WITH_CONSENT
            ),
            None,
        )
        if case is None:
            raise LookupError("no such case under this session's agenda")
        try:
            require_read_access(session, signed_in, case, now=now)
        except ReadRefusedError:
            raise BriefingForbiddenError("you may not read this case") from None
        subject = subject_of(DeskTextPurpose.BRIEFING_POINT, submission=case)
    try:
        write_desk_text(session, signed_in, dialogue_session, subject, text, now=now)
    except DeskTextRefusedError as error:
        raise BriefingRefusedError(*error.args) from None


def pack_as_json(pack: BriefingPack) -> dict[str, Any]:
    """The pack as JSON values (dates as ISO text, vocabularies as their stored values): the
    ``briefing.json`` of an offline bundle (docs/FORMATS.md, "Briefing bundle v1")."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return str(value.value)
        return value

    return plain(asdict(pack))


# --- building -----------------------------------------------------------------------------------


class _Builder:
    """One reader's pack: opens each linked submission once."""

    def __init__(
        self,
        session: Session,
        signed_in: SignedInStaff,
        dialogue_session: DialogueSession,
        points: dict[Any, ReadDeskText],
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.signed_in = signed_in
        self.dialogue_session = dialogue_session
        self.points = points
        self.now = now
        self.reader = StaffReader(session, signed_in)
        self.opened: dict[int, OpenedForStaff | None] = {}

    def item(self, entry: AgendaEntry, linked: list[Submission]) -> ItemBrief:
        item = entry.item
        recommendations: list[RecommendationBrief] = []
        cases: list[CaseBrief] = []
        held_back = not_open = 0
        for submission in linked:
            if submission.kind not in KINDS_WITH_CONSENT | {SubmissionKind.SEMINAR_RECOMMENDATIONS}:
                continue
            opened = self._open(submission)
            if opened is None:
                not_open += 1
            elif submission.kind is SubmissionKind.SEMINAR_RECOMMENDATIONS:
                recommendations.extend(_recommendations(opened.payload))
            else:
                case = self._case(submission, opened)
                if case is None:
                    held_back += 1
                else:
                    cases.append(case)
        return ItemBrief(
            item.id,
            item.position,
            item.title,
            item.theme,
            _topic(item.topic),
            item.priority_of,
            item.gender_dimension,
            self._point(subject_of(DeskTextPurpose.BRIEFING_POINT, agenda_item_id=item.id)),
            entry.counts,
            tuple(recommendations),
            tuple(cases),
            held_back,
            not_open,
        )

    def _open(self, submission: Submission) -> OpenedForStaff | None:
        if submission.id not in self.opened:
            try:
                opened: OpenedForStaff | None = open_submission_for_staff(
                    self.session, self.signed_in, submission, now=self.now, reader=self.reader
                )
            except (ReadRefusedError, UnverifiedSubmissionError, crypto.DecryptionError):
                opened = None
            self.opened[submission.id] = opened
        return self.opened[submission.id]

    def _case(self, submission: Submission, opened: OpenedForStaff) -> CaseBrief | None:
        if submission.risk_hold:
            return None
        in_round = persons_in_round(self.session, opened, submission, self.dialogue_session)
        if in_round and not any(person.may_raise for person in in_round):
            return None
        names_open = opened.names.readable
        listed = opened.payload.get("persons", [])
        persons = tuple(
            _person(person, listed[person.index] if names_open else None) for person in in_round
        )
        return CaseBrief(
            submission.public_id,
            submission.kind,
            self._point(subject_of(DeskTextPurpose.BRIEFING_POINT, submission=submission)),
            persons,
            self._history(submission),
            case_follow_up(submission, today=self.now.date()),
        )

    def _point(self, subject: Any) -> str:
        found = self.points.get(subject)
        return found.text if found is not None and found.usable else ""

    def _history(self, submission: Submission) -> tuple[EarlierRound, ...]:
        return tuple(
            EarlierRound(
                record.dialogue_session.date,
                record.held_on,
                record.how_raised,
                record.not_raised_reason,
                None if record.agenda_item is None else record.agenda_item.title,
                reply.text if reply is not None and reply.usable else "",
            )
            for record, reply in case_replies(
                self.session,
                self.signed_in,
                submission,
                now=self.now,
                before=self.dialogue_session,
            )
        )


def _person(person: PersonInRound, listed: Any) -> PersonBrief:
    name = listed.get("name") if isinstance(listed, dict) else None
    if not person.may_raise:
        raise_as, name = RaiseAs.NOT_THIS_ROUND, None
    elif not person.name_may_be_raised:
        raise_as, name = RaiseAs.SITUATION_ONLY, None
    elif isinstance(name, str) and name.strip():
        raise_as = RaiseAs.BY_NAME
    else:
        raise_as, name = RaiseAs.NAME_SEALED, None
    return PersonBrief(person.index + 1, raise_as, name, person.awaiting_confirmation)


def _recommendations(payload: dict[str, Any]) -> Iterable[RecommendationBrief]:
    for number, row in enumerate(payload.get("recommendations", []), start=1):
        if not isinstance(row, dict):
            continue
        yield RecommendationBrief(
            number,
            str(row.get("text", "")),
            str(row.get("addressee", "")),
            _topic(row.get("topic")),
        )


def _topic(value: Any) -> Topic | None:
    """A theme as stored or sent; anything that is not one of the list is no theme."""
    try:
        return Topic(value)
    except ValueError:
        return None
