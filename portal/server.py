"""``portal serve``: the portal under gunicorn, with logs that never name a visitor.

The access log records the hour, the method, the route's rule (``/inbox/<public_id>``, never the
path with its ids, nor the query string), protocol, status, size and duration: enough to operate
the service, nothing that says who asked or what they read. Every time in the logs, the
application's included, is kept to the hour (:data:`LOG_TIME_FORMAT`): a time to the second beside
a route is what a network log would be joined on. Gunicorn's own error log names the client's
address and quotes the request line of malformed requests, and names the URI of failed ones;
:class:`PrivacyLogger` removes them before anything is written.
"""

import logging
import re
import time
from typing import Any

from flask import Flask
from flask.logging import default_handler
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from portal.app import create_app
from portal.settings import Settings
from portal.web.routes import ROUTE_ENVIRON_KEY

ACCESS_LOG_FORMAT = f'%(t)s "%(m)s %({{{ROUTE_ENVIRON_KEY}}}e)s %(H)s" %(s)s %(B)s %(M)sms'
LOG_TIME_FORMAT = "[%Y-%m-%d %H:00 %z]"
_ERROR_LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"

_CLIENT_ADDRESS = re.compile(r"\bip=\S+")
# What gunicorn quotes of a malformed request (its request line, a header: from the first quote
# on), and what follows "Error handling request": the method and the URI, ids and query included.
_QUOTED = re.compile(r"""\s*:?\s*['"].*$""")
_FAILED_REQUEST = re.compile(r"^(Error handling request)\b.*$")


class RedactClientDetails(logging.Filter):
    """Rewrites gunicorn's error-log messages that carry a client address or request details."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _CLIENT_ADDRESS.sub("ip=-", message)
        redacted = _FAILED_REQUEST.sub(r"\1", _QUOTED.sub("", redacted))
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class PrivacyLogger(Logger):
    """Gunicorn's logger with :class:`RedactClientDetails` on its error log and times kept to
    the hour in both logs."""

    datefmt = LOG_TIME_FORMAT

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(item, RedactClientDetails) for item in self.error_log.filters):
            self.error_log.addFilter(RedactClientDetails())

    def now(self) -> str:
        """The access log's time, to the hour."""
        return time.strftime(LOG_TIME_FORMAT)


def coarse_app_logging() -> None:
    """Give the application's own log (its unhandled errors; Flask's default handler, which every
    application in the process shares) the error log's hourly time."""
    default_handler.setFormatter(logging.Formatter(_ERROR_LOG_FORMAT, LOG_TIME_FORMAT))


class PortalServer(BaseApplication):
    """Gunicorn configured in code; each worker builds its own app from the factory."""

    def __init__(self, settings: Settings, *, host: str, port: int, workers: int) -> None:
        self._settings = settings
        bind_host = f"[{host}]" if ":" in host else host
        self._options: dict[str, Any] = {
            "bind": [f"{bind_host}:{port}"],
            "workers": workers,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "loglevel": "info",
            "logger_class": PrivacyLogger,
            "control_socket_disable": True,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = create_app(self._settings)
        coarse_app_logging()
        return app


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run until interrupted."""
    PortalServer(settings, host=host, port=port, workers=workers).run()
