"""The application-wide CSRF check, without parsing a body that can hold no form field.

Flask-WTF's ``CSRFProtect`` looks for the token among the form fields first and then in the
``X-CSRFToken`` header. Reading the form makes Werkzeug set up its form parser for the body, even
for a body it never parses: only ``application/x-www-form-urlencoded`` and
``multipart/form-data`` bodies have fields, and the form of any other body is empty. The portal's
scripts post JSON (and upload chunks as ``application/octet-stream``) with the token in the
header, so on every such request the lookup in the form was work that could only find nothing.
:class:`PortalCSRFProtect` goes straight to the headers for those bodies; what it accepts and
refuses is what ``CSRFProtect`` accepts and refuses, and a body announced over the request's
limit is refused first (413) as before.
"""

from flask import current_app, request
from flask_wtf import CSRFProtect

from portal.web.request_limits import refuse_announced_excess

# The bodies Werkzeug's form parser reads fields from; every other body has an empty form.
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class PortalCSRFProtect(CSRFProtect):
    """``CSRFProtect``, reading the token only from the headers when the body has no fields."""

    def _get_csrf_token(self) -> str | None:
        if request.mimetype in FORM_MIMETYPES:
            return super()._get_csrf_token()
        # Reading the form opened the body, which refuses one announced over its limit: a
        # request that is too large is still told so (413) before its token is looked at.
        refuse_announced_excess()
        return _token_from_headers()


def _token_from_headers() -> str | None:
    """The first non-empty token among ``WTF_CSRF_HEADERS``, as ``CSRFProtect`` reads them."""
    for name in current_app.config["WTF_CSRF_HEADERS"]:
        token = request.headers.get(name)
        if token:
            return token
    return None
