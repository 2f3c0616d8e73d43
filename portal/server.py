"""``portal serve``: the portal under gunicorn, with logs that never name a visitor.

**Workers.** Gunicorn's threaded worker (``gthread``): ``workers`` processes, each answering up
to ``threads`` requests at once, one thread each. A visitor sending slowly holds one thread, not
a process, and :mod:`portal.slow_bodies` refuses a body that stalls or trickles (408); a
connection that opens and sends nothing is handed back to gunicorn's event loop after 5 seconds,
to wait without a thread, and closed after the keep-alive time. An asynchronous worker (gevent,
eventlet) would hold thousands of idle clients as cheaply, but Argon2, PBKDF2, SQLite and the
encryption of attachments block its single loop: one staff sign-in would stall every visitor of
the process for a third of a second. Headers are bounded in size (:data:`REQUEST_LIMITS`); a
client trickling its headers still holds a thread until it stops, which is what the reverse
proxy in docs/DEPLOYMENT.md is for. Argon2 work stays capped per process by its gate
(``portal.services.work_gate.WorkGate``), which threads share.

**Start-up.** Before any worker exists (gunicorn's ``when_ready``), the leftovers of an
interrupted run are sorted out (``portal.services.housekeeping.orphans``), so a ``kill -9`` in
the middle of a submission leaves neither a half-published file nor a stray ``.partial-`` one.

The access log records the hour, the method, the route's rule (``/inbox/<public_id>``, never the
path with its ids, nor the query string), protocol, status, size and duration: enough to operate
the service, nothing that says who asked or what they read. Every time in the logs, the
application's included, is kept to the hour (:data:`LOG_TIME_FORMAT`): a time to the second beside
a route is what a network log would be joined on. Gunicorn's own error log names the client's
address and quotes the request line of malformed requests, and names the URI of failed ones;
:class:`PrivacyLogger` removes them before anything is written.

Each worker also runs the periodic clean-up (:func:`start_housekeeping`).
"""

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.logging import default_handler
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger

from portal.app import create_app
from portal.db import Database, app_database
from portal.instance import InstanceFolder
from portal.services.housekeeping.loop import HousekeepingLoop
from portal.services.housekeeping.loop import logger as housekeeping_logger
from portal.services.housekeeping.orphans import remove_orphaned_partials
from portal.settings import Settings
from portal.slow_bodies import SlowBodyLimit
from portal.storage import EncryptedStorage
from portal.web.instance import web_instance
from portal.web.routes import ROUTE_ENVIRON_KEY

# Gunicorn names an environ entry in the access log format as ``{key}e``, lowercased.
_ROUTE_ATOM = f"{{{ROUTE_ENVIRON_KEY.lower()}}}e"
ACCESS_LOG_FORMAT = f'%(t)s "%(m)s %({_ROUTE_ATOM})s %(H)s" %(s)s %(B)s %(M)sms'
LOG_TIME_FORMAT = "[%Y-%m-%d %H:00 %z]"
_ERROR_LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(message)s"

# Keep-alive: how long an idle connection stays open for the next request (seconds).
KEEPALIVE_SECONDS = 5
# A worker takes at most this many connections per thread (busy, queued or idle between
# requests); beyond it, new connections wait in the kernel's queue for a less busy worker.
CONNECTIONS_PER_THREAD = 4
# The request line (method, path, query), the number of header fields, the size of each.
REQUEST_LIMITS = {
    "limit_request_line": 4094,
    "limit_request_fields": 50,
    "limit_request_field_size": 8190,
}

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

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        """The values :data:`ACCESS_LOG_FORMAT` names, and nothing else.

        Gunicorn's own gathers every request header, response header and environ entry of each
        request (the user agent and any forwarded address among them) to fill a line that uses
        seven values; that was half of what the access log cost per request."""
        status = resp.status
        return {
            "t": self.now(),
            "m": environ.get("REQUEST_METHOD"),
            _ROUTE_ATOM: environ.get(ROUTE_ENVIRON_KEY, "-"),
            "H": environ.get("SERVER_PROTOCOL"),
            "s": status.split(None, 1)[0] if isinstance(status, str) else status,
            "B": getattr(resp, "sent", None),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }


def coarse_app_logging() -> None:
    """Give the application's own log (its unhandled errors; Flask's default handler, which every
    application in the process shares) the error log's hourly time."""
    default_handler.setFormatter(logging.Formatter(_ERROR_LOG_FORMAT, LOG_TIME_FORMAT))


class PortalServer(BaseApplication):
    """Gunicorn configured in code; each worker builds its own app from the factory."""

    def __init__(self, settings: Settings, *, host: str, port: int) -> None:
        self._settings = settings
        bind_host = f"[{host}]" if ":" in host else host
        self._options: dict[str, Any] = {
            "post_worker_init": start_housekeeping,
            "bind": [f"{bind_host}:{port}"],
            "workers": settings.workers,
            "worker_class": "gthread",
            "threads": settings.threads,
            "worker_connections": settings.threads * CONNECTIONS_PER_THREAD,
            "keepalive": KEEPALIVE_SECONDS,
            **REQUEST_LIMITS,
            "when_ready": _sweep_before_serving(settings),
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
        app = served_app(self._settings)
        coarse_app_logging()
        return app


def served_app(settings: Settings) -> Flask:
    """The portal as ``portal serve`` hands it to its workers: the app, behind the deadline on
    slow request bodies (the benchmarks measure this same app in their own process)."""
    app = create_app(settings)
    app.wsgi_app = SlowBodyLimit(app.wsgi_app, settings.body_timeout_seconds)
    return app


def start_housekeeping(worker: Any) -> None:
    """Gunicorn's ``post_worker_init`` hook: start the periodic clean-up in this worker, on the
    app it serves (``portal.services.housekeeping.loop``; the lease keeps it to one run at a
    time across workers)."""
    app = worker.wsgi
    _share_error_log(housekeeping_logger, worker.log.error_log)
    HousekeepingLoop(app_database(app), web_instance(app).storage).start()


def _share_error_log(logger: logging.Logger, error_log: logging.Logger) -> None:
    """Write ``logger``'s lines (from INFO up) through gunicorn's error log, with its hourly time
    and its redaction, instead of Python's bare last-resort handler."""
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in error_log.handlers:
        if handler not in logger.handlers:
            logger.addHandler(handler)


def _sweep_before_serving(settings: Settings) -> Callable[[Arbiter], None]:
    """Gunicorn's ``when_ready`` hook: clear the leftovers of an interrupted run."""

    def when_ready(arbiter: Arbiter) -> None:
        removed = sweep_interrupted_writes(settings)
        if removed:
            arbiter.log.info("Removed %d unfinished files left by an interrupted run", removed)

    return when_ready


def sweep_interrupted_writes(settings: Settings) -> int:
    """Finish or remove every ``.partial-`` file no upload holds; nothing may be in flight."""
    database = Database(settings.database_url)
    storage = EncryptedStorage(InstanceFolder(settings.instance_dir).storage_dir)
    try:
        with database.session() as session:
            return remove_orphaned_partials(session, storage, idle_for=dt.timedelta(0))
    finally:
        database.dispose()


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Run until interrupted, with ``settings.workers`` processes of ``settings.threads``."""
    PortalServer(settings, host=host, port=port).run()
