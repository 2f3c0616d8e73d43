"""``portal serve``: the portal under gunicorn, with logs that never name a visitor.

The access log records time, method, path (without query string), protocol, status, size and
duration: enough to operate the service, nothing that identifies who asked. Gunicorn's own
error log names the client's address for malformed requests and the full URI for failed ones;
:class:`PrivacyLogger` removes both before anything is written.

Each worker also runs the periodic clean-up (:func:`start_housekeeping`).
"""

import logging
import re
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from portal.app import create_app
from portal.db import app_database
from portal.services.housekeeping.loop import HousekeepingLoop
from portal.settings import Settings
from portal.web.instance import web_instance

ACCESS_LOG_FORMAT = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

_CLIENT_ADDRESS = re.compile(r"\bip=\S+")
_QUERY_STRING = re.compile(r"(Error handling request\b.*?)\?\S*")


class RedactClientDetails(logging.Filter):
    """Rewrites gunicorn's error-log messages that carry a client address or a query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _QUERY_STRING.sub(r"\1", _CLIENT_ADDRESS.sub("ip=-", message))
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class PrivacyLogger(Logger):
    """Gunicorn's logger with :class:`RedactClientDetails` on its error log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(item, RedactClientDetails) for item in self.error_log.filters):
            self.error_log.addFilter(RedactClientDetails())


class PortalServer(BaseApplication):
    """Gunicorn configured in code; each worker builds its own app from the factory."""

    def __init__(self, settings: Settings, *, host: str, port: int, workers: int) -> None:
        self._settings = settings
        bind_host = f"[{host}]" if ":" in host else host
        self._options: dict[str, Any] = {
            "post_worker_init": start_housekeeping,
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
        return create_app(self._settings)


def start_housekeeping(worker: Any) -> None:
    """Gunicorn's ``post_worker_init`` hook: start the periodic clean-up in this worker, on the
    app it serves (``portal.services.housekeeping.loop``; the lease keeps it to one run at a
    time across workers)."""
    app = worker.wsgi
    HousekeepingLoop(app_database(app), web_instance(app).storage).start()


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Run until interrupted."""
    PortalServer(settings, host=host, port=port, workers=workers).run()
