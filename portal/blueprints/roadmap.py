"""A dialogue's follow-up roadmap (under ``/staff/dialogues/<slug>/roadmap``).

- ``GET ""`` (``roadmap.roadmap_page``): the operational results, the actions grouped under them
  (state, due day, overdue marked), the forms that add a result and an action;
- ``GET/POST /results/<id>``: a result and the form that rewords it;
- ``POST /actions``: a new action; ``GET/POST /actions/<id>``: an action with its links and the
  history of its states, and the form that edits it;
- ``POST /actions/<id>/state``: a change of state with an optional progress note, and the
  progress notices the desk chose to send with it (``rounds.progress_notices``);
- ``POST /actions/<id>/links/item``, ``/links/case``, ``/links/recommendation`` and
  ``/links/<link>/remove``: what the action follows from.

Every page is for the dialogue's desk members (``roadmap.may_read_roadmap``); observers and
everyone else get 403 (observers read the roadmap's state in the session report only). Changes
are for the desk's triage officers and co-chairs (``need_to_know.may_edit_roadmap``), checked
before a form is read. Every rule is in ``portal.services.rounds.roadmap``; a refusal is rolled
back whole and the page says why (400), keeping what was typed.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from portal.blueprints.roadmap_forms import (
    ActionForm,
    CaseLinkForm,
    ItemLinkForm,
    RecommendationLinkForm,
    ResultForm,
    StateForm,
)
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.labels import label
from portal.models import (
    ActionOwner,
    ActionState,
    Dialogue,
    FollowUpAction,
    FollowUpResult,
    Submission,
    utc_now,
)
from portal.services.desks import need_to_know
from portal.services.rounds import progress_notices
from portal.services.rounds import roadmap as rules
from portal.services.staff.reading import ReadRefusedError
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.by_public_id import submission_by_public_id
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.messages import MessageNotAllowedError
from portal.web.lookups import desk_dialogue_or_403, found_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("roadmap", __name__, url_prefix="/staff/dialogues/<slug>/roadmap")

ACTION = "/actions/<int:action_id>"

# What a change on an action page does once the editor and the action are found: the flash.
ActionChange = Callable[[Session, FollowUpAction, dt.datetime], str]


class _Refused(Exception):
    """A form that does not validate: answered like a rule's refusal."""


# --- the roadmap and its results ---------------------------------------------------------------


@blueprint.get("")
@staff_required()
def roadmap_page(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    return _roadmap_page(signed_in, _readable_dialogue(signed_in, slug))


@blueprint.post("/results")
@staff_required()
def add_result(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = _editable_dialogue(signed_in, slug)
    form = ResultForm()
    try:
        with unit_of_work() as database:
            rules.add_result(database, signed_in.user, dialogue, form.draft())
    except rules.RoadmapRefusedError as refusal:
        return _roadmap_page(signed_in, dialogue, refusal=refusal_text(refusal), result_form=form)
    flash(_("The result is on the roadmap."))
    return redirect(url_for(".roadmap_page", slug=slug, _anchor="results"))


@blueprint.get("/results/<int:result_id>")
@staff_required()
def result_page(signed_in: SignedInStaff, slug: str, result_id: int) -> ResponseReturnValue:
    dialogue = _readable_dialogue(signed_in, slug)
    result = found_or_404(rules.result_of(reading(), dialogue, result_id))
    form = ResultForm(data={"title": result.title, "measure": result.measure})
    return _result_page(signed_in, result, form)


@blueprint.post("/results/<int:result_id>")
@staff_required()
def edit_result(signed_in: SignedInStaff, slug: str, result_id: int) -> ResponseReturnValue:
    dialogue = _editable_dialogue(signed_in, slug)
    form = ResultForm()
    try:
        with unit_of_work() as database:
            result = found_or_404(rules.result_of(database, dialogue, result_id))
            rules.edit_result(database, signed_in.user, result, form.draft())
    except rules.RoadmapRefusedError as refusal:
        result = found_or_404(rules.result_of(reading(), dialogue, result_id))
        return _result_page(signed_in, result, form, refusal=refusal_text(refusal))
    flash(_("The result is changed."))
    return redirect(url_for(".roadmap_page", slug=slug, _anchor=f"result-{result_id}"))


# --- actions -----------------------------------------------------------------------------------


@blueprint.post("/actions")
@staff_required()
def add_action(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = _editable_dialogue(signed_in, slug)
    form = ActionForm()
    try:
        with unit_of_work() as database:
            action = rules.add_action(
                database, signed_in.user, dialogue, _action_draft(form), now=utc_now()
            )
            action_id = action.id
    except (rules.RoadmapRefusedError, _Refused) as refusal:
        return _roadmap_page(signed_in, dialogue, refusal=refusal_text(refusal), action_form=form)
    flash(_("The action is on the roadmap."))
    return redirect(url_for(".action_page", slug=slug, action_id=action_id))


@blueprint.get(ACTION)
@staff_required()
def action_page(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    dialogue = _readable_dialogue(signed_in, slug)
    return _action_page(signed_in, found_or_404(rules.action_of(reading(), dialogue, action_id)))


@blueprint.post(ACTION)
@staff_required()
def edit_action(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    form = ActionForm()

    def act(database: Session, action: FollowUpAction, _now: dt.datetime) -> str:
        rules.edit_action(database, signed_in.user, action, _action_draft(form))
        return _("The action is changed.")

    return _change_action(signed_in, slug, action_id, act, action_form=form)


@blueprint.post(ACTION + "/state")
@staff_required()
def change_state(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    """A new state or a progress note, and the progress notices the desk picked, together."""
    form = StateForm()

    def act(database: Session, action: FollowUpAction, now: dt.datetime) -> str:
        if not form.validate():
            raise _Refused(first_error(form) or _("Choose where the action stands."))
        state = ActionState(form.state.data)
        change = rules.change_state(
            database, signed_in.user, action, state, form.note.data, now=now
        )
        sent = progress_notices.send_progress_notices(
            database,
            signed_in,
            action,
            change,
            form.notify.data,
            state_name=str(label(state)),
            now=now,
        )
        return _("The action is now: %(state)s.", state=label(state)) + (
            " " + _("Progress notices sent: %(count)s.", count=sent) if sent else ""
        )

    return _change_action(signed_in, slug, action_id, act, state_form=form)


# --- links -------------------------------------------------------------------------------------


@blueprint.post(ACTION + "/links/item")
@staff_required()
def link_item(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    form = ItemLinkForm()

    def act(database: Session, action: FollowUpAction, _now: dt.datetime) -> str:
        if not form.validate():
            raise _Refused(first_error(form) or _("Choose the agenda item."))
        rules.link_agenda_item(database, signed_in.user, action, form.item.data)
        return _("The action is linked to the agenda item.")

    return _change_action(signed_in, slug, action_id, act)


@blueprint.post(ACTION + "/links/case")
@staff_required()
def link_case(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    form = CaseLinkForm()

    def act(database: Session, action: FollowUpAction, now: dt.datetime) -> str:
        if not form.validate():
            raise _Refused(first_error(form) or _("Give the case's reference."))
        case = _submission(database, form.case.data)
        rules.link_case(database, signed_in.user, action, case, now=now)
        return _("The action is linked to the case.")

    return _change_action(signed_in, slug, action_id, act, case_form=form)


@blueprint.post(ACTION + "/links/recommendation")
@staff_required()
def link_recommendation(signed_in: SignedInStaff, slug: str, action_id: int) -> ResponseReturnValue:
    form = RecommendationLinkForm()

    def act(database: Session, action: FollowUpAction, now: dt.datetime) -> str:
        if not form.validate():
            raise _Refused(first_error(form) or _("Give the recommendation."))
        seminar = _submission(database, form.submission.data)
        rules.link_recommendation(
            database, signed_in, action, seminar, form.number.data - 1, now=now
        )
        return _("The action is linked to the recommendation.")

    return _change_action(signed_in, slug, action_id, act, recommendation_form=form)


@blueprint.post(ACTION + "/links/<int:link_id>/remove")
@staff_required()
def unlink(
    signed_in: SignedInStaff, slug: str, action_id: int, link_id: int
) -> ResponseReturnValue:
    def act(database: Session, action: FollowUpAction, _now: dt.datetime) -> str:
        rules.unlink(database, signed_in.user, action, link_id)
        return _("The link is removed.")

    return _change_action(signed_in, slug, action_id, act)


# --- helpers -----------------------------------------------------------------------------------


def _readable_dialogue(signed_in: SignedInStaff, slug: str) -> Dialogue:
    """The dialogue if the person sits on its desk; 404 or 403 if not."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    if not rules.may_read_roadmap(reading(), signed_in.user, dialogue):
        abort(403)
    return dialogue


def _editable_dialogue(signed_in: SignedInStaff, slug: str) -> Dialogue:
    """The dialogue if the person keeps its roadmap; 404 or 403 if not."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    if not need_to_know.may_edit_roadmap(reading(), signed_in.user, dialogue):
        abort(403)
    return dialogue


def _action_draft(form: ActionForm) -> rules.ActionDraft:
    if not form.validate():
        raise _Refused(first_error(form) or _("Fill in the action."))
    return form.draft()


def _submission(database: Session, public_id: str) -> Submission:
    found = submission_by_public_id(database, public_id)
    if found is None:
        raise _Refused(_("No submission has that reference."))
    return found


def _change_action(
    signed_in: SignedInStaff,
    slug: str,
    action_id: int,
    act: ActionChange,
    **forms: FlaskForm,
) -> ResponseReturnValue:
    """Run one change of an action in its own transaction: committed whole, or rolled back
    whole with the action's page saying why (403 for a person who may not, 400 for a rule)."""
    dialogue = _editable_dialogue(signed_in, slug)
    try:
        with unit_of_work() as database:
            action = found_or_404(rules.action_of(database, dialogue, action_id))
            done = act(database, action, utc_now())
    except (
        rules.RoadmapForbiddenError,
        ReadRefusedError,
        MessageNotAllowedError,
    ) as refusal:
        return _refused_action_page(signed_in, dialogue, action_id, refusal, 403, forms)
    except (rules.RoadmapRefusedError, SubmissionRefusedError, _Refused) as refusal:
        return _refused_action_page(signed_in, dialogue, action_id, refusal, 400, forms)
    flash(done)
    return redirect(url_for(".action_page", slug=slug, action_id=action_id))


def _refused_action_page(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    action_id: int,
    refusal: Exception,
    status: int,
    forms: dict[str, FlaskForm],
) -> ResponseReturnValue:
    words = (
        _("You cannot read this submission or sign for the desk, so you cannot do this.")
        if isinstance(refusal, ReadRefusedError)
        else refusal_text(refusal)
    )
    action = found_or_404(rules.action_of(reading(), dialogue, action_id))
    return _action_page(signed_in, action, refusal=words, status=status, **forms)


def _choices(dialogue: Dialogue) -> dict[str, Any]:
    database = reading()
    return {
        "owners": list(ActionOwner),
        "states": list(ActionState),
        "results": rules.results_of(database, dialogue),
        "sessions": sorted(dialogue.sessions, key=lambda item: (item.date, item.id)),
    }


def _roadmap_page(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    *,
    refusal: str | None = None,
    result_form: ResultForm | None = None,
    action_form: ActionForm | None = None,
) -> ResponseReturnValue:
    database = reading()
    today = utc_now().date()
    actions = rules.actions_of(database, dialogue)
    body = render_template(
        "staff/roadmap/roadmap.html",
        dialogue=dialogue,
        actions=actions,
        overdue={action.id for action in actions if rules.is_overdue(action, today)},
        may_edit=need_to_know.may_edit_roadmap(database, signed_in.user, dialogue),
        refusal=refusal,
        result_form=result_form or ResultForm(formdata=None),
        action_form=action_form or ActionForm(formdata=None),
        **_choices(dialogue),
    )
    return body, 200 if refusal is None else 400


def _result_page(
    signed_in: SignedInStaff,
    result: FollowUpResult,
    form: ResultForm,
    *,
    refusal: str | None = None,
) -> ResponseReturnValue:
    body = render_template(
        "staff/roadmap/result.html",
        dialogue=result.dialogue,
        result=result,
        may_edit=need_to_know.may_edit_roadmap(reading(), signed_in.user, result.dialogue),
        form=form,
        refusal=refusal,
    )
    return body, 200 if refusal is None else 400


def _action_page(
    signed_in: SignedInStaff,
    action: FollowUpAction,
    *,
    refusal: str | None = None,
    status: int = 200,
    action_form: FlaskForm | None = None,
    state_form: FlaskForm | None = None,
    **link_forms: FlaskForm,
) -> ResponseReturnValue:
    """The action's page; a refused form comes back with what was typed in it."""
    database = reading()
    now = utc_now()
    dialogue = action.dialogue
    body = render_template(
        "staff/roadmap/action.html",
        dialogue=dialogue,
        action=action,
        overdue=rules.is_overdue(action, now.date()),
        links=rules.visible_links(database, signed_in.user, action, now=now),
        history=list(reversed(action.changes)),
        notifiable=progress_notices.notifiable(database, signed_in.user, action, now=now),
        items=rules.linkable_items(database, dialogue),
        may_edit=need_to_know.may_edit_roadmap(database, signed_in.user, dialogue),
        refusal=refusal,
        action_form=action_form or ActionForm(formdata=None, data=_action_data(action)),
        state_form=state_form or StateForm(formdata=None, data={"state": action.state.value}),
        case_form=link_forms.get("case_form"),
        recommendation_form=link_forms.get("recommendation_form"),
        **_choices(dialogue),
    )
    return body, status


def _action_data(action: FollowUpAction) -> dict[str, Any]:
    return {
        "title": action.title,
        "owner": action.owner.value,
        "due_on": action.due_on,
        "result": action.result_id,
        "session": action.session_id,
    }
