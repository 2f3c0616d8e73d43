"""Public pages: what dialogues exist, their sessions, and when civil society can write in.

Nothing here needs JavaScript or a cookie, and nothing here reads more than the plaintext
metadata of dialogues and sessions.
"""

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.db import request_session
from portal.models import utc_now
from portal.services.public_listing import find_dialogue, list_dialogues

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def index() -> str:
    """Every dialogue with its status, next session and any consultation open now."""
    dialogues = list_dialogues(request_session(), utc_now())
    return render_template("public/index.html", dialogues=dialogues)


@blueprint.get("/dialogues/<slug>")
def dialogue(slug: str) -> str:
    """One dialogue and all its sessions."""
    found = find_dialogue(request_session(), slug, utc_now())
    if found is None:
        abort(404)
    return render_template("public/dialogue.html", dialogue=found)


@blueprint.get("/healthz")
def healthz() -> Response:
    """For load balancers: 200 when the database answers, 503 when it does not; no detail."""
    try:
        request_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return Response("unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")
