"""The desk's page for a session's public summary (under ``/staff/dialogues/<slug>/sessions/
<id>/public-summary``): write the press statement, publish it, take it off.

The rules are ``reporting.public_summary``'s: the desk's triage officers and co-chairs write and
publish (anyone else 403, whatever they post; an unknown dialogue or session 404); publishing
waits until the session has been held. A refusal is rolled back whole and the page says why
(400). The public session page (``blueprints.public``) shows what is published.
"""

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired

from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.models import DialogueSession, StatementSource, utc_now
from portal.services.dialogues.dialogue_sessions import has_been_held
from portal.services.reporting import public_summary as rules
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import dialogue_or_404, session_of_dialogue_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint(
    "public_summary",
    __name__,
    url_prefix="/staff/dialogues/<slug>/sessions/<int:session_id>/public-summary",
)


class SummaryForm(FlaskForm):
    """Whose statement it is and its words (the service checks the length)."""

    source = StringField(
        validators=[
            InputRequired(lazy_gettext("Say whose statement it is.")),
            AnyOf(
                [source.value for source in StatementSource],
                lazy_gettext("Say whose statement it is."),
            ),
        ]
    )
    statement = TextAreaField()


@blueprint.get("")
@staff_required()
def page(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """The summary as it stands, with its form."""
    return _page(_writable_session(signed_in, slug, session_id))


@blueprint.post("")
@staff_required()
def write(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Write or rewrite the statement."""
    dialogue_session = _writable_session(signed_in, slug, session_id)
    form = SummaryForm()
    if not form.validate():
        return _page(dialogue_session, refusal=first_error(form), form=form, status=400)
    return _act(
        signed_in,
        dialogue_session,
        lambda database, found: rules.write_summary(
            database,
            signed_in.user,
            found,
            source=StatementSource(form.source.data),
            statement=form.statement.data or "",
            now=utc_now(),
        ),
        _("The statement is saved."),
        form=form,
    )


@blueprint.post("/publish")
@staff_required()
def publish(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Show the summary on the public session page."""
    return _set_published(signed_in, slug, session_id, published=True)


@blueprint.post("/unpublish")
@staff_required()
def unpublish(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    """Take the summary off the public session page."""
    return _set_published(signed_in, slug, session_id, published=False)


def _set_published(
    signed_in: SignedInStaff, slug: str, session_id: int, *, published: bool
) -> ResponseReturnValue:
    dialogue_session = _writable_session(signed_in, slug, session_id)
    return _act(
        signed_in,
        dialogue_session,
        lambda database, found: rules.set_published(
            database, signed_in.user, found, published=published, now=utc_now()
        ),
        _("The summary is on the public session page.")
        if published
        else _("The summary is off the public session page."),
    )


def _act(
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    act: Callable[[Session, DialogueSession], object],
    done: str,
    *,
    form: SummaryForm | None = None,
) -> ResponseReturnValue:
    try:
        with unit_of_work() as database:
            act(database, database.get(DialogueSession, dialogue_session.id))
    except rules.SummaryForbiddenError:
        abort(403)
    except rules.SummaryRefusedError as refusal:
        return _page(dialogue_session, refusal=refusal_text(refusal), form=form, status=400)
    flash(done)
    return redirect(
        url_for(".page", slug=dialogue_session.dialogue.slug, session_id=dialogue_session.id)
    )


def _writable_session(signed_in: SignedInStaff, slug: str, session_id: int) -> DialogueSession:
    database = reading()
    dialogue = dialogue_or_404(database, slug)
    dialogue_session = session_of_dialogue_or_404(database, dialogue, session_id)
    if not rules.may_write_summary(database, signed_in.user, dialogue_session):
        abort(403)
    return dialogue_session


def _page(
    dialogue_session: DialogueSession,
    *,
    refusal: str | None = None,
    form: SummaryForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    database = reading()
    summary = rules.summary_of(database, dialogue_session)
    return (
        render_template(
            "staff/reports/public_summary.html",
            dialogue=dialogue_session.dialogue,
            dialogue_session=dialogue_session,
            summary=summary,
            themes=rules.discussed_themes(database, dialogue_session),
            held=has_been_held(dialogue_session),
            sources=list(StatementSource),
            typed_source=form.source.data if form else None,
            typed_statement=form.statement.data if form else None,
            refusal=refusal,
        ),
        status,
    )
