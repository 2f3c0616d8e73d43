"""Quick exit: leave for a neutral site at once, and sign the inbox out on the server on the way.

Someone who takes the browser after a quick exit must not find an inbox that the cookie still
opens. So while the cookie holds an inbox ticket, the quick-exit link of every page points here
(``GET /quick-exit``): the inbox session's row is deleted, the cookie emptied, and the answer is a
redirect to the neutral site, sent with no referrer (``portal.security``) and logged, like every
request, by route only. With JavaScript, ``static/js/quick-exit.mjs`` leaves for the neutral
site directly, without waiting for the portal, and tells the server with a beacon
(``POST /quick-exit`` with the page's CSRF token), which does the same and answers 204.

The GET has a side effect, which a cross-site link could trigger: it can only sign the browser's
own inbox out, which is harmless, and its redirect goes to one fixed address, so it is no open
redirect. Without an inbox ticket in the cookie it changes nothing and the link points straight
to the neutral site, so a person who is not signed in does not make the extra round trip.
"""

from flask import Blueprint, redirect, session
from flask.typing import ResponseReturnValue

from portal.blueprints.submitter import TICKET_COOKIE_ENTRY, current_ticket
from portal.services.submissions.inbox_web_sessions import end_session
from portal.web.transaction import unit_of_work

QUICK_EXIT_URL = "https://www.wikipedia.org/"

blueprint = Blueprint("quick_exit", __name__)


@blueprint.app_context_processor
def _quick_exit_link() -> dict[str, object]:
    """What the layout's link needs: where to go, and whether to sign an inbox out first."""
    return {"quick_exit_url": QUICK_EXIT_URL, "inbox_ticket_held": TICKET_COOKIE_ENTRY in session}


@blueprint.get("/quick-exit")
def leave() -> ResponseReturnValue:
    """Sign the cookie's inbox out, then send the browser to the neutral site."""
    _sign_out_inbox()
    return redirect(QUICK_EXIT_URL, 303)


@blueprint.post("/quick-exit")
def beacon() -> ResponseReturnValue:
    """The script's beacon: sign the cookie's inbox out; the page has already left."""
    _sign_out_inbox()
    return "", 204


def _sign_out_inbox() -> None:
    ticket = current_ticket()
    if ticket is None:
        return
    with unit_of_work() as database:
        end_session(database, ticket)
    session.clear()
