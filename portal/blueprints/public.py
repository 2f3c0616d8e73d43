"""Public pages: what dialogues exist, their sessions, and when civil society can write in.

Nothing here needs JavaScript or a cookie, and nothing here reads more than the plaintext
metadata of dialogues and sessions, the public half of desk keys, and a session's public summary
once the desk has published it.

A session page links to each submission form once the form's route exists, under the endpoint
named in :data:`FORM_ENDPOINTS` (session forms take ``slug`` and ``session_id``, the reprisal
report ``slug`` only); until then it describes the form without a link, so no page ever points
at one that is not there.
"""

from flask import Blueprint, Response, current_app, render_template, url_for

from portal.models import SubmissionKind, utc_now
from portal.services.dialogues.public_listing import (
    find_dialogue,
    find_session_page,
    list_dialogues,
)
from portal.services.health import database_answers
from portal.services.reporting.public_summary import published_summary
from portal.web.instance import app_settings
from portal.web.lookups import found_or_404
from portal.web.transaction import reading

blueprint = Blueprint("public", __name__)

FORM_ENDPOINTS = {
    SubmissionKind.AGENDA_INPUT: "forms.agenda_input",
    SubmissionKind.INDIVIDUAL_CASE: "forms.individual_case",
    SubmissionKind.REPRISAL_REPORT: "forms.reprisal_report",
    SubmissionKind.SEMINAR_RECOMMENDATIONS: "forms.seminar_recommendations",
}


@blueprint.get("/")
def index() -> str:
    """Every dialogue with its status, next session and any consultation open now."""
    dialogues = list_dialogues(reading(), utc_now())
    return render_template("public/index.html", dialogues=dialogues)


@blueprint.get("/dialogues/<slug>")
def dialogue(slug: str) -> str:
    """One dialogue and all its sessions."""
    found = found_or_404(find_dialogue(reading(), slug, utc_now()))
    return render_template("public/dialogue.html", dialogue=found)


@blueprint.get("/dialogues/<slug>/sessions/<int:session_id>")
def session(slug: str, session_id: int) -> str:
    """One session: what its consultation is for, the forms, who reads, how to check the key;
    once published, its public summary (``reporting.public_summary``)."""
    page = found_or_404(find_session_page(reading(), slug, session_id, utc_now()))
    onion_origin = app_settings().onion_origin
    return render_template(
        "public/session.html",
        page=page,
        summary=published_summary(reading(), session_id),
        form_urls=_existing_form_urls(slug, session_id),
        onion_url=None
        if onion_origin is None
        else onion_origin + url_for(".session", slug=slug, session_id=session_id),
    )


@blueprint.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the database answers, 503 when it does not; no detail."""
    if not database_answers(reading()):
        return Response("unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")


def _existing_form_urls(slug: str, session_id: int) -> dict[SubmissionKind, str]:
    """The address of each form whose route is registered; the others are left out."""
    urls = {}
    for kind, endpoint in FORM_ENDPOINTS.items():
        if endpoint not in current_app.view_functions:
            continue
        if kind is SubmissionKind.REPRISAL_REPORT:
            urls[kind] = url_for(endpoint, slug=slug)
        else:
            urls[kind] = url_for(endpoint, slug=slug, session_id=session_id)
    return urls
