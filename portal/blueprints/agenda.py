"""The agenda of a session (under ``/staff/dialogues/<slug>/sessions/<id>/agenda``).

One page serves two audiences. Desk members read the whole agenda with how many inputs support
each item, and act on it as their role allows (co-chairs shape it and move it through its life,
triage officers propose items); observers read the titles and themes of a shared agenda of any
dialogue, and get 404 before it is shared. Anyone else is answered 403, an unknown dialogue,
session or item 404.

Every rule lives in ``portal.services.rounds.agenda``; this module turns forms into its calls.
Who may act is checked before the form is read, so that someone who may not is answered 403
whatever they post; a refusal is rolled back whole and the page says why (400).
"""

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from portal.blueprints.agenda_forms import AgendaItemForm, AgendaStepForm, MoveForm, UnlinkForm
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.labels import label
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    Dialogue,
    DialogueSession,
    StaffUser,
    SubmissionKind,
    Topic,
    utc_now,
)
from portal.services.desks import need_to_know
from portal.services.rounds import agenda as rules
from portal.services.staff.triage import TriageForbiddenError, TriageRefusedError
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import (
    desk_dialogue_or_403,
    desk_submission_or_404,
    dialogue_or_404,
    found_or_404,
)
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint(
    "agenda", __name__, url_prefix="/staff/dialogues/<slug>/sessions/<int:session_id>/agenda"
)

# A co-chair's action: run in the unit of work once the desk and the role are checked.
Action = Callable[[Session, StaffUser, DialogueSession], str]


@blueprint.get("")
@staff_required()
def agenda(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The whole agenda for the desk; titles and themes for observers once shared."""
    database = reading()
    dialogue = dialogue_or_404(database, slug)
    dialogue_session = found_or_404(rules.session_of_dialogue(database, dialogue, session_id))
    if need_to_know.is_desk_member(database, signed_in.user, dialogue):
        return _agenda_page(signed_in, dialogue_session)
    if not rules.may_read_shared(signed_in.user):
        abort(403)
    shared = found_or_404(rules.shared_agenda(database, dialogue_session))
    return render_template(
        "staff/agenda/shared.html", dialogue_session=dialogue_session, items=shared
    )


@blueprint.post("/items")
@staff_required()
def add_item(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """A co-chair adds an item to the agenda; a triage officer proposes one."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    if not rules.may_propose(reading(), signed_in.user, dialogue):
        abort(403)
    form = AgendaItemForm()
    try:
        with unit_of_work() as database:
            dialogue_session = _session_or_404(database, dialogue, session_id)
            item = rules.add_item(database, signed_in.user, dialogue_session, _draft(form))
            proposed = item.proposed_by_id is not None
    except TriageForbiddenError:
        abort(403)
    except TriageRefusedError as refusal:
        return _agenda_page(
            signed_in,
            _session_or_404(reading(), dialogue, session_id),
            refusal=refusal_text(refusal),
            form=form,
            status=400,
        )
    flash(_("Your proposal waits for a co-chair.") if proposed else _("The item is on the agenda."))
    return redirect(url_for(".agenda", slug=slug, session_id=session_id, _anchor="items"))


@blueprint.get("/items/<int:item_id>")
@staff_required()
def item(signed_in: SignedInStaff, slug: str, session_id: int, item_id: int) -> ResponseReturnValue:
    """One item and the inputs that support it (references, kinds and states only)."""
    database = reading()
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    return _item_page(signed_in, _item_or_404(database, dialogue, session_id, item_id))


@blueprint.get("/items/<int:item_id>/edit")
@staff_required()
def edit_form(
    signed_in: SignedInStaff, slug: str, session_id: int, item_id: int
) -> ResponseReturnValue:
    database = reading()
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    found = _item_or_404(database, dialogue, session_id, item_id)
    if not need_to_know.may_shape_agenda(database, signed_in.user, dialogue):
        abort(403)
    return _edit_page(found, AgendaItemForm(data=_form_data(found)))


@blueprint.post("/items/<int:item_id>/edit")
@staff_required()
def edit(signed_in: SignedInStaff, slug: str, session_id: int, item_id: int) -> ResponseReturnValue:
    dialogue = _owned_dialogue(signed_in, slug)
    form = AgendaItemForm()
    try:
        with unit_of_work() as database:
            found = _item_or_404(database, dialogue, session_id, item_id)
            rules.edit_item(database, signed_in.user, found, _draft(form))
    except TriageForbiddenError:
        abort(403)
    except TriageRefusedError as refusal:
        found = _item_or_404(reading(), dialogue, session_id, item_id)
        return _edit_page(found, form, refusal=refusal_text(refusal), status=400)
    flash(_("The item is changed."))
    return redirect(url_for(".agenda", slug=slug, session_id=session_id, _anchor=f"item-{item_id}"))


@blueprint.post("/items/<int:item_id>/move")
@staff_required()
def move(signed_in: SignedInStaff, slug: str, session_id: int, item_id: int) -> ResponseReturnValue:
    def act(database: Session, user: StaffUser, dialogue_session: DialogueSession) -> str:
        form = MoveForm()
        if not form.validate():
            raise TriageRefusedError(_("Choose to move the item up or down."))
        found = _found_item(database, dialogue_session, item_id)
        rules.move_item(database, user, found, up=form.direction.data == "up")
        return _("The item is now number %(position)s.", position=found.position)

    return _co_chair_action(signed_in, slug, session_id, act, anchor=f"item-{item_id}")


@blueprint.post("/items/<int:item_id>/include")
@staff_required()
def include(
    signed_in: SignedInStaff, slug: str, session_id: int, item_id: int
) -> ResponseReturnValue:
    def act(database: Session, user: StaffUser, dialogue_session: DialogueSession) -> str:
        rules.include_item(database, user, _found_item(database, dialogue_session, item_id))
        return _("The proposal is included in the agenda.")

    return _co_chair_action(signed_in, slug, session_id, act, anchor=f"item-{item_id}")


@blueprint.post("/items/<int:item_id>/drop")
@staff_required()
def drop(signed_in: SignedInStaff, slug: str, session_id: int, item_id: int) -> ResponseReturnValue:
    def act(database: Session, user: StaffUser, dialogue_session: DialogueSession) -> str:
        rules.drop_item(database, user, _found_item(database, dialogue_session, item_id))
        return _("The item is off the agenda.")

    return _co_chair_action(signed_in, slug, session_id, act, anchor="items")


@blueprint.post("/stage")
@staff_required()
def change_stage(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Share, agree, finalise, or return the agenda to draft."""

    def act(database: Session, user: StaffUser, dialogue_session: DialogueSession) -> str:
        form = AgendaStepForm()
        if not form.validate():
            raise TriageRefusedError(_("Choose the agenda's next stage."))
        new = AgendaState(form.to.data)
        rules.change_agenda_state(database, user, dialogue_session, new)
        return _("The agenda is now: %(stage)s.", stage=label(new))

    return _co_chair_action(signed_in, slug, session_id, act, anchor="stage")


@blueprint.post("/items/<int:item_id>/links/<public_id>/remove")
@staff_required()
def unlink(
    signed_in: SignedInStaff, slug: str, session_id: int, item_id: int, public_id: str
) -> ResponseReturnValue:
    """A triage officer removes a submission's link to the item."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    back_to_submission = UnlinkForm().back.data == "submission"
    try:
        with unit_of_work() as database:
            found = _item_or_404(database, dialogue, session_id, item_id)
            submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
            rules.unlink_submission(database, signed_in.user, submission, found, now=utc_now())
    except TriageForbiddenError:
        abort(403)
    except TriageRefusedError as refusal:
        found = _item_or_404(reading(), dialogue, session_id, item_id)
        return _item_page(signed_in, found, refusal=refusal_text(refusal), status=400)
    flash(_("The link is removed."))
    if back_to_submission:
        return redirect(url_for("staff.submission", public_id=public_id, _anchor="agenda"))
    return redirect(url_for(".item", slug=slug, session_id=session_id, item_id=item_id))


# --- helpers -----------------------------------------------------------------------------------


def _session_or_404(database: Session, dialogue: Dialogue, session_id: int) -> DialogueSession:
    return found_or_404(rules.session_of_dialogue(database, dialogue, session_id))


def _found_item(database: Session, dialogue_session: DialogueSession, item_id: int) -> AgendaItem:
    return found_or_404(rules.item_of_session(database, dialogue_session, item_id))


def _item_or_404(
    database: Session, dialogue: Dialogue, session_id: int, item_id: int
) -> AgendaItem:
    return _found_item(database, _session_or_404(database, dialogue, session_id), item_id)


def _owned_dialogue(signed_in: SignedInStaff, slug: str) -> Dialogue:
    """The dialogue if the person is one of its desk's co-chairs; 404 or 403 if not."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    if not need_to_know.may_shape_agenda(reading(), signed_in.user, dialogue):
        abort(403)
    return dialogue


def _draft(form: AgendaItemForm) -> rules.ItemDraft:
    if not form.validate():
        raise TriageRefusedError(first_error(form) or _("Fill in the item."))
    return form.draft()


def _co_chair_action(
    signed_in: SignedInStaff, slug: str, session_id: int, act: Action, *, anchor: str
) -> ResponseReturnValue:
    """Run one co-chair action in its own transaction: committed whole, or rolled back whole."""
    dialogue = _owned_dialogue(signed_in, slug)
    try:
        with unit_of_work() as database:
            done = act(database, signed_in.user, _session_or_404(database, dialogue, session_id))
    except TriageForbiddenError:
        abort(403)
    except TriageRefusedError as refusal:
        dialogue_session = _session_or_404(reading(), dialogue, session_id)
        return _agenda_page(signed_in, dialogue_session, refusal=refusal_text(refusal), status=400)
    flash(done)
    return redirect(url_for(".agenda", slug=slug, session_id=session_id, _anchor=anchor))


def _form_data(found: AgendaItem) -> dict[str, Any]:
    return {
        "title": found.title,
        "theme": found.theme.value,
        "topic": found.topic,
        "priority": found.priority_of.value,
        "gender_dimension": found.gender_dimension or "",
    }


def _vocabularies() -> dict[str, Any]:
    return {
        "themes": [theme for theme in AgendaTheme if theme is not AgendaTheme.REPRISALS],
        "topics": list(Topic),
        "priorities": list(AgendaPriority),
    }


def _agenda_page(
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    *,
    refusal: str | None = None,
    form: FlaskForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    database = reading()
    user, dialogue = signed_in.user, dialogue_session.dialogue
    entries = rules.session_agenda(database, dialogue_session, include_proposed=True)
    included = [entry.item for entry in entries if entry.item.status is AgendaItemStatus.INCLUDED]
    body = render_template(
        "staff/agenda/agenda.html",
        dialogue=dialogue,
        dialogue_session=dialogue_session,
        entries=entries,
        may_shape=need_to_know.may_shape_agenda(database, user, dialogue),
        may_propose=rules.may_propose(database, user, dialogue),
        editable=rules.is_editable(dialogue_session),
        next_states=rules.next_states(dialogue_session),
        balance_refusal=rules.balance_refusal(included),
        gender_missing=not any(item.gender_dimension for item in included),
        stages=list(AgendaState),
        kinds=list(SubmissionKind),
        refusal=refusal,
        form=form or AgendaItemForm(formdata=None),
        **_vocabularies(),
    )
    return body, status


def _item_page(
    signed_in: SignedInStaff,
    found: AgendaItem,
    *,
    refusal: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    database = reading()
    dialogue = found.session.dialogue
    body = render_template(
        "staff/agenda/item.html",
        dialogue=dialogue,
        dialogue_session=found.session,
        item=found,
        submissions=rules.linked_submissions(database, found),
        linked_ids=rules.directly_linked_ids(database, found),
        may_unlink=need_to_know.may_triage(database, signed_in.user, dialogue)
        and rules.links_may_change(found.session),
        refusal=refusal,
    )
    return body, status


def _edit_page(
    found: AgendaItem, form: AgendaItemForm, *, refusal: str | None = None, status: int = 200
) -> ResponseReturnValue:
    body = render_template(
        "staff/agenda/edit.html",
        dialogue=found.session.dialogue,
        dialogue_session=found.session,
        item=found,
        form=form,
        refusal=refusal,
        editable=rules.is_editable(found.session),
        **_vocabularies(),
    )
    return body, status
