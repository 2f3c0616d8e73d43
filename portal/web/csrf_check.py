"""The application-wide CSRF check: Flask-WTF's rules, with less work on every request.

Flask-WTF's ``CSRFProtect`` looks for the token among the form fields first and then in the
``X-CSRFToken`` header. Reading the form makes Werkzeug set up its form parser for the body, even
for a body it never parses: only ``application/x-www-form-urlencoded`` and
``multipart/form-data`` bodies have fields, and the form of any other body is empty. The portal's
scripts post JSON (and upload chunks as ``application/octet-stream``) with the token in the
header, so on every such request the lookup in the form was work that could only find nothing.
:class:`PortalCSRFProtect` goes straight to the headers for those bodies.

Flask-WTF's ``validate_csrf`` then builds a new signed serializer for every token it checks
(``portal.web.signed_values`` says what that costs), and signs with SHA-1 named through a Python
function, which makes ``hmac`` compute HMAC-SHA1 in Python around the hash.
:meth:`PortalCSRFProtect.protect` checks a token with that serializer built once for the secret
key, computing the same HMAC-SHA1 with OpenSSL.

What the check accepts and refuses, and the reason it gives (which Flask-WTF logs and puts in
the ``CSRFError``), are ``CSRFProtect``'s: a token signed with the secret key under Flask-WTF's
salt, no older than ``WTF_CSRF_TIME_LIMIT``, holding the raw token of this session (compared in
constant time). A body announced over the request's limit is refused first (413), as before.
"""

import hashlib
import hmac
import logging
from typing import Any

from flask import Flask, Request, current_app, g, request, session
from flask_wtf import CSRFProtect
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms import ValidationError

from portal.web.request_limits import refuse_announced_excess
from portal.web.signed_values import SignedReader

# The bodies Werkzeug's form parser reads fields from; every other body has an empty form.
FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# The salt and the defaults Flask-WTF signs and checks its tokens with.
TOKEN_SALT = "wtf-csrf-token"  # noqa: S105 (a salt, public in Flask-WTF's source)
DEFAULT_FIELD_NAME = "csrf_token"
DEFAULT_TIME_LIMIT = 3600
# Flask-WTF's own logger: a refusal is logged where it always was.
_refusals_log = logging.getLogger("flask_wtf.csrf")


class PortalCSRFProtect(CSRFProtect):
    """``CSRFProtect``, reading the token only from the headers when the body has no fields, and
    checking it with a serializer built once for the secret key."""

    def __init__(self, app: Any = None) -> None:
        self._reader: SignedReader | None = None
        super().__init__(app)

    def protect(self, apply_exemptions: bool = False) -> None:
        """``CSRFProtect.protect``: the same exemptions, methods, refusals and referrer check."""
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        asked: Request = request._get_current_object()  # type: ignore[attr-defined]
        if asked.method not in app.config["WTF_CSRF_METHODS"]:
            return
        try:
            self._validate(app, self._token_of(app, asked))
        except ValidationError as refusal:
            _refusals_log.info(refusal.args[0])
            self._error_response(refusal.args[0])
        if asked.is_secure and app.config["WTF_CSRF_SSL_STRICT"]:
            if not asked.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(asked.referrer, f"https://{asked.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

    def _validate(self, app: Flask, token: str | None) -> None:
        """Flask-WTF's ``validate_csrf`` with the application's settings, in the same order and
        with the same reasons, reading the token with the key's serializer."""
        secret_key = app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
        if secret_key is None:
            raise RuntimeError("A secret key is required to use CSRF.")
        field_name = app.config.get("WTF_CSRF_FIELD_NAME", DEFAULT_FIELD_NAME)
        if field_name is None:
            raise RuntimeError("A field name is required to use CSRF.")
        time_limit = app.config.get("WTF_CSRF_TIME_LIMIT", DEFAULT_TIME_LIMIT)
        if not token:
            raise ValidationError("The CSRF token is missing.")
        stored = session._get_current_object()  # type: ignore[attr-defined]
        if field_name not in stored:
            raise ValidationError("The CSRF session token is missing.")
        try:
            raw_token = self._reader_for(secret_key).loads(token, time_limit)
        except SignatureExpired as expired:
            raise ValidationError("The CSRF token has expired.") from expired
        except BadData as bad:
            raise ValidationError("The CSRF token is invalid.") from bad
        if not hmac.compare_digest(stored[field_name], raw_token):
            raise ValidationError("The CSRF tokens do not match.")

    def _reader_for(self, secret_key: Any) -> SignedReader:
        """Flask-WTF's token serializer for ``secret_key``, computing its HMAC-SHA1 with
        OpenSSL, built again only when the key changes."""
        reader = self._reader  # one read: another thread may replace it meanwhile
        if reader is None or reader.keys != secret_key:
            serializer = URLSafeTimedSerializer(
                secret_key, salt=TOKEN_SALT, signer_kwargs={"digest_method": hashlib.sha1}
            )
            reader = SignedReader.of(secret_key, serializer)
            self._reader = reader
        return reader

    def _token_of(self, app: Flask, asked: Request) -> str | None:
        """The token where ``CSRFProtect`` looks for it, but only in the headers of a body that
        has no fields."""
        if asked.mimetype in FORM_MIMETYPES:
            return self._get_csrf_token()
        # Reading the form opened the body, which refuses one announced over its limit: a
        # request that is too large is still told so (413) before its token is looked at.
        refuse_announced_excess(asked)
        # The first non-empty token among ``WTF_CSRF_HEADERS``, as ``CSRFProtect`` reads them.
        for name in app.config["WTF_CSRF_HEADERS"]:
            token = asked.headers.get(name)
            if token:
                return token
        return None
