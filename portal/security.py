"""Response headers that every page carries, and the session cookie's flags.

The policy is strict because a single third-party request, inline script or leaked referrer can
expose a defender: the browser loads nothing that is not ours, runs no inline code, sends no
referrer, keeps no copy of any page, and refuses to be framed.
"""

from flask import Flask, Response

from portal.settings import Settings

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
    )
    headers = dict(_ALWAYS)
    if settings.cookie_secure:
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    def add_security_headers(response: Response) -> Response:
        response.headers.update(headers)
        return response

    app.after_request(add_security_headers)
