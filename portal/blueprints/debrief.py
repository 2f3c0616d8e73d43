"""A session's debrief page (under ``/staff/dialogues/<slug>/sessions/<id>/debrief``).

One page shows the debrief as it stands and holds every form of it: the general debrief
(Markdown, previewed as it will read before it is saved), each contributor with where their
debrief stands (outstanding, notice sent on a day, or withheld with the reason), the desk's own
words to each, a preview of exactly the notice each outstanding contributor would receive,
"send to all outstanding" with its result, the reason for no notice (and undoing it), and, once
every contributor has a notice or a reason, recording the session as debriefed
(``dialogue_sessions.advance_session``, the one home of session stages).

For the desk members who may debrief (``need_to_know.may_debrief``: its triage officers and
co-chairs); anyone else is answered 403, an unknown dialogue, session or submission 404. Every
rule lives in ``portal.services.rounds.debrief``; this module turns forms into its calls, one
transaction per post, committed whole or rolled back whole, and a refusal is answered 400 with
the page and the words typed. The notices' words come from the template
``staff/debrief/notice.html``, the one place they are worded.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from sqlalchemy.orm import Session

from portal.blueprints.debrief_forms import (
    PREVIEW,
    ConfirmForm,
    DeskWordsForm,
    GeneralDebriefForm,
    WithholdForm,
)
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.models import DebriefWithheldReason, DialogueSession, SessionState, utc_now
from portal.services.desks.need_to_know import MESSAGE_ROLES
from portal.services.dialogues import dialogue_sessions
from portal.services.rounds import debrief
from portal.services.rounds.debrief import NoticeContent
from portal.services.rounds.staff_markdown import render
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import (
    desk_dialogue_or_403,
    desk_submission_or_404,
    session_of_dialogue_or_404,
)
from portal.web.transaction import unit_of_work

blueprint = Blueprint(
    "debrief", __name__, url_prefix="/staff/dialogues/<slug>/sessions/<int:session_id>/debrief"
)

Act = Callable[[Session, DialogueSession, Any, dt.datetime], str]


def notice_words(content: NoticeContent) -> str:
    """One contributor's notice in words: the template with its translatable labels."""
    return render_template("staff/debrief/notice.html", notice=content)


@blueprint.get("")
@staff_required(MESSAGE_ROLES)
def page(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    return _page(signed_in, slug, session_id)


@blueprint.post("/general")
@staff_required(MESSAGE_ROLES)
def general(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    form = GeneralDebriefForm()
    if form.validate() and form.action.data == PREVIEW:
        # Shown as it will read, stored nowhere.
        typed = {"general": form.text.data or ""}
        return _page(signed_in, slug, session_id, typed=typed, preview=render(typed["general"]))

    def act(database: Session, found: DialogueSession, form: Any, now: dt.datetime) -> str:
        debrief.write_general(database, signed_in, found, form.text.data or "", now=now)
        return _("The general debrief is saved.")

    return _act(signed_in, slug, session_id, form, act, "general", {"general": form.text.data})


@blueprint.post("/words/<public_id>")
@staff_required(MESSAGE_ROLES)
def words(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str
) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, form: Any, now: dt.datetime) -> str:
        submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
        debrief.write_words(database, signed_in, found, submission, form.text.data or "", now=now)
        return _("Your words to this contributor are saved.")

    form = DeskWordsForm()
    return _act(
        signed_in,
        slug,
        session_id,
        form,
        act,
        f"contributor-{public_id}",
        {public_id: form.text.data},
    )


@blueprint.post("/send")
@staff_required(MESSAGE_ROLES)
def send(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, _form: Any, now: dt.datetime) -> str:
        result = debrief.send_debrief(database, signed_in, found, notice_words, now=now)
        done = ngettext("%(num)d notice sent.", "%(num)d notices sent.", len(result.sent))
        if not result.not_readable:
            return done
        references = ", ".join(item.public_id[:8] for item in result.not_readable)
        return (
            done
            + " "
            + _(
                "Not sent, because you cannot open them (a desk member who can sends each): "
                "%(references)s.",
                references=references,
            )
        )

    return _act(signed_in, slug, session_id, ConfirmForm(), act, "contributors")


@blueprint.post("/withhold/<public_id>")
@staff_required(MESSAGE_ROLES)
def withhold(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str
) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, form: Any, now: dt.datetime) -> str:
        submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
        reason = DebriefWithheldReason(form.reason.data)
        debrief.withhold(database, signed_in.user, found, submission, reason, now=now)
        return _("The reason is recorded; no notice goes to this contributor.")

    return _act(signed_in, slug, session_id, WithholdForm(), act, f"contributor-{public_id}")


@blueprint.post("/withhold/<public_id>/undo")
@staff_required(MESSAGE_ROLES)
def undo_withhold(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str
) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, _form: Any, now: dt.datetime) -> str:
        submission = desk_submission_or_404(database, signed_in, public_id, for_update=True)
        debrief.undo_withhold(database, signed_in.user, found, submission, now=now)
        return _("The reason is taken back; the contributor is outstanding again.")

    return _act(signed_in, slug, session_id, ConfirmForm(), act, f"contributor-{public_id}")


@blueprint.post("/debriefed")
@staff_required(MESSAGE_ROLES)
def debriefed(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    def act(database: Session, found: DialogueSession, _form: Any, now: dt.datetime) -> str:
        try:
            dialogue_sessions.advance_session(
                database, found, SessionState.DEBRIEFED, today=now.date(), actor=signed_in.user
            )
        except dialogue_sessions.SessionChangeRefusedError as refusal:
            raise debrief.DebriefRefusedError(refusal_text(refusal)) from None
        except dialogue_sessions.SessionChangeForbiddenError:
            raise debrief.DebriefForbiddenError() from None
        return _("The session is recorded as debriefed.")

    return _act(signed_in, slug, session_id, ConfirmForm(), act, "debriefed")


def _act(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    form: Any,
    act: Act,
    anchor: str,
    typed: dict[str, Any] | None = None,
) -> ResponseReturnValue:
    """The shape of every post: who may, then the form, then the rule, in one transaction."""
    with unit_of_work() as database:
        found = _session(database, signed_in, slug, session_id)
    if not form.validate():
        return _page(signed_in, slug, session_id, error=first_error(form), typed=typed, status=400)
    try:
        with unit_of_work() as database:
            done = act(database, found, form, utc_now())
    except debrief.DebriefForbiddenError:
        abort(403)
    except debrief.DebriefRefusedError as refusal:
        return _page(
            signed_in, slug, session_id, error=refusal_text(refusal), typed=typed, status=400
        )
    flash(done)
    return redirect(url_for(".page", slug=slug, session_id=session_id, _anchor=anchor))


def _page(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    *,
    error: str | None = None,
    typed: dict[str, Any] | None = None,
    preview: Markup | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The page, after opening what it shows for this reader (the reads are committed)."""
    now = utc_now()
    with unit_of_work() as database:
        dialogue_session = _session(database, signed_in, slug, session_id)
        sheet = debrief.debrief_sheet(database, signed_in, dialogue_session, notice_words, now=now)
        body = render_template(
            "staff/debrief/page.html",
            dialogue=dialogue_session.dialogue,
            item=dialogue_session,
            sheet=sheet,
            held=dialogue_sessions.has_been_held(dialogue_session),
            reasons=list(DebriefWithheldReason),
            error=error,
            typed=typed or {},
            preview=preview,
        )
    return body, status


def _session(
    database: Session, signed_in: SignedInStaff, slug: str, session_id: int
) -> DialogueSession:
    """The session, once the person may debrief on its dialogue's desk; 404 or 403 if not."""
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    try:
        debrief.require_debriefer(database, signed_in.user, dialogue)
    except debrief.DebriefForbiddenError:
        abort(403)
    return session_of_dialogue_or_404(database, dialogue, session_id)
