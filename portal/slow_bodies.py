"""Request bodies that arrive too slowly are refused with 408, so a trickle cannot hold a thread.

``portal serve`` answers each request on a thread of its own (``portal.server``). A client that
sends its headers and then its body a byte now and then would keep that thread, and the
database connection the request may hold, for as long as it likes; a few dozen such clients
would leave nobody else an answer. So, once the application starts reading a body:

- **idle**: a read that receives nothing for ``timeout`` seconds fails (a timeout on the
  connection's socket around every read);
- **rate**: after ``timeout`` seconds the body must have arrived at an average of at least
  :data:`MIN_BYTES_PER_SECOND`, that is by ``start + timeout + received / rate``. A single read
  of gunicorn's body reader may wait for many small packets, each within the idle limit, so one
  :class:`_Watchman` thread per process shuts the reading side of any connection whose read
  outlasts this deadline; the blocked read then returns at once.

Either way the read raises :class:`werkzeug.exceptions.RequestTimeout`: Flask answers 408, the
view's unit of work rolls back (which deletes any file it staged, ``portal.storage``), and
gunicorn closes the connection, whose body was left half read. Nothing of the request is kept.

Only requests served by gunicorn carry the socket (``environ["gunicorn.socket"]``); any other
WSGI server's requests pass through untouched.
"""

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.exceptions import RequestTimeout

MIN_BYTES_PER_SECOND = 1024
# How often the watchman looks for reads past their deadline.
_WATCH_INTERVAL_SECONDS = 0.5

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class _TimedBody:
    """``wsgi.input`` with the idle and rate limits of the module docstring."""

    def __init__(self, body: Any, sock: socket.socket, timeout: float, watchman: "_Watchman"):
        self._body = body
        self._socket = sock
        self._timeout = timeout
        self._watchman = watchman
        self._started: float | None = None
        self._received = 0
        self.cut_off = False

    def read(self, size: int | None = -1) -> bytes:
        return self._timed(self._body.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._timed(self._body.readline, size)

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def deadline(self) -> float:
        """When the body must be complete, given what has arrived so far."""
        assert self._started is not None
        return self._started + self._timeout + self._received / MIN_BYTES_PER_SECOND

    def cut(self) -> None:
        """Stop the read in progress (called by the watchman, from its own thread)."""
        self.cut_off = True
        # Closed by the client already: the read ends by itself.
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RD)

    def _timed(self, read: Callable[[Any], bytes], size: int | None) -> bytes:
        if self._started is None:
            self._started = time.monotonic()
        remaining = self.deadline() - time.monotonic()
        if self.cut_off or remaining <= 0:
            raise RequestTimeout()
        # Gunicorn writes the answer and reads the next request with the socket as it was.
        prior_timeout = self._socket.gettimeout()
        self._socket.settimeout(min(self._timeout, remaining))
        self._watchman.watch(self)
        try:
            data = read(size)
        except TimeoutError:
            raise RequestTimeout() from None
        except OSError:
            if self.cut_off:
                raise RequestTimeout() from None
            raise
        finally:
            self._watchman.forget(self)
            self._socket.settimeout(prior_timeout)
        if self.cut_off:
            raise RequestTimeout()
        self._received += len(data)
        return data


class _Watchman:
    """One thread per process that cuts off body reads past their deadline.

    The thread starts with the first read in each process, so a server that forks its workers
    after building the application still gets one in every worker.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reading: set[_TimedBody] = set()
        self._pid: int | None = None

    def watch(self, body: _TimedBody) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._reading.clear()
                threading.Thread(target=self._patrol, name="slow-bodies", daemon=True).start()
            self._reading.add(body)

    def forget(self, body: _TimedBody) -> None:
        with self._lock:
            self._reading.discard(body)

    def _patrol(self) -> None:
        while True:
            time.sleep(_WATCH_INTERVAL_SECONDS)
            now = time.monotonic()
            # Under the lock, so that a read that has just ended (and forgotten its body) is
            # never cut: its connection may already be serving the next request.
            with self._lock:
                for body in self._reading:
                    if body.deadline() <= now:
                        body.cut()


class SlowBodyLimit:
    """WSGI middleware putting every gunicorn request's body under the limits above."""

    def __init__(self, app: WSGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self._watchman = _Watchman()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if isinstance(sock, socket.socket):
            environ["wsgi.input"] = _TimedBody(
                environ["wsgi.input"], sock, self.timeout_seconds, self._watchman
            )
        return self.app(environ, start_response)
