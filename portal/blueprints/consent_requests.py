"""Consent asked again for a new round, from the desk (under ``/staff/dialogues``).

``GET /staff/dialogues/<slug>/sessions/<id>/consent-requests`` shows, for each session of the
dialogue, how many submitters were asked to confirm consent again and how many have answered:
counts only, never which submission or what was confirmed. ``POST`` to the same address asks
again for that session, as opening its consultation does (``rounds.consent_requests.ask_again``):
useful when a case was taken up after the consultation opened. Asking twice adds nothing.

The page is for the dialogue's desk members (``need_to_know.is_desk_member``: content roles on
the desk) and is linked from the session's hub; asking is for those who run the desk's sessions,
its co-chairs and triage officers (``dialogue_sessions.may_manage_sessions``), and only for a
session not yet held. An unknown dialogue, or a session of another dialogue, is 404; anyone else
403.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.blueprints.staff_access import staff_required
from portal.models import Dialogue, DialogueSession, utc_now
from portal.services.dialogues.dialogue_sessions import has_been_held, may_manage_sessions
from portal.services.rounds.consent_requests import (
    RoundAlreadyHeldError,
    ask_again,
    counts_by_session,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import desk_dialogue_or_403, session_of_dialogue_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("consent_requests", __name__, url_prefix="/staff/dialogues")


@blueprint.get("/<slug>/sessions/<int:session_id>/consent-requests")
@staff_required()
def requests_page(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    dialogue, dialogue_session = _desk_session(signed_in, slug, session_id)
    return _render(signed_in, dialogue, dialogue_session)


@blueprint.post("/<slug>/sessions/<int:session_id>/consent-requests")
@staff_required()
def ask(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Ask the submitters of cases taken up before this round to confirm consent again."""
    dialogue, dialogue_session = _desk_session(signed_in, slug, session_id)
    if not may_manage_sessions(reading(), signed_in.user, dialogue):
        abort(403)
    try:
        with unit_of_work() as database:
            made = ask_again(
                database, dialogue_session, today=utc_now().date(), actor=signed_in.user
            )
    except RoundAlreadyHeldError:
        error = _("This session has been held: it is too late to ask for consent for it.")
        return _render(signed_in, dialogue, dialogue_session, error=error, status=400)
    if made:
        flash(
            ngettext(
                "%(num)s submitter was asked to confirm consent for this session.",
                "%(num)s submitters were asked to confirm consent for this session.",
                made,
            )
        )
    else:
        flash(_("Nobody new to ask: every case taken up before has been asked already."))
    return redirect(url_for(".requests_page", slug=dialogue.slug, session_id=dialogue_session.id))


def _desk_session(
    signed_in: SignedInStaff, slug: str, session_id: int
) -> tuple[Dialogue, DialogueSession]:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    return dialogue, session_of_dialogue_or_404(reading(), dialogue, session_id)


def _render(
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    dialogue_session: DialogueSession,
    *,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "staff/rounds/consent_requests.html",
            dialogue=dialogue,
            chosen=dialogue_session,
            counts=counts_by_session(reading(), dialogue.id),
            held=has_been_held(dialogue_session),
            may_ask=may_manage_sessions(reading(), signed_in.user, dialogue),
            error=error,
        ),
        status,
    )
