"""One place that answers every error: JSON to scripts, the HTML error page to people.

Routes of :data:`JSON_BLUEPRINTS` speak JSON to the portal's own scripts, so their refusals, the
ones Flask and Werkzeug raise included (400, 404, 405, 413, 415, 429, 500, 503...), are
``{"error": message}`` with a JSON content type. A path no route takes belongs to the blueprint
of the route that takes it with another method (a 405), and otherwise is answered in JSON only
when the request itself is JSON or asks for JSON rather than HTML.

The HTML page uses the site's layout, which builds links with ``url_for``; a request whose Host
header cannot even be parsed has no URL adapter to build them with, and gets a bare page. A
staff or administration address gets the staff workspace's page instead, which says what the
person may do and links to what they can reach, in words that never tell whether the thing
asked for exists (a submission of another desk and an unknown one read alike).

Anything a view raises that is not an HTTP error is logged with the route's rule (never the path,
which holds ids) and answered as a 500 in the same way. The database engine keeps bound values
out of its errors (``hide_parameters``), but PostgreSQL itself quotes a row's values in an
error's ``DETAIL:`` line (a unique violation names the key it collided with); the traceback is
logged without those lines.
"""

import re
import traceback

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from portal.web.routes import route_rule

JSON_BLUEPRINTS = frozenset({"uploads", "forms_sealed", "submitter_sealed"})
STAFF_PATHS = ("/staff/", "/admin/")
_HEADINGS = {
    404: lazy_gettext("Page not found"),
    400: lazy_gettext("The request could not be understood"),
    405: lazy_gettext("This page cannot be used that way"),
}
_SERVER_ERROR = lazy_gettext("Something went wrong on our side")
_OTHER_ERROR = lazy_gettext("The request could not be completed")
_DETAIL = re.compile(r"\s*DETAIL:")
# Headers of the error that tell the client what to do next; its own Content-Type is not ours.
_KEPT_HEADERS = frozenset({"allow", "retry-after"})


def init_app(app: Flask) -> None:
    """Answer HTTP errors and unexpected exceptions as this module says."""
    app.register_error_handler(HTTPException, answer_error)
    app.register_error_handler(Exception, _answer_unexpected)


def error_heading(status: int) -> str:
    """The words that name an error status, on the HTML page and in a JSON answer alike."""
    if status >= 500:
        return str(_SERVER_ERROR)
    return str(_HEADINGS.get(status, _OTHER_ERROR))


def malformed_request_answer(detail: str) -> tuple[Response, int]:
    """400 for a JSON body a portal script would never send: the person reads the translated
    heading; ``detail`` (in English, naming the field) is for whoever debugs the script."""
    return jsonify(error=error_heading(400), detail=detail), 400


def answer_error(error: HTTPException) -> Response:
    """``error`` as JSON or as the HTML page (see the module docstring), with its status."""
    status = error.code or 500
    if speaks_json():
        response = jsonify(error=error_heading(status))
    else:
        page = _error_page()
        response = Response(render_template(page, status=status, heading=error_heading(status)))
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() in _KEPT_HEADERS:
            response.headers[name] = value
    return response


def _error_page() -> str:
    """The HTML error page's template (see the module docstring)."""
    if request_ctx.url_adapter is None:  # an unparsable Host: the layout's links cannot be built
        return "errors/bare.html"
    if request.path.startswith(STAFF_PATHS) or request.path in ("/staff", "/admin"):
        return "errors/staff_error.html"
    return "errors/error.html"


def speaks_json() -> bool:
    """Whether the current request is answered in JSON (see the module docstring)."""
    blueprint = request.blueprint or _blueprint_taking_other_methods()
    if blueprint is not None:
        return blueprint in JSON_BLUEPRINTS
    preferred = request.accept_mimetypes.best_match(("text/html", "application/json"))
    return request.is_json or preferred == "application/json"


def _blueprint_taking_other_methods() -> str | None:
    refused = request.routing_exception
    adapter = request_ctx.url_adapter
    if not isinstance(refused, MethodNotAllowed) or adapter is None:
        return None
    for method in refused.valid_methods or ():
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:  # Werkzeug may list a method whose converters then refuse
            continue
        return endpoint.rpartition(".")[0] or None
    return None


def log_unexpected(error: BaseException) -> None:
    """Log ``error`` with its traceback and the route's rule, without PostgreSQL's ``DETAIL:``
    lines (see the module docstring); also what ``portal.app.Portal.log_exception`` logs."""
    trace = "".join(traceback.format_exception(error))
    kept = "".join(line for line in trace.splitlines(keepends=True) if not _DETAIL.match(line))
    current_app.logger.error("Unhandled error on %s %s\n%s", request.method, route_rule(), kept)


def _answer_unexpected(error: Exception) -> Response:
    log_unexpected(error)
    return answer_error(InternalServerError())
