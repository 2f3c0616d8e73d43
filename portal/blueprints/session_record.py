"""A session's record page (under ``/staff/dialogues/<slug>/sessions/<id>/record``).

One page shows the record as it stands and holds every form that enters it: the day and place
the session was held; each agenda item, discussed or not, with the partner's reply; each case
and reprisal report on the agenda or the handover list, how it was raised and the partner's
reply; each seminar recommendation's response; and completing the record. Each form posts on
its own, so a refusal names one entry and leaves the others as they were; the page then shows
the refusal with a 400, the words typed kept in the form that failed.

The page is for the desk's members in a content role (anyone else: 403; an unknown dialogue, or
a session of another dialogue: 404); the entries are for its triage officers and co-chairs
(``record.may_record``: anyone else 403, whatever they post). Cases show "Person N" with this
round's consent, never names (``rounds.record_sheet``). Every rule lives in
``portal.services.rounds.record``; this module turns forms into its calls, one transaction per
post, committed whole or rolled back whole. A body over :data:`FORM_BODY_LIMIT` is refused with
413 before anything reads it; the CSRF token is then checked with the form, before any entry.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session

from portal.blueprints.session_record_forms import (
    ITEM_PREFIX,
    CaseRecordForm,
    CompleteForm,
    HeldForm,
    ItemRecordForm,
    RecommendationRecordForm,
)
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.models import (
    Dialogue,
    DialogueSession,
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    SessionPlace,
    utc_now,
)
from portal.services.desks.need_to_know import CONTENT_ROLES
from portal.services.rounds import record
from portal.services.rounds.record_sheet import record_sheet
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.web.lookups import (
    desk_dialogue_or_403,
    desk_submission_or_404,
    found_or_404,
    session_of_dialogue_or_404,
)
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("session_record", __name__, url_prefix="/staff/dialogues")

FormType = TypeVar("FormType", bound=FlaskForm)
Act = Callable[[Session, DialogueSession, Any, dt.datetime], None]

FORM_BODY_LIMIT = 12 * LONG_TEXT_LIMIT + 4096
"""The largest body a record form may post: one long text, each character percent-encoded at
its widest (four UTF-8 bytes, twelve characters), and the few short fields beside it."""

RECORD = "/<slug>/sessions/<int:session_id>/record"


@blueprint.record_once
def _check_csrf_after_the_limit(state: BlueprintSetupState) -> None:
    """Exempt these routes from ``CSRFProtect``'s early check, which would parse a body of any
    size before :func:`_limit_form_bodies` could refuse it; every post validates its form, and
    with it the CSRF token, before it does anything (``_act``)."""
    state.app.extensions["csrf"].exempt(blueprint)


@blueprint.before_request
def _limit_form_bodies() -> None:
    if request.method == "POST":
        request.max_content_length = FORM_BODY_LIMIT


@blueprint.get(RECORD)
@staff_required(CONTENT_ROLES)
def page(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The record as it stands, with the forms that enter it for those who may."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    return _page(signed_in, dialogue, session_of_dialogue_or_404(reading(), dialogue, session_id))


@blueprint.post(RECORD + "/held")
@staff_required(CONTENT_ROLES)
def held(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, form: HeldForm, now: dt.datetime) -> None:
        record.record_held(
            database,
            signed_in.user,
            found,
            held_on=form.held_on.data,
            place=SessionPlace(form.place.data),
            today=now.date(),
        )

    return _act(
        signed_in, slug, session_id, HeldForm, act, "held", _("The day and place are recorded.")
    )


@blueprint.post(RECORD + "/items/<int:item_id>")
@staff_required(CONTENT_ROLES)
def item(signed_in: SignedInStaff, slug: str, session_id: int, item_id: int) -> ResponseReturnValue:
    def act(
        database: Session, found: DialogueSession, form: ItemRecordForm, now: dt.datetime
    ) -> None:
        record.record_item(
            database,
            signed_in,
            found,
            found_or_404(record.agenda_item_of(database, found, item_id)),
            discussed=form.discussed.data == "yes",
            reply=form.reply.data or "",
            now=now,
        )

    return _act(
        signed_in,
        slug,
        session_id,
        ItemRecordForm,
        act,
        f"item-{item_id}",
        _("The agenda item is recorded."),
    )


@blueprint.post(RECORD + "/cases/<public_id>")
@staff_required(CONTENT_ROLES)
def case(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str
) -> ResponseReturnValue:
    def act(
        database: Session, found: DialogueSession, form: CaseRecordForm, now: dt.datetime
    ) -> None:
        submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
        chosen = form.how_and_item
        assert chosen is not None  # the form's own check refused anything else
        how, agenda_item_id = chosen
        record.record_case(
            database,
            signed_in,
            found,
            submission,
            how=how,
            agenda_item_id=agenda_item_id,
            reason=None if form.reason.data is None else NotRaisedReason(form.reason.data),
            reply=form.reply.data or "",
            now=now,
        )

    return _act(
        signed_in,
        slug,
        session_id,
        CaseRecordForm,
        act,
        f"case-{public_id}",
        _("The case is recorded."),
    )


@blueprint.post(RECORD + "/recommendations/<public_id>/<int:index>")
@staff_required(CONTENT_ROLES)
def recommendation(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str, index: int
) -> ResponseReturnValue:
    def act(
        database: Session,
        found: DialogueSession,
        form: RecommendationRecordForm,
        now: dt.datetime,
    ) -> None:
        submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
        record.record_recommendation(
            database,
            signed_in,
            found,
            submission,
            index,
            outcome=RecommendationOutcome(form.outcome.data),
            reason=None if form.reason.data is None else NotTakenUpReason(form.reason.data),
            note=form.note.data or "",
            now=now,
        )

    return _act(
        signed_in,
        slug,
        session_id,
        RecommendationRecordForm,
        act,
        f"recommendation-{public_id}-{index}",
        _("The response to the recommendation is recorded."),
    )


@blueprint.post(RECORD + "/complete")
@staff_required(CONTENT_ROLES)
def complete(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    def act(
        database: Session, found: DialogueSession, _form: CompleteForm, now: dt.datetime
    ) -> None:
        record.complete_record(database, signed_in, found, now=now)

    return _act(
        signed_in,
        slug,
        session_id,
        CompleteForm,
        act,
        "complete",
        _("The record is complete. It can still be corrected; each correction is recorded."),
    )


def _act(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    form_type: type[FormType],
    act: Act,
    anchor: str,
    done: str,
) -> ResponseReturnValue:
    """The shape of every entry: who may, then the form, then the rule, in one transaction."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    found = session_of_dialogue_or_404(reading(), dialogue, session_id)
    if not record.may_record(reading(), signed_in.user, dialogue):
        abort(403)
    form = form_type()
    if not form.validate():
        return _page(signed_in, dialogue, found, error=first_error(form), failed=anchor, status=400)
    try:
        with unit_of_work() as database:
            act(database, found, form, utc_now())
    except record.RecordForbiddenError:
        abort(403)
    except record.RecordRefusedError as refusal:
        reloaded = session_of_dialogue_or_404(reading(), dialogue, session_id)
        return _page(
            signed_in, dialogue, reloaded, error=refusal_text(refusal), failed=anchor, status=400
        )
    flash(done)
    return redirect(url_for(".page", slug=dialogue.slug, session_id=session_id, _anchor=anchor))


def _page(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    dialogue_session: DialogueSession,
    *,
    error: str | None = None,
    failed: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The page, after opening what it shows for this reader (the reads are committed)."""
    now = utc_now()
    with unit_of_work() as database:
        sheet = record_sheet(database, signed_in, dialogue_session, now=now)
        body = render_template(
            "staff/sessions/record.html",
            dialogue=dialogue,
            item=dialogue_session,
            sheet=sheet,
            held=record.held_day_recorded(dialogue_session),
            may_record=record.may_record(database, signed_in.user, dialogue),
            places=list(SessionPlace),
            not_raised_reasons=list(NotRaisedReason),
            outcomes=list(RecommendationOutcome),
            not_taken_up_reasons=list(NotTakenUpReason),
            handover_list=HowRaised.HANDOVER_LIST,
            not_raised=HowRaised.NOT_RAISED,
            item_prefix=ITEM_PREFIX,
            today=now.date(),
            error=error,
            failed=failed,
            typed=request.form if failed else {},
        )
    return body, status
