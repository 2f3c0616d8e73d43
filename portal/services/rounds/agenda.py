"""The agenda of a session: every rule of it lives here, and only here.

**Who.** The co-chairs on the dialogue's desk own the agenda (``need_to_know.may_shape_agenda``):
they add items, edit them, reorder them, include or drop what triage officers proposed, and move
the agenda through its life. A triage officer on the desk proposes items (they wait, ``PROPOSED``,
for a co-chair) and links accepted submissions to included items. Any other desk member (an
administrator made a member) reads the agenda and changes nothing. Observers are never desk
members in this codebase -- their role reads no content, and a desk assignment refuses them
(``desks.membership``) -- and the Council working parties they stand for follow every dialogue:
an observer reads the titles and themes of any dialogue's agenda once it is shared
(:func:`shared_agenda`), never how many inputs support an item, what is linked, or who proposed.

**Life.** ``draft → shared → agreed → final``, one step at a time, co-chairs only, one audited
event each (:data:`AGENDA_STEPS`):

- *shared*: the titles and themes are shown to observers (the Member States are kept informed);
- *agreed*: agreed with the partner. Refused unless the agenda is balanced as the guidelines ask
  (:func:`balance_refusal`: at least one included item is the EU's priority or both sides', and
  one the partner's or both sides'), and unless no proposal still waits for a co-chair;
- *final*: the agenda the session follows.

Items can be added, edited, moved, included and dropped while the agenda is a draft or shared
(observers then see the change); an agreed or final agenda is changed only by returning it to
draft first. Returning to draft is the one step back, from any later stage, and only until the
session is held: from then on the agenda is the record of what the session followed. A draft
agenda must be shared and agreed again.

**Order.** Items of a session hold the positions 1..n, proposals included; a move swaps an item
with its neighbour, and adding or dropping renumbers. A new item goes last, before the standing
reprisals point while that point is last.

**The standing reprisals point.** Every agenda has one item of theme ``REPRISALS``, made by
:func:`add_item` when an item is added to an agenda that lacks it (so with the first item); it is
included, the EU's priority, never dropped, its theme never changes and no other item takes that
theme. Reprisal reports belong to the dialogue, not to a session (their session is empty), so the
point counts, beside what is linked to it, every reprisal report of the dialogue that the desk
accepted and that is still open (accepted, on the agenda or on a handover list), received by the
session's date.

**Links.** A triage officer who may read a submission links it, once the desk has accepted it
(or later: a raised case can be carried into a later round), to an included item of a session of
the same dialogue that is not earlier than the submission's own session and not yet held; not
while the submission is on risk hold. Linking an accepted submission puts it on the agenda;
removing its last link takes it back to accepted, unless it is on a handover list
(``triage.change_state`` makes both moves). Seminar recommendations link like any other input.

**Audit.** Every action records one event with identifiers and closed-list values only. Titles and
gender dimensions are staff words and stay out of the trail: an edit records which fields changed.

Each action checks everything first and changes nothing on a refusal; the caller commits or rolls
back. The errors are those of triage, so that the triage page that links answers them alike.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import CompoundSelect, Select, exists, func, literal, select, union
from sqlalchemy.orm import Session

from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    CaseOutcome,
    DeskText,
    Dialogue,
    DialogueSession,
    HandoverEntry,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.models.triage import MAX_AGENDA_TITLE, MAX_GENDER_DIMENSION
from portal.services.audit.trail import AuditAction, record_event, record_submission_event
from portal.services.desks import need_to_know
from portal.services.dialogues.dialogue_sessions import LATER_STAGES
from portal.services.staff import triage
from portal.translatable import translatable

S = SubmissionState
A = AgendaState

AGENDA_STEPS: dict[AgendaState, frozenset[AgendaState]] = {
    A.DRAFT: frozenset({A.SHARED}),
    A.SHARED: frozenset({A.AGREED, A.DRAFT}),
    A.AGREED: frozenset({A.FINAL, A.DRAFT}),
    A.FINAL: frozenset({A.DRAFT}),
}
EDITABLE_STATES = frozenset({A.DRAFT, A.SHARED})
SHOWN_TO_OBSERVERS = frozenset({A.SHARED, A.AGREED, A.FINAL})

# A submission the desk accepted, at any later stage: what may be linked and what counts.
LINKABLE_STATES = frozenset({S.ACCEPTED, S.ON_AGENDA, S.ON_HANDOVER_LIST, S.RAISED, S.DEBRIEFED})
# A reprisal report still open: what the standing point counts without a link.
OPEN_REPRISAL_STATES = frozenset({S.ACCEPTED, S.ON_AGENDA, S.ON_HANDOVER_LIST})
EU_SIDE = frozenset({AgendaPriority.EU, AgendaPriority.BOTH})
PARTNER_SIDE = frozenset({AgendaPriority.PARTNER, AgendaPriority.BOTH})

REPRISALS_TITLE = "Reprisals against civil society for engaging with the dialogue"
"""The standing point's title as made (staff may reword it; it is stored, so not translated)."""


class AgendaForbiddenError(triage.TriageForbiddenError):
    """The person may not do this to this agenda (not on the desk, or not their role)."""


class AgendaRefusedError(triage.TriageRefusedError):
    """Not possible now; the message says why and can be shown as is."""


@dataclass(frozen=True)
class ItemDraft:
    """What a co-chair or triage officer writes for an item; checked by :func:`_checked`."""

    title: str
    theme: AgendaTheme
    topic: Topic | None
    priority_of: AgendaPriority
    gender_dimension: str = ""


@dataclass(frozen=True)
class AgendaEntry:
    """One item in its place, with how many inputs of each kind support it."""

    item: AgendaItem
    counts: dict[SubmissionKind, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def is_standing(self) -> bool:
        return self.item.theme is AgendaTheme.REPRISALS


@dataclass(frozen=True)
class SharedItem:
    """What an observer reads of an included item: its title and theme, nothing more."""

    title: str
    theme: AgendaTheme
    topic: str | None


# --- who ---------------------------------------------------------------------------------------


def _require_owner(session: Session, user: StaffUser, dialogue: Dialogue) -> None:
    if not need_to_know.may_shape_agenda(session, user, dialogue):
        raise AgendaForbiddenError("only the co-chairs on this desk shape the agenda")


def may_propose(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may add items to ``dialogue``'s agendas (included, or proposed)."""
    return need_to_know.may_shape_agenda(session, user, dialogue) or need_to_know.may_triage(
        session, user, dialogue
    )


def is_editable(dialogue_session: DialogueSession) -> bool:
    """Whether items may change now (a draft or shared agenda)."""
    return dialogue_session.agenda_state in EDITABLE_STATES


# --- lookups -----------------------------------------------------------------------------------


def session_of_dialogue(
    session: Session, dialogue: Dialogue, session_id: int
) -> DialogueSession | None:
    """Session ``session_id`` if it is one of ``dialogue``'s."""
    found = session.get(DialogueSession, session_id) if storable_id(session_id) else None
    return found if found is not None and found.dialogue_id == dialogue.id else None


def item_of_session(
    session: Session, dialogue_session: DialogueSession, item_id: int
) -> AgendaItem | None:
    """Item ``item_id`` if it is on ``dialogue_session``'s agenda."""
    found = session.get(AgendaItem, item_id) if storable_id(item_id) else None
    return found if found is not None and found.session_id == dialogue_session.id else None


def storable_id(row_id: int) -> bool:
    """Whether ``row_id`` can be a row's id at all: a number from a URL or a form may be larger
    than the database's integers, and must find nothing rather than fail."""
    return 0 < row_id < 2**31


def _items(session: Session, dialogue_session: DialogueSession) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.session_id == dialogue_session.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


def _locked(session: Session, dialogue_session: DialogueSession) -> DialogueSession:
    """The session row locked for this transaction (PostgreSQL; SQLite writes one at a time),
    read afresh, so that two co-chairs' changes to one agenda never interleave."""
    return session.scalars(
        select(DialogueSession)
        .where(DialogueSession.id == dialogue_session.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


# --- the items ---------------------------------------------------------------------------------


def add_item(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession, draft: ItemDraft
) -> AgendaItem:
    """Add an item: included when a co-chair adds it, proposed when a triage officer does.

    Makes the standing reprisals point too when the agenda lacks it.
    """
    dialogue = dialogue_session.dialogue
    if not may_propose(session, actor, dialogue):
        raise AgendaForbiddenError(
            "only the co-chairs on this desk add agenda items; triage officers propose them"
        )
    dialogue_session = _locked(session, dialogue_session)
    _require_editable(dialogue_session)
    title, topic, gender_dimension = _checked(draft)
    owner = need_to_know.may_shape_agenda(session, actor, dialogue)
    items = _items(session, dialogue_session)
    standing = next((item for item in items if item.theme is AgendaTheme.REPRISALS), None)
    if standing is None:
        standing = _add_standing_point(session, actor, dialogue_session, len(items) + 1)
        items.append(standing)
    item = AgendaItem(
        session_id=dialogue_session.id,
        title=title,
        theme=draft.theme,
        topic=topic,
        position=0,
        priority_of=draft.priority_of,
        gender_dimension=gender_dimension,
        status=AgendaItemStatus.INCLUDED if owner else AgendaItemStatus.PROPOSED,
        proposed_by_id=None if owner else actor.id,
    )
    session.add(item)
    if items and items[-1] is standing:
        items.insert(len(items) - 1, item)
    else:
        items.append(item)
    _renumber(items)
    session.flush()
    _record_item_event(
        session,
        AuditAction.AGENDA_ITEM_CREATED,
        actor,
        item,
        theme=str(item.theme),
        topic=item.topic,
        priority=str(item.priority_of),
        status=str(item.status),
        position=item.position,
    )
    return item


def _add_standing_point(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession, position: int
) -> AgendaItem:
    point = AgendaItem(
        session_id=dialogue_session.id,
        title=REPRISALS_TITLE,
        theme=AgendaTheme.REPRISALS,
        topic=None,
        position=position,
        priority_of=AgendaPriority.EU,
        status=AgendaItemStatus.INCLUDED,
    )
    session.add(point)
    session.flush()
    _record_item_event(
        session,
        AuditAction.AGENDA_ITEM_CREATED,
        actor,
        point,
        theme=str(point.theme),
        standing=True,
        position=position,
    )
    return point


def edit_item(session: Session, actor: StaffUser, item: AgendaItem, draft: ItemDraft) -> None:
    """Change an item's words, theme or priority (co-chairs; the standing point keeps its
    theme)."""
    _require_owner(session, actor, item.session.dialogue)
    _require_editable(_locked(session, item.session))
    standing = item.theme is AgendaTheme.REPRISALS
    if standing and draft.theme is not AgendaTheme.REPRISALS:
        raise AgendaRefusedError(translatable("the standing reprisals point keeps its theme"))
    title, topic, gender_dimension = _checked(draft, standing=standing)
    new_values = {
        "title": title,
        "theme": draft.theme,
        "topic": topic,
        "priority_of": draft.priority_of,
        "gender_dimension": gender_dimension,
    }
    changed = sorted(name for name, value in new_values.items() if getattr(item, name) != value)
    if not changed:
        raise AgendaRefusedError(translatable("what was sent is what is already recorded"))
    for name in changed:
        setattr(item, name, new_values[name])
    session.flush()
    _record_item_event(
        session,
        AuditAction.AGENDA_ITEM_EDITED,
        actor,
        item,
        changed=changed,
        theme=str(item.theme),
        topic=item.topic,
        priority=str(item.priority_of),
    )


def move_item(session: Session, actor: StaffUser, item: AgendaItem, *, up: bool) -> None:
    """Swap ``item`` with the item before it (``up``) or after it."""
    _require_owner(session, actor, item.session.dialogue)
    dialogue_session = _locked(session, item.session)
    _require_editable(dialogue_session)
    items = _items(session, dialogue_session)
    index = items.index(item)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(items):
        raise AgendaRefusedError(
            translatable("the item is already first")
            if up
            else translatable("the item is already last")
        )
    items[index], items[other] = items[other], items[index]
    _renumber(items)
    session.flush()
    _record_item_event(
        session,
        AuditAction.AGENDA_ITEM_MOVED,
        actor,
        item,
        direction="up" if up else "down",
        position=item.position,
    )


def include_item(session: Session, actor: StaffUser, item: AgendaItem) -> None:
    """Take a triage officer's proposal into the agenda."""
    _require_owner(session, actor, item.session.dialogue)
    _require_editable(_locked(session, item.session))
    if item.status is not AgendaItemStatus.PROPOSED:
        raise AgendaRefusedError(translatable("the item is already on the agenda"))
    item.status = AgendaItemStatus.INCLUDED
    session.flush()
    _record_item_event(session, AuditAction.AGENDA_ITEM_INCLUDED, actor, item)


def drop_item(session: Session, actor: StaffUser, item: AgendaItem) -> None:
    """Take an item off the agenda, a proposal or an included item, with its links.

    The submissions linked to it lose that link (each audited, and back to accepted when it
    was their last); refused for the standing point, and for an item the desk has already
    written about (briefing points, a record).
    """
    dialogue_session = item.session
    _require_owner(session, actor, dialogue_session.dialogue)
    dialogue_session = _locked(session, dialogue_session)
    _require_editable(dialogue_session)
    if item.theme is AgendaTheme.REPRISALS:
        raise AgendaRefusedError(translatable("the standing reprisals point stays on every agenda"))
    written = select(DeskText.id).where(DeskText.agenda_item_id == item.id)
    recorded = select(CaseOutcome.id).where(CaseOutcome.agenda_item_id == item.id)
    if session.scalar(select(exists(written) | exists(recorded))):
        raise AgendaRefusedError(
            translatable("the desk has written briefing points or a record for this item; it stays")
        )
    links = list(session.scalars(select(AgendaLink).where(AgendaLink.agenda_item_id == item.id)))
    for link in links:
        _remove_link(session, actor, link)
    status = item.status
    item_id = item.id
    session.delete(item)
    session.flush()
    _renumber(_items(session, dialogue_session))
    session.flush()
    record_event(
        session,
        action=AuditAction.AGENDA_ITEM_DROPPED,
        object_type="agenda_item",
        object_id=item_id,
        actor=actor,
        dialogue=dialogue_session.dialogue,
        details={"session": dialogue_session.id, "status": str(status), "links": len(links)},
    )


def _checked(draft: ItemDraft, *, standing: bool = False) -> tuple[str, str | None, str | None]:
    """The title, topic and gender dimension to store, or a refusal saying what is wrong."""
    title = draft.title.strip()
    if not title:
        raise AgendaRefusedError(translatable("give the item a title"))
    if len(title) > MAX_AGENDA_TITLE:
        raise AgendaRefusedError(
            translatable(
                "an item's title may hold at most %(limit)s characters", limit=MAX_AGENDA_TITLE
            )
        )
    if draft.theme is AgendaTheme.REPRISALS and not standing:
        raise AgendaRefusedError(
            translatable(
                "reprisals have their standing point on every agenda; choose another theme"
            )
        )
    topic = None
    if draft.theme is AgendaTheme.SPECIFIC_TOPIC:
        if draft.topic is None:
            raise AgendaRefusedError(translatable("say which specific topic the item is about"))
        topic = str(draft.topic)
    gender_dimension = draft.gender_dimension.strip()
    if len(gender_dimension) > MAX_GENDER_DIMENSION:
        raise AgendaRefusedError(
            translatable(
                "the gender dimension may hold at most %(limit)s characters",
                limit=MAX_GENDER_DIMENSION,
            )
        )
    return title, topic, gender_dimension or None


def _require_editable(dialogue_session: DialogueSession) -> None:
    if not is_editable(dialogue_session):
        raise AgendaRefusedError(
            translatable(
                "the agenda is agreed; a co-chair must return it to draft before it changes"
            )
        )


def _renumber(items: Sequence[AgendaItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position


def _record_item_event(
    session: Session, action: AuditAction, actor: StaffUser, item: AgendaItem, **details: object
) -> None:
    record_event(
        session,
        action=action,
        object_type="agenda_item",
        object_id=item.id,
        actor=actor,
        dialogue=item.session.dialogue,
        details={"session": item.session_id, **details},
    )


# --- the life of the agenda --------------------------------------------------------------------


def next_states(dialogue_session: DialogueSession) -> list[AgendaState]:
    """The steps the rules allow from here: the step forward, then the step back to draft
    (until the session is held). Whether a step's conditions hold is checked on taking it."""
    steps = AGENDA_STEPS[dialogue_session.agenda_state]
    forward = [state for state in (A.SHARED, A.AGREED, A.FINAL) if state in steps]
    back = A.DRAFT in steps and dialogue_session.state not in LATER_STAGES
    return forward + ([A.DRAFT] if back else [])


def change_agenda_state(
    session: Session, actor: StaffUser, dialogue_session: DialogueSession, to: AgendaState
) -> AgendaState:
    """Move the agenda one step (:data:`AGENDA_STEPS`); return the stage it left."""
    _require_owner(session, actor, dialogue_session.dialogue)
    dialogue_session = _locked(session, dialogue_session)
    old = dialogue_session.agenda_state
    if to not in AGENDA_STEPS[old]:
        raise AgendaRefusedError(
            translatable(
                'an agenda at "%(state)s" cannot become "%(new_state)s" in one step',
                state=old,
                new_state=to,
            )
        )

    if to is A.DRAFT and dialogue_session.state in LATER_STAGES:
        raise AgendaRefusedError(
            translatable("the session has been held; its agenda stays as it was")
        )
    items = _items(session, dialogue_session)
    included = [item for item in items if item.status is AgendaItemStatus.INCLUDED]
    if to is A.SHARED and not any(item.theme is not AgendaTheme.REPRISALS for item in included):
        raise AgendaRefusedError(translatable("add at least one item before sharing the agenda"))
    if to is A.AGREED:
        if any(item.status is AgendaItemStatus.PROPOSED for item in items):
            raise AgendaRefusedError(
                translatable(
                    "include or drop the items triage officers proposed before agreeing the agenda"
                )
            )
        refusal = balance_refusal(included)
        if refusal is not None:
            raise AgendaRefusedError(refusal)
    dialogue_session.agenda_state = to
    session.flush()
    record_event(
        session,
        action=AuditAction.AGENDA_STATE_CHANGED,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=actor,
        dialogue=dialogue_session.dialogue,
        details={"previous": str(old), "new": str(to)},
    )
    return old


def balance_refusal(included: Sequence[AgendaItem]) -> str | None:
    """Why an agenda with these included items is not balanced, or ``None`` if it is.

    The guidelines ask for an agenda that carries both sides' priorities: at least one item
    that is the EU's priority (or both sides') and one that is the partner's (or both sides').
    """
    priorities = {item.priority_of for item in included}
    eu, partner = bool(priorities & EU_SIDE), bool(priorities & PARTNER_SIDE)
    if eu and partner:
        return None
    missing = (
        "neither side's priority"
        if not (eu or partner)
        else ("no priority of the partner" if eu else "no priority of the EU")
    )
    return (
        f"the agenda is not balanced: it carries {missing}. The guidelines ask that an agreed "
        "agenda carry both sides' priorities; mark at least one item as the EU's priority and "
        "one as the partner's (an item of both sides counts for each)"
    )


# --- reading the agenda ------------------------------------------------------------------------


def session_agenda(
    session: Session, dialogue_session: DialogueSession, *, include_proposed: bool
) -> list[AgendaEntry]:
    """The items in order, each with how many inputs of each kind support it.

    Counted: the submissions linked to an item that the desk accepted (at any later stage), and
    under the standing point the open reprisal reports of the dialogue; each once per item, in
    one grouped query.
    """
    items = _items(session, dialogue_session)
    if not include_proposed:
        items = [item for item in items if item.status is AgendaItemStatus.INCLUDED]
    counts: dict[int, dict[SubmissionKind, int]] = defaultdict(dict)
    supporting = _supporting(dialogue_session, items).subquery()
    rows = session.execute(
        select(supporting.c.item_id, Submission.kind, func.count())
        .join(Submission, Submission.id == supporting.c.submission_id)
        .group_by(supporting.c.item_id, Submission.kind)
    )
    for item_id, kind, count in rows:
        counts[item_id][kind] = count
    return [AgendaEntry(item, _in_kind_order(counts[item.id])) for item in items]


def _in_kind_order(counts: dict[SubmissionKind, int]) -> dict[SubmissionKind, int]:
    return {kind: counts[kind] for kind in SubmissionKind if kind in counts}


def linked_submissions(session: Session, item: AgendaItem) -> list[Submission]:
    """The submissions that support ``item`` (as counted by :func:`session_agenda`), oldest
    first: for the briefing pack and the item's page. Content is the caller's to open, under
    need-to-know."""
    supporting = _supporting(item.session, [item]).subquery()
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.id.in_(select(supporting.c.submission_id)))
            .order_by(Submission.id)
        )
    )


def _supporting(
    dialogue_session: DialogueSession, items: Sequence[AgendaItem]
) -> Select[tuple[int, int]] | CompoundSelect:
    """(item id, submission id) pairs: the links of ``items`` to counted submissions, and the
    open reprisal reports under the standing point, without repeats."""
    item_ids = [item.id for item in items]
    linked = (
        select(AgendaLink.agenda_item_id.label("item_id"), AgendaLink.submission_id)
        .join(Submission, Submission.id == AgendaLink.submission_id)
        .where(AgendaLink.agenda_item_id.in_(item_ids), Submission.state.in_(LINKABLE_STATES))
    )
    standing = next((item for item in items if item.theme is AgendaTheme.REPRISALS), None)
    if standing is None:
        return linked
    open_reports = select(literal(standing.id).label("item_id"), Submission.id).where(
        Submission.dialogue_id == dialogue_session.dialogue_id,
        Submission.kind == SubmissionKind.REPRISAL_REPORT,
        Submission.state.in_(OPEN_REPRISAL_STATES),
        Submission.received_on <= dialogue_session.date,
    )
    return union(linked, open_reports)


def shared_agenda(session: Session, dialogue_session: DialogueSession) -> list[SharedItem] | None:
    """What observers read of the agenda: the included items' titles and themes in order, once
    shared; ``None`` while it is a draft."""
    if dialogue_session.agenda_state not in SHOWN_TO_OBSERVERS:
        return None
    return [
        SharedItem(item.title, item.theme, item.topic)
        for item in _items(session, dialogue_session)
        if item.status is AgendaItemStatus.INCLUDED
    ]


def shared_agendas(session: Session) -> list[DialogueSession]:
    """Every session whose agenda observers may read, the most recent first."""
    return list(
        session.scalars(
            select(DialogueSession)
            .where(DialogueSession.agenda_state.in_(SHOWN_TO_OBSERVERS))
            .order_by(DialogueSession.date.desc(), DialogueSession.id)
        )
    )


def may_read_shared(user: StaffUser) -> bool:
    """Whether ``user`` reads agendas as an observer (titles and themes, once shared)."""
    return user.active and user.role is StaffRole.OBSERVER


# --- links -------------------------------------------------------------------------------------


def links_may_change(dialogue_session: DialogueSession) -> bool:
    """Whether links to the session's items may be made or removed: until it is held."""
    return dialogue_session.state not in LATER_STAGES


def directly_linked_ids(session: Session, item: AgendaItem) -> set[int]:
    """The ids of the submissions linked to ``item`` by a triage officer (under the standing
    point, the open reprisal reports count without a link, and have none to remove)."""
    return set(
        session.scalars(
            select(AgendaLink.submission_id).where(AgendaLink.agenda_item_id == item.id)
        )
    )


def sessions_for_links(submission: Submission) -> list[DialogueSession]:
    """The sessions to whose agendas ``submission`` may be linked: of its dialogue, not earlier
    than its own session (any, for a submission of no session) and not yet held; by date."""
    own = submission.session
    return [
        dialogue_session
        for dialogue_session in submission.dialogue.sessions
        if links_may_change(dialogue_session) and (own is None or dialogue_session.date >= own.date)
    ]


def linkable_items(session: Session, submission: Submission) -> list[AgendaItem]:
    """The included items ``submission`` may be linked to, by session date then position."""
    session_ids = [dialogue_session.id for dialogue_session in sessions_for_links(submission)]
    return list(
        session.scalars(
            select(AgendaItem)
            .join(DialogueSession, DialogueSession.id == AgendaItem.session_id)
            .where(
                AgendaItem.session_id.in_(session_ids),
                AgendaItem.status == AgendaItemStatus.INCLUDED,
            )
            .order_by(DialogueSession.date, DialogueSession.id, AgendaItem.position)
        )
    )


def link_submission(
    session: Session, actor: StaffUser, submission: Submission, item_id: int, *, now: dt.datetime
) -> AgendaLink:
    """Link ``submission`` to agenda item ``item_id`` (see the module docstring for when)."""
    triage.require_triage(session, actor, submission, now=now)
    item = session.get(AgendaItem, item_id) if storable_id(item_id) else None
    if item is None or item not in linkable_items(session, submission):
        raise AgendaRefusedError(
            translatable(
                "choose an item on the agenda of this session or of a later one not yet held"
            )
        )
    if submission.state not in LINKABLE_STATES:
        raise AgendaRefusedError(
            translatable("accept the submission before linking it to the agenda")
        )
    if submission.risk_hold:
        raise AgendaRefusedError(translatable("the submission is on risk hold"))
    exists_already = session.scalars(
        select(AgendaLink.id).where(
            AgendaLink.submission_id == submission.id, AgendaLink.agenda_item_id == item.id
        )
    ).first()
    if exists_already is not None:
        raise AgendaRefusedError(
            translatable("the submission is already linked to that agenda item")
        )
    if submission.state is S.ACCEPTED:
        triage.change_state(submission, S.ON_AGENDA)
    link = AgendaLink(submission_id=submission.id, agenda_item_id=item.id)
    session.add(link)
    session.flush()
    session.expire(submission, ["agenda_links"])
    record_submission_event(
        session,
        AuditAction.SUBMISSION_LINKED_TO_AGENDA,
        actor,
        submission,
        agenda_item=item.id,
        dialogue_session=item.session_id,
    )
    return link


def unlink_submission(
    session: Session,
    actor: StaffUser,
    submission: Submission,
    item: AgendaItem,
    *,
    now: dt.datetime,
) -> None:
    """Remove the link of ``submission`` to ``item``."""
    triage.require_triage(session, actor, submission, now=now)
    if not links_may_change(item.session):
        raise AgendaRefusedError(
            translatable("the session has been held; its links stay as they were")
        )
    link = session.scalars(
        select(AgendaLink).where(
            AgendaLink.submission_id == submission.id, AgendaLink.agenda_item_id == item.id
        )
    ).first()
    if link is None:
        raise AgendaRefusedError(translatable("the submission is not linked to that agenda item"))
    _remove_link(session, actor, link)


def _remove_link(session: Session, actor: StaffUser, link: AgendaLink) -> None:
    """Delete ``link``; its submission goes back to accepted when that was its last link and it
    is on no handover list."""
    submission = session.get_one(Submission, link.submission_id)
    item_id = link.agenda_item_id
    session.delete(link)
    session.flush()
    session.expire(submission, ["agenda_links"])
    remaining = select(AgendaLink.id).where(AgendaLink.submission_id == submission.id)
    listed = select(HandoverEntry.id).where(
        HandoverEntry.submission_id == submission.id, HandoverEntry.left_at.is_(None)
    )
    if submission.state is S.ON_AGENDA and not session.scalar(
        select(exists(remaining) | exists(listed))
    ):
        triage.change_state(submission, S.ACCEPTED)
        session.flush()
    record_submission_event(
        session,
        AuditAction.SUBMISSION_UNLINKED_FROM_AGENDA,
        actor,
        submission,
        agenda_item=item_id,
        state=str(submission.state),
    )
