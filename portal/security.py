"""Response headers that every page carries, and the session cookie's flags and lifetime.

The policy is strict because a single third-party request, inline script or leaked referrer can
expose a defender: the browser loads nothing that is not ours, runs no inline code, sends no
referrer, keeps no copy of any page, and refuses to be framed.

The session cookie is a browser-session cookie (never written with an expiry date, so the
browser does not keep it on disk past closing) and is honoured for at most
:data:`SESSION_IDLE_LIFETIME` after the last request that used it: a device seized or borrowed
after a short absence must not still be signed in. It holds the CSRF token and, for signed-in
people, an opaque reference (for a submitter's inbox, also the random key of the box that holds
their private key on the server; see ``portal.services.submissions.inbox_web_sessions``); never a
codename, a login secret or anything derived from them, which exist only for the length of one
request.
"""

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, Response, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.privacy import WSGIApp
from portal.settings import Settings
from portal.web.signed_values import SignedReader

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
)
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
SESSION_IDLE_LIFETIME = dt.timedelta(minutes=30)
# Pages people reach without an account: where Tor Browser is offered the onion service.
ONION_LOCATION_BLUEPRINTS = frozenset({"public", "forms", "submitter"})

_ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


def init_app(app: Flask, settings: Settings) -> None:
    """Set the cookie flags and add the headers to every response, errors included."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PREFERRED_URL_SCHEME="https" if settings.cookie_secure else "http",
        # Flask checks a session cookie's signature age against this on every request, whether
        # or not the session is "permanent"; sessions are never made permanent, so the cookie
        # itself carries no expiry and lives only in the browser's memory.
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE_LIFETIME,
    )
    app.session_interface = SessionCookies()
    app.after_request(_restart_idle_clock)
    headers = dict(_ALWAYS)
    if settings.cookie_secure:
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    app.wsgi_app = SecurityHeaders(app.wsgi_app, headers)  # type: ignore[method-assign]
    if settings.onion_origin is not None:
        _announce_onion_service(app, settings.onion_origin)


class SecurityHeaders:
    """WSGI middleware giving every response ``headers``, in place of any of the same names.

    The headers are added as the response leaves the application, from a list built once: an
    ``after_request`` hook set each of them through Werkzeug's checks again on every request,
    and did not run at all for an answer Flask makes when such a hook itself fails."""

    def __init__(self, app: WSGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self._names = frozenset(name.lower() for name in headers)
        self._headers = list(headers.items())

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def start_with_headers(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            kept = [(name, value) for name, value in headers if name.lower() not in self._names]
            return start_response(status, kept + self._headers, *exc_info)

        return self.app(environ, start_with_headers)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, with its serializer built once for the application's keys,
    and nothing prepared for a cookie that is not written.

    Flask builds a new serializer each time it opens or saves a session, which is on every
    request that carries a cookie (``portal.web.signed_values`` says what that costs); one built
    for the same secret keys reads and signs exactly as a new one would, and is built again only
    if the keys change. The signature is Flask's HMAC-SHA1, computed by OpenSSL's HMAC: Flask
    names SHA-1 through a Python function, which makes ``hmac`` compute it in Python around the
    hash. Saving a session Flask reads every cookie setting first, though most answers write no
    cookie (:func:`page_moves_on`); here they are read only for one that is written."""

    digest_method = staticmethod(hashlib.sha1)

    def __init__(self) -> None:
        self._built: SignedReader | None = None

    def _reader(self, app: Flask) -> SignedReader | None:
        if not app.secret_key:
            return None
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built  # one read: another thread may replace it meanwhile
        if built is None or built.keys != keys:
            serializer = super().get_signing_serializer(app)
            assert serializer is not None  # a secret key is set
            built = SignedReader.of(keys, serializer)
            self._built = built
        return built

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        reader = self._reader(app)
        return None if reader is None else reader.serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Flask's ``open_session``, reading the cookie with the serializer built once."""
        reader = self._reader(app)
        if reader is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.session_class(reader.loads(value, max_age))
        except BadSignature:
            return self.session_class()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Flask's ``save_session``, which this is when the cookie is written or deleted; when it
        is not, all Flask does is to add ``Vary: Cookie`` if the session was read."""
        if session.modified or (session and self.should_set_cookie(app, session)):
            super().save_session(app, session, response)
        elif session.accessed:
            response.vary.add("Cookie")


def _restart_idle_clock(response: Response) -> Response:
    """Re-sign a non-empty session on every request, so its lifetime counts from the last use
    rather than from the first: someone moving through the inbox stays signed in, while a
    session left alone lapses :data:`SESSION_IDLE_LIFETIME` after its last request; except for
    an answer after which the page only offers links (:func:`page_moves_on`)."""
    if session and not g.get(_PAGE_MOVES_ON, False):
        session.modified = True
    return response


_PAGE_MOVES_ON = "parley_page_moves_on"


def page_moves_on() -> None:
    """Send this answer without re-signing the session, when the page that asked sends nothing
    more with it: only a form post needs the session alive, and any page the person opens next
    signs it again, or gives a fresh one if it has lapsed. Re-signing would cost a signature and
    a cookie the next page replaces; a JSON answer that stored a submission asks for this."""
    g.setdefault(_PAGE_MOVES_ON, True)


def _announce_onion_service(app: Flask, onion_origin: str) -> None:
    """Tell Tor Browser, on public and submitter pages, where the same page is as an onion."""

    def add_onion_location(response: Response) -> Response:
        if request.blueprint in ONION_LOCATION_BLUEPRINTS and response.mimetype == "text/html":
            response.headers["Onion-Location"] = onion_origin + request.path
        return response

    app.after_request(add_onion_location)
