"""The handover list of a session (under ``/staff``): proposing, approving, freezing, printing
and exporting it. Every rule is in ``portal.services.rounds.handover`` (and what a reader may
see of it in ``handover_sheet``); this module turns requests into calls and answers into pages.

- ``POST /staff/submissions/<public_id>/handover`` (``handover.propose``): a triage officer
  proposes a case, from its page, for the list of the session chosen there;
- ``GET .../sessions/<id>/handover`` (``handover.handover_list``): proposals awaiting approval,
  approved entries, entries that left with the reason, and the freeze form; metadata only;
- ``POST .../handover/<entry>/approve`` and ``.../reject``, ``.../handover/freeze`` and
  ``.../unfreeze``: the co-chairs' decisions;
- ``GET .../handover/print``: the clean printable sheet (``css/handover-print.css``);
- ``GET .../handover/export``: the same sheet as a plain-text download (UTF-8, one file a
  delegation reads and prints on any machine, offline), only for a frozen list, audited; it
  carries days, never times.

Every page is for content-role members of the dialogue's desk (observers and everyone else get
403). A decision refused for its rule is rolled back and answered 400 with the reason; one the
person may not take is answered 403 with the reason. Before a decision, entries whose risk
assessment lapsed are stored as left in their own transaction, so that the refusal that may
follow does not undo it.
"""

import datetime as dt
from collections.abc import Callable

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import HandoverProposalForm
from portal.i18n import refusal_text
from portal.models import Dialogue, DialogueSession, HandoverEntry, StaffRole, utc_now
from portal.services.desks import need_to_know
from portal.services.dialogues.dialogue_sessions import has_been_held
from portal.services.rounds import handover, handover_sheet
from portal.services.staff.reading import ReadRefusedError, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import desk_dialogue_or_403, desk_submission_or_404, found_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("handover", __name__, url_prefix="/staff")

CONTENT_ROLES = need_to_know.CONTENT_ROLES
LIST = "/dialogues/<slug>/sessions/<int:session_id>/handover"


# --- proposing, from the case's page ----------------------------------------------------------


@blueprint.post("/submissions/<public_id>/handover")
@staff_required(CONTENT_ROLES)
def propose(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """Propose the case for the list of the session chosen on its page."""
    found = desk_submission_or_404(reading(), signed_in, public_id)
    back = url_for("staff.submission", public_id=public_id, _anchor="handover")
    now = utc_now()
    try:
        handover.require_proposer(reading(), signed_in.user, found, now=now)
    except handover.HandoverForbiddenError:
        abort(403)
    form = HandoverProposalForm()
    chosen = reading().get(DialogueSession, form.session.data) if form.validate() else None
    if chosen is None or chosen.dialogue_id != found.dialogue_id:
        return _refused(_("Choose the session whose list the case is proposed for."), back, 400)
    with unit_of_work() as database:
        handover.settle(database, signed_in.user, found, now=now)
    try:
        with unit_of_work() as database:
            # The case's row is locked, so that two decisions on it never interleave.
            desk_submission_or_404(database, signed_in, public_id, for_update=True)
            opened = open_submission_for_staff(database, signed_in, found, now=now)
            handover.propose(database, signed_in.user, found, opened, chosen, now=now)
    except ReadRefusedError:
        abort(403)
    except handover.HandoverRefusedError as refusal:
        return _refused(refusal_text(refusal), back, 400)
    return redirect(back)


# --- the list and the co-chairs' decisions ---------------------------------------------------


@blueprint.get(LIST)
@staff_required(CONTENT_ROLES)
def handover_list(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    dialogue, dialogue_session = _session_or_404(signed_in, slug, session_id)
    return _list_page(signed_in, dialogue, dialogue_session)


@blueprint.post(LIST + "/<int:entry_id>/approve")
@staff_required(CONTENT_ROLES)
def approve(
    signed_in: SignedInStaff, slug: str, session_id: int, entry_id: int
) -> ResponseReturnValue:
    def act(database: Session, entry: HandoverEntry, now: dt.datetime) -> None:
        handover.require_approver(database, signed_in.user, entry, now=now)
        opened = open_submission_for_staff(database, signed_in, entry.submission, now=now)
        handover.approve(database, signed_in.user, entry, opened, now=now)

    return _decide_entry(signed_in, slug, session_id, entry_id, act)


@blueprint.post(LIST + "/<int:entry_id>/reject")
@staff_required(CONTENT_ROLES)
def reject(
    signed_in: SignedInStaff, slug: str, session_id: int, entry_id: int
) -> ResponseReturnValue:
    return _decide_entry(
        signed_in,
        slug,
        session_id,
        entry_id,
        lambda database, entry, now: handover.reject(database, signed_in.user, entry, now=now),
    )


@blueprint.post(LIST + "/freeze")
@staff_required(CONTENT_ROLES)
def freeze(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    return _decide_list(signed_in, slug, session_id, handover.freeze)


@blueprint.post(LIST + "/unfreeze")
@staff_required(CONTENT_ROLES)
def unfreeze(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    return _decide_list(signed_in, slug, session_id, handover.unfreeze)


# --- the sheet: printed and exported ----------------------------------------------------------


@blueprint.get(LIST + "/print")
@staff_required(CONTENT_ROLES)
def print_list(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The list as a clean document for the printer: one read per case on it, audited."""
    dialogue, dialogue_session = _session_or_404(signed_in, slug, session_id)
    now = utc_now()
    with unit_of_work() as database:
        listed = handover_sheet.handover_list(database, dialogue_session, today=now.date())
        cases = handover_sheet.sheet(database, signed_in, listed, now=now)
        return render_template(
            "staff/handover/print.html",
            dialogue=dialogue,
            listed=listed,
            cases=cases,
            today=now.date(),
        )


@blueprint.get(LIST + "/export")
@staff_required(CONTENT_ROLES)
def export(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The frozen list as a plain-text file for the meeting; refused (400) for a list that is
    not frozen. The export and each case's read are on record before the file is sent."""
    dialogue, dialogue_session = _session_or_404(signed_in, slug, session_id)
    now = utc_now()
    try:
        with unit_of_work() as database:
            listed = handover_sheet.handover_list(database, dialogue_session, today=now.date())
            handover_sheet.record_export(database, signed_in.user, listed, now=now)
            cases = handover_sheet.sheet(database, signed_in, listed, now=now)
            text = render_template(
                "staff/handover/export.txt",
                dialogue=dialogue,
                listed=listed,
                cases=cases,
                today=now.date(),
            )
    except handover.HandoverRefusedError as refusal:
        return _list_page(
            signed_in, dialogue, dialogue_session, refusal=refusal_text(refusal), status=400
        )
    response = Response(text, mimetype="text/plain")
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=f"handover-list-{dialogue.slug}-{dialogue_session.date.isoformat()}.txt",
    )
    return response


# --- helpers -----------------------------------------------------------------------------------


def _session_or_404(
    signed_in: SignedInStaff, slug: str, session_id: int
) -> tuple[Dialogue, DialogueSession]:
    """The dialogue (its desk's members only: 403 for others) and its session ``session_id``."""
    database = reading()
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    dialogue_session = found_or_404(database.get(DialogueSession, session_id))
    if dialogue_session.dialogue_id != dialogue.id:
        abort(404)
    return dialogue, dialogue_session


def _list_page(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    dialogue_session: DialogueSession,
    *,
    refusal: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    database = reading()
    today = utc_now().date()
    user = signed_in.user
    body = render_template(
        "staff/handover/list.html",
        dialogue=dialogue,
        listed=handover_sheet.handover_list(database, dialogue_session, today=today),
        held=has_been_held(dialogue_session),
        is_co_chair=user.role is StaffRole.CO_CHAIR,
        user_id=user.id,
        refusal=refusal,
    )
    return body, status


def _decide_entry(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    entry_id: int,
    act: Callable[[Session, HandoverEntry, dt.datetime], None],
) -> ResponseReturnValue:
    dialogue, dialogue_session = _session_or_404(signed_in, slug, session_id)
    entry = found_or_404(handover.entry_of(reading(), dialogue_session, entry_id))
    now = utc_now()
    with unit_of_work() as database:
        handover.settle(database, signed_in.user, entry.submission, now=now)

    def locked(database: Session) -> None:
        # The case's row is locked, so that two decisions on it never interleave.
        desk_submission_or_404(database, signed_in, entry.submission.public_id, for_update=True)
        act(database, entry, now)

    return _decided(signed_in, dialogue, dialogue_session, locked)


def _decide_list(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    act: Callable[..., None],
) -> ResponseReturnValue:
    dialogue, dialogue_session = _session_or_404(signed_in, slug, session_id)
    return _decided(
        signed_in,
        dialogue,
        dialogue_session,
        lambda database: act(database, signed_in.user, dialogue_session, now=utc_now()),
    )


def _decided(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    dialogue_session: DialogueSession,
    act: Callable[[Session], None],
) -> ResponseReturnValue:
    """Run one decision in its own transaction: committed whole, or rolled back with the page
    saying why (403 for a person who may not, 400 for a rule)."""
    try:
        with unit_of_work() as database:
            act(database)
    except (handover.HandoverForbiddenError, ReadRefusedError) as refusal:
        words = (
            refusal_text(refusal)
            if isinstance(refusal, handover.HandoverForbiddenError)
            else _("You cannot read this case, so you cannot decide on it.")
        )
        return _list_page(signed_in, dialogue, dialogue_session, refusal=words, status=403)
    except handover.HandoverRefusedError as refusal:
        return _list_page(
            signed_in, dialogue, dialogue_session, refusal=refusal_text(refusal), status=400
        )
    return redirect(url_for(".handover_list", slug=dialogue.slug, session_id=dialogue_session.id))


def _refused(refusal: str, back: str, status: int) -> ResponseReturnValue:
    return render_template("staff/handover/refused.html", refusal=refusal, back=back), status
