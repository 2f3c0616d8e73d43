"""The briefing pack of a session, for the desk's triage officers and co-chairs (under ``/staff``).

``GET /staff/dialogues/<slug>/sessions/<id>/briefing`` (``briefing.pack``) shows the pack with a
form per item and per case to write or replace the desk's briefing point; the forms post to
``.../briefing/items/<item_id>`` and ``.../briefing/cases/<public_id>``. ``.../briefing/print``
is the same pack as a clean document for printing, and ``POST .../briefing/bundle`` downloads it
sealed for an offline machine (``portal decrypt``). The rules -- who, what each person allows this
round, what is audited -- are ``portal.services.rounds.briefing``'s: every page, print and bundle
is one ``briefing.read`` event, and every case opened one ``submission.read``.

Anyone who is not a triage officer or co-chair on the dialogue's desk is answered 403 (an
administrator made a member too); an unknown dialogue, session, item or case 404. A point too
long, or a writer without the current desk key, is answered 400 with the pack and the words
typed, and nothing stored. The bundle is built in an anonymous temporary file, like the export.
"""

import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import BriefingPointForm
from portal.i18n import refusal_text
from portal.models import DialogueSession, utc_now
from portal.services.bundles.briefing_bundle import write_briefing_bundle
from portal.services.bundles.manifest import BundleError
from portal.services.desks.need_to_know import BRIEFING_ROLES
from portal.services.rounds import briefing
from portal.services.rounds.briefing import BriefingPack, BriefingUse
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.instance import app_settings
from portal.web.lookups import desk_dialogue_or_403, session_of_dialogue_or_404
from portal.web.transaction import unit_of_work

blueprint = Blueprint(
    "briefing", __name__, url_prefix="/staff/dialogues/<slug>/sessions/<int:session_id>/briefing"
)
PRINT_STYLESHEET = Path("css") / "briefing-print.css"


@blueprint.get("")
@staff_required(BRIEFING_ROLES)
def pack(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    return _pack_page(signed_in, slug, session_id)


@blueprint.post("/items/<int:item_id>")
@staff_required(BRIEFING_ROLES)
def item_point(
    signed_in: SignedInStaff, slug: str, session_id: int, item_id: int
) -> ResponseReturnValue:
    return _write(signed_in, slug, session_id, item_id=item_id)


@blueprint.post("/cases/<public_id>")
@staff_required(BRIEFING_ROLES)
def case_point(
    signed_in: SignedInStaff, slug: str, session_id: int, public_id: str
) -> ResponseReturnValue:
    return _write(signed_in, slug, session_id, case_public_id=public_id)


@blueprint.get("/print")
@staff_required(BRIEFING_ROLES)
def print_view(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    with unit_of_work() as database:
        dialogue_session = _session(database, signed_in, slug, session_id)
        built = briefing.build_pack(
            database, signed_in, dialogue_session, use=BriefingUse.PRINT, now=utc_now()
        )
    return render_template("staff/briefing/document.html", pack=built, embedded_css=None)


@blueprint.post("/bundle")
@staff_required(BRIEFING_ROLES)
def bundle(signed_in: SignedInStaff, slug: str, session_id: int) -> ResponseReturnValue:
    now = utc_now()
    # Closed by the response once sent, or below on failure.
    out = tempfile.TemporaryFile(dir=app_settings().instance_dir)  # noqa: SIM115
    try:
        with unit_of_work() as database:
            dialogue_session = _session(database, signed_in, slug, session_id)
            built = briefing.build_pack(
                database, signed_in, dialogue_session, use=BriefingUse.BUNDLE, now=now
            )
            write_briefing_bundle(
                database,
                signed_in,
                dialogue_session,
                out,
                document=_document(built),
                pack=briefing.pack_as_json(built),
                today=now.date(),
            )
    except BundleError as error:
        out.close()
        return _pack_page(signed_in, slug, session_id, error=refusal_text(error), status=400)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return send_file(
        out,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"parley-briefing-{slug}-session-{session_id}-{now.date().isoformat()}.zip",
        max_age=0,
    )


def _write(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    *,
    item_id: int | None = None,
    case_public_id: str | None = None,
) -> ResponseReturnValue:
    """Write one point in its own transaction: stored whole, or not at all."""
    form = BriefingPointForm()
    text = form.text.data or ""
    try:
        with unit_of_work() as database:
            dialogue_session = _session(database, signed_in, slug, session_id)
            if not form.validate():
                raise briefing.BriefingRefusedError(" ".join(form.text.errors) or _("Try again."))
            briefing.write_point(
                database,
                signed_in,
                dialogue_session,
                text,
                item_id=item_id,
                case_public_id=case_public_id,
                now=utc_now(),
            )
    except briefing.BriefingForbiddenError:
        abort(403)
    except LookupError:
        abort(404)
    except briefing.BriefingRefusedError as refusal:
        typed = {"item": item_id, "case": case_public_id, "text": text}
        return _pack_page(
            signed_in, slug, session_id, error=refusal_text(refusal), typed=typed, status=400
        )
    anchor = f"item-{item_id}" if item_id is not None else f"case-{case_public_id}"
    return redirect(url_for(".pack", slug=slug, session_id=session_id, _anchor=anchor))


def _pack_page(
    signed_in: SignedInStaff,
    slug: str,
    session_id: int,
    *,
    error: str | None = None,
    typed: dict[str, object] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    with unit_of_work() as database:
        dialogue_session = _session(database, signed_in, slug, session_id)
        built = briefing.build_pack(
            database, signed_in, dialogue_session, use=BriefingUse.PAGE, now=utc_now()
        )
        page = render_template(
            "staff/briefing/pack.html",
            pack=built,
            dialogue=dialogue_session.dialogue,
            error=error,
            typed=typed or {},
        )
    return page, status


def _session(
    database: Session, signed_in: SignedInStaff, slug: str, session_id: int
) -> DialogueSession:
    """The session, once the person may brief on its dialogue's desk; 404 or 403 if not."""
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    try:
        briefing.require_briefer(database, signed_in.user, dialogue)
    except briefing.BriefingForbiddenError:
        abort(403)
    return session_of_dialogue_or_404(database, dialogue, session_id)


def _document(built: BriefingPack) -> str:
    """The printable document with its stylesheet inside, for a file read offline."""
    css = (Path(current_app.static_folder or "") / PRINT_STYLESHEET).read_text(encoding="utf-8")
    return render_template("staff/briefing/document.html", pack=built, embedded_css=css)
