"""The desk's session pages: a dialogue's sessions and one session's hub (under ``/staff``).

``/staff/dialogues/<slug>/sessions`` lists the dialogue's sessions with their stage, day, place
and consultation window, and schedules a new one; ``…/sessions/<id>`` is the session's hub: its
stage and window with the forms that open, extend, close or reopen the consultation and record
the session as held, and the list of the session's work (its queue, the desk, and the pages of
the agenda, briefing pack, handover list and record as they are added). The pages are for the
desk's members in a content role (anyone else: 403; an unknown dialogue, or a session of another
dialogue: 404); the changes are for its triage officers and co-chairs (``may_manage_sessions``).

Every rule lives in ``portal.services.dialogues.dialogue_sessions``, the same one the ``portal
session`` commands obey; this module turns forms into its calls. A refused change is rolled back
whole and the page says why with a 400; someone who may not act gets 403 whatever they posted.
The forms are small, so a request body over :data:`FORM_BODY_LIMIT` is refused with 413 before
any view reads it.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from portal.blueprints.sessions_forms import (
    ConfirmForm,
    ExtendForm,
    OpenForm,
    ScheduleForm,
)
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.models import Dialogue, DialogueSession, SessionPlace, SessionState, utc_now
from portal.services.desks.need_to_know import CONTENT_ROLES, may_brief, may_debrief
from portal.services.dialogues import dialogue_sessions as rules
from portal.services.dialogues.retention import scheduled_deletions
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import desk_dialogue_or_403, session_of_dialogue_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("sessions", __name__, url_prefix="/staff/dialogues")

FormType = TypeVar("FormType", bound=FlaskForm)

FORM_BODY_LIMIT = 4 * 1024
"""The largest body a session form may post: a token, a date, a place and two moments."""


@blueprint.before_request
def _refuse_oversized_forms() -> None:
    """413 for a post larger than any of these forms; the application's CSRF check has read the
    body by now (within the application's own limits), so the declared length is what counts."""
    if request.method == "POST" and (request.content_length or 0) > FORM_BODY_LIMIT:
        abort(413)


@blueprint.get("/<slug>/sessions")
@staff_required(CONTENT_ROLES)
def overview(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    """The dialogue's sessions, and the form that schedules one."""
    return _overview(signed_in, desk_dialogue_or_403(reading(), signed_in, slug))


@blueprint.post("/<slug>/sessions")
@staff_required(CONTENT_ROLES)
def schedule(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    """Schedule a planned session, with its consultation window if the desk already knows it."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    if not rules.may_manage_sessions(reading(), signed_in.user, dialogue):
        abort(403)
    form = ScheduleForm()
    if not form.validate():
        return _overview(signed_in, dialogue, form=form, error=first_error(form), status=400)
    try:
        with unit_of_work() as database:
            created = rules.schedule_planned_session(
                database,
                dialogue,
                date=form.date.data,
                place=SessionPlace(form.place.data),
                opens_at=form.opens.data,
                closes_at=form.closes.data,
                now=utc_now(),
                actor=signed_in.user,
            )
            created_id = created.id
    except rules.SessionChangeForbiddenError:
        abort(403)
    except rules.SessionChangeRefusedError as refusal:
        return _overview(signed_in, dialogue, form=form, error=refusal_text(refusal), status=400)
    flash(_("The session is scheduled. Open its consultation here when the desk is ready."))
    return redirect(url_for(".session_page", slug=dialogue.slug, session_id=created_id))


@blueprint.get("/<slug>/sessions/<int:session_id>")
@staff_required(CONTENT_ROLES)
def session_page(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The session's hub: its stage and window, the forms that change them, and its work."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    return _hub(signed_in, dialogue, session_of_dialogue_or_404(reading(), dialogue, session_id))


@blueprint.post("/<slug>/sessions/<int:session_id>/open")
@staff_required(CONTENT_ROLES)
def open_consultation(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Open the consultation, or reopen one closed early, with a new close if one is given."""

    def change(database: Session, found: DialogueSession, form: OpenForm) -> None:
        rules.open_consultation(
            database, found, now=utc_now(), closes_at=form.closes.data, actor=signed_in.user
        )

    return _change(signed_in, slug, session_id, OpenForm, change, _("The consultation is open."))


@blueprint.post("/<slug>/sessions/<int:session_id>/extend")
@staff_required(CONTENT_ROLES)
def extend_consultation(
    signed_in: SignedInStaff, slug: str, session_id: int
) -> ResponseReturnValue:
    """Move the close of the open consultation later."""

    def change(database: Session, found: DialogueSession, form: ExtendForm) -> None:
        rules.extend_consultation(
            database, found, closes_at=form.closes.data, now=utc_now(), actor=signed_in.user
        )

    message = _("The consultation now closes later.")
    return _change(signed_in, slug, session_id, ExtendForm, change, message)


@blueprint.post("/<slug>/sessions/<int:session_id>/close")
@staff_required(CONTENT_ROLES)
def close_consultation(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Close the consultation now, whatever its announced close."""

    def change(database: Session, found: DialogueSession, _form: ConfirmForm) -> None:
        rules.close_consultation(database, found, actor=signed_in.user)

    message = _("The consultation is closed: nothing more is accepted for this session.")
    return _change(signed_in, slug, session_id, ConfirmForm, change, message)


@blueprint.post("/<slug>/sessions/<int:session_id>/held")
@staff_required(CONTENT_ROLES)
def record_held(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Record that the session took place (from its day on)."""

    def change(database: Session, found: DialogueSession, _form: ConfirmForm) -> None:
        rules.advance_session(
            database, found, SessionState.HELD, today=utc_now().date(), actor=signed_in.user
        )

    message = _("The session is recorded as held.")
    return _change(signed_in, slug, session_id, ConfirmForm, change, message)


def _change(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    form_type: type[FormType],
    change: Callable[[Session, DialogueSession, FormType], None],
    done: str,
) -> ResponseReturnValue:
    """The shape every change of one session takes: who may, then the form, then the rule."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    found = session_of_dialogue_or_404(reading(), dialogue, session_id)
    if not rules.may_manage_sessions(reading(), signed_in.user, dialogue):
        abort(403)
    form = form_type()
    if not form.validate():
        return _hub(signed_in, dialogue, found, error=first_error(form), status=400)
    try:
        with unit_of_work() as database:
            change(database, found, form)
    except rules.SessionChangeForbiddenError:
        abort(403)
    except rules.SessionChangeRefusedError as refusal:
        reloaded = session_of_dialogue_or_404(reading(), dialogue, session_id)
        return _hub(signed_in, dialogue, reloaded, error=refusal_text(refusal), status=400)
    flash(done)
    return redirect(url_for(".session_page", slug=dialogue.slug, session_id=session_id))


def _overview(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    *,
    form: ScheduleForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    now = utc_now()
    return render_template(
        "staff/sessions/overview.html",
        dialogue=dialogue,
        sessions=[
            (item, rules.consultation_accepts_submissions(item, now)) for item in dialogue.sessions
        ],
        may_manage=rules.may_manage_sessions(reading(), signed_in.user, dialogue),
        form=form or ScheduleForm(formdata=None),
        places=list(SessionPlace),
        today=now.date(),
        scheduled=scheduled_deletions(reading(), dialogue, today=now.date()),
        error=error,
    ), status


def _hub(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    dialogue_session: DialogueSession,
    *,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    now = utc_now()
    return render_template(
        "staff/sessions/session.html",
        dialogue=dialogue,
        item=dialogue_session,
        accepting=rules.consultation_accepts_submissions(dialogue_session, now),
        deletion=next(
            (
                item
                for item in scheduled_deletions(reading(), dialogue, today=now.date())
                if item.dialogue_session.id == dialogue_session.id
            ),
            None,
        ),
        may_manage=rules.may_manage_sessions(reading(), signed_in.user, dialogue),
        may_brief=may_brief(reading(), signed_in.user, dialogue),
        may_debrief=may_debrief(reading(), signed_in.user, dialogue),
        may_open=SessionState.CONSULTATION_OPEN
        in rules.ALLOWED_TRANSITIONS[dialogue_session.state],
        may_record_held=SessionState.HELD in rules.ALLOWED_TRANSITIONS[dialogue_session.state],
        held_from_today=now.date() >= dialogue_session.date,
        latest_close=rules.latest_close(dialogue_session.date),
        # What was typed in the form that failed, to show it again in that form only.
        posted=request.endpoint if request.method == "POST" else None,
        typed_close=request.form.get("closes", "") if request.method == "POST" else "",
        error=error,
    ), status
