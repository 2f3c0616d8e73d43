"""Keeping who-is-asking out of the application.

The portal must never store or log a visitor's address, browser or the page they came from. The
surest way is for the application never to see them: this WSGI middleware deletes them from the
request environment before Flask runs. The web server's access log reads the same environment,
so even a careless change to its format cannot bring them back.
"""

from collections.abc import Callable, Iterable
from typing import Any

FORGOTTEN_ENVIRON_KEYS = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_REFERER",
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
)

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class ForgetClientDetails:
    """WSGI middleware removing client addresses, user agent and referrer from every request."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for key in FORGOTTEN_ENVIRON_KEYS:
            environ.pop(key, None)
        return self.app(environ, start_response)
