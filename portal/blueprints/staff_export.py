"""Encrypted bundles of a dialogue's submissions for offline review (under ``/staff``).

``GET /staff/dialogues/<slug>/export`` (``staff_export.export_form``) shows what a bundle is and
a button; ``POST`` to the same address downloads it. Both are for members of the dialogue's desk
only (``need_to_know.is_desk_member``): anyone else gets 403, an unknown dialogue 404. Triage
pages link here, in online and in offline review alike.

The bundle (``portal.services.bundles``) holds only ciphertext: nothing is decrypted to make it.
A member's bundle leaves out the high-risk submissions restricted to named members on which they
are not named (and hold no live emergency access), so the web export never widens need-to-know.

The ZIP is built in an anonymous temporary file in the instance folder (``tempfile.
TemporaryFile``: unlinked at once, so it has no name and disappears when closed, however the
download ends) and streamed from there in chunks, so memory stays bounded whatever the size.
The audit event ``bundle.exported`` is committed before the first byte is sent.
"""

import tempfile

from flask import Blueprint, abort, render_template, send_file
from flask.typing import ResponseReturnValue

from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import ExportForm
from portal.i18n import refusal_text
from portal.models import Dialogue, RiskLevel, Submission, utc_now
from portal.services.bundles.export import write_bundle
from portal.services.bundles.manifest import BundleError
from portal.services.desks import need_to_know
from portal.services.staff.identities import holds_names_grant
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.instance import app_settings, app_storage
from portal.web.lookups import desk_dialogue_or_403
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("staff_export", __name__, url_prefix="/staff")


@blueprint.get("/dialogues/<slug>/export")
@staff_required()
def export_form(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    return render_template("staff/export/export.html", dialogue=dialogue, error=None)


@blueprint.post("/dialogues/<slug>/export")
@staff_required()
def export(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    session_id = _session_choice(dialogue)
    settings = app_settings()
    now = utc_now()
    user = signed_in.user
    # Closed by the response once sent, or below on failure.
    bundle = tempfile.TemporaryFile(dir=settings.instance_dir)  # noqa: SIM115
    try:
        with unit_of_work() as database:

            def include(submission: Submission) -> bool:
                if submission.risk_level is not RiskLevel.HIGH:
                    return True
                access = need_to_know.submission_access(database, user, submission, now=now)
                return access is need_to_know.Access.READ

            summary = write_bundle(
                database,
                app_storage(),
                dialogue,
                bundle,
                today=now.date(),
                session_id=session_id,
                include=include,
                include_names=lambda submission: holds_names_grant(
                    database, user, submission, now=now
                ),
                actor=user,
                via="web",
            )
    except BundleError as error:
        bundle.close()
        return render_template(
            "staff/export/export.html", dialogue=dialogue, error=refusal_text(error)
        ), 400
    except BaseException:
        bundle.close()
        raise
    bundle.seek(0)
    suffix = "" if summary.session_id is None else f"-session-{summary.session_id}"
    return send_file(
        bundle,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"parley-bundle-{dialogue.slug}{suffix}-{now.date().isoformat()}.zip",
        max_age=0,
    )


def _session_choice(dialogue: Dialogue) -> int | None:
    """The session chosen in the form: empty for all, else one of this dialogue's sessions."""
    form = ExportForm()
    if not form.validate():
        abort(400)
    chosen = form.session.data
    if chosen is not None and chosen not in {item.id for item in dialogue.sessions}:
        abort(400)
    return chosen
