"""The follow-up roadmap of a dialogue: the one home of its rules.

Between sessions the EEAS follows up what a session agreed (DESIGN.md, section 1, step 6):

- **operational results** (``FollowUpResult``): what is to be achieved, and how progress towards
  it is measured;
- **actions** (``FollowUpAction``): what is to be done, who does it (the EU, the partner, an EU
  Delegation), by which day, where it stands; optionally under a result and following from one
  session of the dialogue. An action starts ``planned``; every change of its state, with an
  optional progress note, is kept (``FollowUpActionChange``, the first one made with the action)
  and the action's ``state`` is always the last change's;
- **links** of an action to what it follows from: an included agenda item of one of the
  dialogue's sessions, a seminar recommendation (the seminar submission and the recommendation's
  place in its list) or a case (an individual case or reprisal report), all of the same dialogue
  and accepted by the desk. Linking a submission needs read access to it (a recommendation's
  place is checked against the opened list).

**Overdue** is not a state: an action is overdue when it is still open (planned or in progress)
and its due day is past (:func:`is_overdue`, :func:`overdue_actions`, the only statement of it).

**Who.** The desk's triage officers and co-chairs keep the roadmap
(``need_to_know.may_edit_roadmap``); any desk member reads it (:func:`may_read_roadmap`).
Observers read only its state in the session report (:func:`roadmap_summary`: titles, owners,
due days, states; never a link, so never a submission).

**Plaintext.** Titles, measures and progress notes are staff words about themes, stored in the
clear so that the report can show them to observers; they must never name a person, and the
pages that take them say so. The audit trail records ids, owners and states only.

Every action checks everything first and then changes, in the caller's transaction; a refusal
raises before anything is stored.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItem,
    AgendaItemStatus,
    Dialogue,
    DialogueSession,
    FollowUpAction,
    FollowUpActionChange,
    FollowUpActionLink,
    FollowUpResult,
    StaffUser,
    Submission,
    SubmissionKind,
)
from portal.models.followup import MAX_ROADMAP_TEXT, MAX_ROADMAP_TITLE
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks import need_to_know
from portal.services.rounds.agenda import LINKABLE_STATES, session_of_dialogue, storable_id
from portal.services.rounds.record import recommendations_of
from portal.services.staff.reading import ReadRefusedError, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.inbox import KINDS_WITH_CONSENT
from portal.services.submissions.provenance import UnverifiedSubmissionError
from portal.translatable import TranslatableText, translatable

OPEN_ACTION_STATES = frozenset({ActionState.PLANNED, ActionState.IN_PROGRESS})
"""The states in which an action is still to be done, and so can be overdue."""


class RoadmapForbiddenError(PermissionError):
    """The person may not do this to this roadmap; the message says why."""


class RoadmapRefusedError(ValueError):
    """Not possible as asked; the message says why and can be shown as is."""


@dataclass(frozen=True)
class ResultDraft:
    """What the desk writes for an operational result."""

    title: str
    measure: str


@dataclass(frozen=True)
class ActionDraft:
    """What the desk writes for an action; ids come from a form and are checked here."""

    title: str
    owner: ActionOwner
    due_on: dt.date
    result_id: int | None = None
    session_id: int | None = None


# --- who ---------------------------------------------------------------------------------------


def may_read_roadmap(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` reads ``dialogue``'s roadmap pages: any member of its desk."""
    return need_to_know.is_desk_member(session, user, dialogue)


def require_editor(session: Session, user: StaffUser, dialogue: Dialogue) -> None:
    if not need_to_know.may_edit_roadmap(session, user, dialogue):
        raise RoadmapForbiddenError(
            translatable("only the desk's triage officers and co-chairs keep the roadmap")
        )


# --- overdue -----------------------------------------------------------------------------------


def is_overdue(action: FollowUpAction, today: dt.date) -> bool:
    """Whether ``action`` is overdue on ``today``: still open and its due day past."""
    return action.state in OPEN_ACTION_STATES and action.due_on < today


def overdue_actions(
    session: Session, dialogue_ids: list[int], today: dt.date
) -> list[FollowUpAction]:
    """The overdue actions of these dialogues (:func:`is_overdue`), the longest overdue first."""
    if not dialogue_ids:
        return []
    return list(
        session.scalars(
            select(FollowUpAction)
            .where(
                FollowUpAction.dialogue_id.in_(dialogue_ids),
                FollowUpAction.state.in_(OPEN_ACTION_STATES),
                FollowUpAction.due_on < today,
            )
            .order_by(FollowUpAction.due_on, FollowUpAction.id)
        )
    )


# --- reading -----------------------------------------------------------------------------------


def results_of(session: Session, dialogue: Dialogue) -> list[FollowUpResult]:
    """The dialogue's operational results, in the order they were set."""
    return list(
        session.scalars(
            select(FollowUpResult)
            .where(FollowUpResult.dialogue_id == dialogue.id)
            .order_by(FollowUpResult.id)
        )
    )


def actions_of(session: Session, dialogue: Dialogue) -> list[FollowUpAction]:
    """The dialogue's actions, by due day, each with its history loaded."""
    return list(
        session.scalars(
            select(FollowUpAction)
            .where(FollowUpAction.dialogue_id == dialogue.id)
            .options(selectinload(FollowUpAction.changes))
            .order_by(FollowUpAction.due_on, FollowUpAction.id)
        )
    )


def result_of(session: Session, dialogue: Dialogue, result_id: int) -> FollowUpResult | None:
    """Result ``result_id`` if it is one of ``dialogue``'s."""
    found = session.get(FollowUpResult, result_id) if storable_id(result_id) else None
    return found if found is not None and found.dialogue_id == dialogue.id else None


def action_of(session: Session, dialogue: Dialogue, action_id: int) -> FollowUpAction | None:
    """Action ``action_id`` if it is one of ``dialogue``'s."""
    found = session.get(FollowUpAction, action_id) if storable_id(action_id) else None
    return found if found is not None and found.dialogue_id == dialogue.id else None


def actions_of_case(submission: Submission) -> list[FollowUpAction]:
    """The actions linked to ``submission`` (as a case or through a recommendation), each once,
    by due day: what the next round's briefing shows of the case's follow-up."""
    actions = {link.action for link in submission.follow_up_links}
    return sorted(actions, key=lambda action: (action.due_on, action.id))


def linkable_items(session: Session, dialogue: Dialogue) -> list[AgendaItem]:
    """The included agenda items of ``dialogue``'s sessions, by session then position: what an
    action may be linked to as an agenda item."""
    return list(
        session.scalars(
            select(AgendaItem)
            .join(DialogueSession, DialogueSession.id == AgendaItem.session_id)
            .where(
                DialogueSession.dialogue_id == dialogue.id,
                AgendaItem.status == AgendaItemStatus.INCLUDED,
            )
            .order_by(DialogueSession.date, DialogueSession.id, AgendaItem.position)
        )
    )


@dataclass(frozen=True)
class LinkView:
    """One link as a desk member sees it: the agenda item, or the submission's public id only
    when they may read it (``None``: a case restricted to other members)."""

    link_id: int
    agenda_item: AgendaItem | None
    kind: SubmissionKind | None
    public_id: str | None
    recommendation_number: int | None  # from 1


def visible_links(
    session: Session, user: StaffUser, action: FollowUpAction, *, now: dt.datetime
) -> list[LinkView]:
    """``action``'s links as ``user`` may see them: none for someone off the desk (an observer
    never sees what an action links to); a submission's public id only when ``user`` reads it."""
    if not may_read_roadmap(session, user, action.dialogue):
        return []
    views = []
    for link in action.links:
        submission = link.submission
        readable = submission is not None and (
            need_to_know.submission_access(session, user, submission, now=now)
            is need_to_know.Access.READ
        )
        views.append(
            LinkView(
                link.id,
                link.agenda_item,
                None if submission is None else submission.kind,
                submission.public_id if readable and submission is not None else None,
                None if link.recommendation_index is None else link.recommendation_index + 1,
            )
        )
    return views


# --- results -----------------------------------------------------------------------------------


def add_result(
    session: Session, actor: StaffUser, dialogue: Dialogue, draft: ResultDraft
) -> FollowUpResult:
    """Set a new operational result for ``dialogue``."""
    require_editor(session, actor, dialogue)
    title, measure = _checked_result(draft)
    result = FollowUpResult(
        dialogue_id=dialogue.id, title=title, measure=measure, created_by_id=actor.id
    )
    session.add(result)
    session.flush()
    _record(
        session, AuditAction.ROADMAP_RESULT_ADDED, actor, dialogue, "follow_up_result", result.id
    )
    return result


def edit_result(
    session: Session, actor: StaffUser, result: FollowUpResult, draft: ResultDraft
) -> None:
    """Reword a result or how its progress is measured."""
    require_editor(session, actor, result.dialogue)
    title, measure = _checked_result(draft)
    changed = [
        name
        for name, old, new in (("title", result.title, title), ("measure", result.measure, measure))
        if old != new
    ]
    if not changed:
        raise RoadmapRefusedError(translatable("what was sent is what is already recorded"))
    result.title, result.measure = title, measure
    session.flush()
    _record(
        session,
        AuditAction.ROADMAP_RESULT_EDITED,
        actor,
        result.dialogue,
        "follow_up_result",
        result.id,
        changed=changed,
    )


def _checked_result(draft: ResultDraft) -> tuple[str, str]:
    title = _required_text(
        draft.title,
        MAX_ROADMAP_TITLE,
        translatable("give the result a title"),
        translatable("a title may hold at most %(limit)s characters", limit=MAX_ROADMAP_TITLE),
    )
    measure = _required_text(
        draft.measure,
        MAX_ROADMAP_TEXT,
        translatable("say how progress is measured"),
        translatable("the measure may hold at most %(limit)s characters", limit=MAX_ROADMAP_TEXT),
    )
    return title, measure


# --- actions -----------------------------------------------------------------------------------


def add_action(
    session: Session, actor: StaffUser, dialogue: Dialogue, draft: ActionDraft, *, now: dt.datetime
) -> FollowUpAction:
    """Put a new action on ``dialogue``'s roadmap, ``planned``, its history begun."""
    require_editor(session, actor, dialogue)
    title, result, from_session = _checked_action(session, dialogue, draft)
    action = FollowUpAction(
        dialogue_id=dialogue.id,
        session_id=None if from_session is None else from_session.id,
        result_id=None if result is None else result.id,
        title=title,
        owner=draft.owner,
        due_on=draft.due_on,
        state=ActionState.PLANNED,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(action)
    session.flush()
    session.add(
        FollowUpActionChange(
            action_id=action.id, state=ActionState.PLANNED, changed_by_id=actor.id, changed_at=now
        )
    )
    session.flush()
    _record(
        session,
        AuditAction.ROADMAP_ACTION_ADDED,
        actor,
        dialogue,
        "follow_up_action",
        action.id,
        owner=str(action.owner),
        result_id=action.result_id,
        dialogue_session=action.session_id,
    )
    return action


def edit_action(
    session: Session, actor: StaffUser, action: FollowUpAction, draft: ActionDraft
) -> None:
    """Change what an action is, who does it, by when, under which result or from which session
    (its state changes only through :func:`change_state`, which keeps the history)."""
    dialogue = action.dialogue
    require_editor(session, actor, dialogue)
    title, result, from_session = _checked_action(session, dialogue, draft)
    new = {
        "title": title,
        "owner": draft.owner,
        "due_on": draft.due_on,
        "result_id": None if result is None else result.id,
        "session_id": None if from_session is None else from_session.id,
    }
    changed = [name for name, value in new.items() if getattr(action, name) != value]
    if not changed:
        raise RoadmapRefusedError(translatable("what was sent is what is already recorded"))
    for name, value in new.items():
        setattr(action, name, value)
    session.flush()
    _record(
        session,
        AuditAction.ROADMAP_ACTION_EDITED,
        actor,
        dialogue,
        "follow_up_action",
        action.id,
        changed=changed,
        owner=str(action.owner),
    )


def change_state(
    session: Session,
    actor: StaffUser,
    action: FollowUpAction,
    state: ActionState,
    note: str,
    *,
    now: dt.datetime,
) -> FollowUpActionChange:
    """Move ``action`` to ``state`` with an optional progress note, kept in its history. The
    same state again is a progress report, so it needs a note."""
    require_editor(session, actor, action.dialogue)
    note = note.strip()
    if len(note) > MAX_ROADMAP_TEXT:
        raise RoadmapRefusedError(
            translatable(
                "a progress note may hold at most %(limit)s characters", limit=MAX_ROADMAP_TEXT
            )
        )
    if state is action.state and not note:
        raise RoadmapRefusedError(
            translatable("the action is already in that state; add a progress note")
        )
    previous = action.state
    change = FollowUpActionChange(
        action_id=action.id,
        state=state,
        note=note or None,
        changed_by_id=actor.id,
        changed_at=now,
    )
    session.add(change)
    action.state = state
    session.flush()
    session.expire(action, ["changes"])
    _record(
        session,
        AuditAction.ROADMAP_ACTION_STATE_CHANGED,
        actor,
        action.dialogue,
        "follow_up_action",
        action.id,
        previous=str(previous),
        state=str(state),
        with_note=bool(note),
    )
    return change


def _checked_action(
    session: Session, dialogue: Dialogue, draft: ActionDraft
) -> tuple[str, FollowUpResult | None, DialogueSession | None]:
    title = _required_text(
        draft.title,
        MAX_ROADMAP_TITLE,
        translatable("give the action a title"),
        translatable("a title may hold at most %(limit)s characters", limit=MAX_ROADMAP_TITLE),
    )
    if not isinstance(draft.owner, ActionOwner):
        raise RoadmapRefusedError(translatable("say who carries out the action"))
    if not isinstance(draft.due_on, dt.date) or isinstance(draft.due_on, dt.datetime):
        raise RoadmapRefusedError(translatable("give the day the action is due"))
    result = None
    if draft.result_id is not None:
        result = result_of(session, dialogue, draft.result_id)
        if result is None:
            raise RoadmapRefusedError(translatable("the result is not one of this dialogue's"))
    from_session = None
    if draft.session_id is not None:
        from_session = session_of_dialogue(session, dialogue, draft.session_id)
        if from_session is None:
            raise RoadmapRefusedError(translatable("the session is not one of this dialogue's"))
    return title, result, from_session


# --- links -------------------------------------------------------------------------------------


def link_agenda_item(
    session: Session, actor: StaffUser, action: FollowUpAction, item_id: int
) -> FollowUpActionLink:
    """Link ``action`` to an included agenda item of one of its dialogue's sessions."""
    require_editor(session, actor, action.dialogue)
    item = session.get(AgendaItem, item_id) if storable_id(item_id) else None
    if (
        item is None
        or item.session.dialogue_id != action.dialogue_id
        or item.status is not AgendaItemStatus.INCLUDED
    ):
        raise RoadmapRefusedError(translatable("the item is not on an agenda of this dialogue"))
    return _add_link(session, actor, action, FollowUpActionLink(agenda_item_id=item.id))


def link_case(
    session: Session,
    actor: StaffUser,
    action: FollowUpAction,
    submission: Submission,
    *,
    now: dt.datetime,
) -> FollowUpActionLink:
    """Link ``action`` to a case or reprisal report of its dialogue that the desk accepted and
    ``actor`` may read."""
    require_editor(session, actor, action.dialogue)
    _require_linkable(session, actor, action, submission, now)
    if submission.kind not in KINDS_WITH_CONSENT:
        raise RoadmapRefusedError(
            translatable("only an individual case or a reprisal report links as a case")
        )
    return _add_link(session, actor, action, FollowUpActionLink(submission_id=submission.id))


def link_recommendation(
    session: Session,
    signed_in: SignedInStaff,
    action: FollowUpAction,
    submission: Submission,
    index: int,
    *,
    now: dt.datetime,
) -> FollowUpActionLink:
    """Link ``action`` to recommendation ``index`` (from 0) of a seminar submission of its
    dialogue; the submission is opened (and the read audited) to check the recommendation
    exists."""
    actor = signed_in.user
    require_editor(session, actor, action.dialogue)
    _require_linkable(session, actor, action, submission, now)
    if submission.kind is not SubmissionKind.SEMINAR_RECOMMENDATIONS:
        raise RoadmapRefusedError(translatable("only a seminar submission holds recommendations"))
    try:
        opened = open_submission_for_staff(session, signed_in, submission, now=now)
    except ReadRefusedError:
        raise RoadmapForbiddenError(translatable("you may not read this submission")) from None
    except (UnverifiedSubmissionError, crypto.DecryptionError):
        raise RoadmapRefusedError(
            translatable("the seminar submission does not open or verify")
        ) from None
    if not 0 <= index < len(recommendations_of(opened)):
        raise RoadmapRefusedError(translatable("the seminar has no such recommendation"))
    return _add_link(
        session,
        actor,
        action,
        FollowUpActionLink(submission_id=submission.id, recommendation_index=index),
    )


def unlink(session: Session, actor: StaffUser, action: FollowUpAction, link_id: int) -> None:
    """Remove one of ``action``'s links."""
    require_editor(session, actor, action.dialogue)
    link = next((link for link in action.links if link.id == link_id), None)
    if link is None:
        raise RoadmapRefusedError(translatable("the action has no such link"))
    details = _link_details(link)
    action.links.remove(link)
    session.flush()
    _record(
        session,
        AuditAction.ROADMAP_ACTION_UNLINKED,
        actor,
        action.dialogue,
        "follow_up_action",
        action.id,
        **details,
    )


def _require_linkable(
    session: Session,
    actor: StaffUser,
    action: FollowUpAction,
    submission: Submission,
    now: dt.datetime,
) -> None:
    if submission.dialogue_id != action.dialogue_id:
        raise RoadmapRefusedError(translatable("the submission is not one of this dialogue's"))
    access = need_to_know.submission_access(session, actor, submission, now=now)
    if access is not need_to_know.Access.READ:
        raise RoadmapForbiddenError(translatable("you may not read this submission"))
    if submission.state not in LINKABLE_STATES:
        raise RoadmapRefusedError(
            translatable("only a submission the desk accepted links to the roadmap")
        )


def _add_link(
    session: Session, actor: StaffUser, action: FollowUpAction, link: FollowUpActionLink
) -> FollowUpActionLink:
    """Add ``link`` unless the action already has the same one."""
    if any(_link_details(existing) == _link_details(link) for existing in action.links):
        raise RoadmapRefusedError(translatable("the action already has that link"))
    action.links.append(link)
    session.flush()
    _record(
        session,
        AuditAction.ROADMAP_ACTION_LINKED,
        actor,
        action.dialogue,
        "follow_up_action",
        action.id,
        **_link_details(link),
    )
    return link


def _link_details(link: FollowUpActionLink) -> dict[str, int | None]:
    if link.agenda_item_id is not None:
        return {"agenda_item_id": link.agenda_item_id}
    return {"submission_id": link.submission_id, "recommendation": link.recommendation_index}


# --- the summary the session report shows ------------------------------------------------------


@dataclass(frozen=True)
class ActionSummary:
    """One action as the report shows it: no link, so no submission."""

    title: str
    owner: ActionOwner
    due_on: dt.date
    state: ActionState
    overdue: bool


@dataclass(frozen=True)
class ResultSummary:
    """One operational result and its actions; ``title`` and ``measure`` are ``None`` for the
    actions under no result."""

    title: str | None
    measure: str | None
    actions: tuple[ActionSummary, ...]


def _summary(action: FollowUpAction, today: dt.date) -> ActionSummary:
    return ActionSummary(
        action.title, action.owner, action.due_on, action.state, is_overdue(action, today)
    )


def case_follow_up(submission: Submission, *, today: dt.date) -> tuple[ActionSummary, ...]:
    """The actions linked to ``submission`` (:func:`actions_of_case`) as the briefing shows
    them: what the next round starts from."""
    return tuple(_summary(action, today) for action in actions_of_case(submission))


def roadmap_summary(
    session: Session, dialogue: Dialogue, *, today: dt.date
) -> tuple[ResultSummary, ...]:
    """The roadmap's state as plain data for the session report: each result with its actions,
    then (when there are any) the actions under no result. Staff words and closed-list values
    only: observers read it."""
    actions = actions_of(session, dialogue)

    def summaries(result_id: int | None) -> tuple[ActionSummary, ...]:
        return tuple(_summary(action, today) for action in actions if action.result_id == result_id)

    found = [
        ResultSummary(result.title, result.measure, summaries(result.id))
        for result in results_of(session, dialogue)
    ]
    loose = summaries(None)
    return tuple([*found, ResultSummary(None, None, loose)] if loose else found)


# --- helpers -----------------------------------------------------------------------------------


def _required_text(
    text: str, longest: int, when_empty: TranslatableText, when_too_long: TranslatableText
) -> str:
    text = text.strip()
    if not text:
        raise RoadmapRefusedError(when_empty)
    if len(text) > longest:
        raise RoadmapRefusedError(when_too_long)
    return text


def _record(
    session: Session,
    action: AuditAction,
    actor: StaffUser,
    dialogue: Dialogue,
    object_type: str,
    object_id: int,
    **details: object,
) -> None:
    record_event(
        session,
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        dialogue=dialogue,
        details=details,
    )
