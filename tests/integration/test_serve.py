"""`portal serve`: refuses an uninitialised instance; its logs never name the visitor."""

import datetime as dt
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask.logging import default_handler
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from portal.server import ACCESS_LOG_FORMAT, PrivacyLogger, RedactClientDetails, coarse_app_logging
from portal.web.routes import ROUTE_ENVIRON_KEY
from tests.conftest import portal_environment, run_portal

CLIENT_ADDRESS = "127.0.0.77"
MALFORMED_CLIENT_ADDRESS = "127.0.0.78"
FORWARDED_ADDRESS = "203.0.113.77"
USER_AGENT = "ParleyCanaryAgent/9.9"
REFERRER = "https://referrer-canary.invalid/page"
QUERY = "query-canary=1"


def serve_environment(instance_dir: Path) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    portal = portal_environment(instance_dir)
    return {**inherited, **{key: value for key, value in portal.items() if value is not None}}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request_from(source: str, port: int, payload: bytes) -> bytes:
    """Send raw bytes from a chosen loopback address and return the raw reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(payload)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def wait_until_up(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "portal serve exited early"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # a slow first answer
            time.sleep(0.2)
    raise AssertionError("portal serve did not come up")


@contextmanager
def served_portal(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``portal serve`` (one worker) over a fresh instance: its port and its log file, whole
    once the block ends and the server has stopped."""
    instance_dir = tmp_path / "instance"
    assert run_portal(portal_environment(instance_dir), "init").exit_code == 0
    port = free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port), "--workers", "1"],
            env=serve_environment(instance_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(port, server)
            yield port, log_path
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def test_serve_refuses_an_uninitialised_instance(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portal", "serve"],
        env=serve_environment(tmp_path / "instance"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "portal init" in lines[0]


def test_logs_never_contain_client_address_agent_referrer_or_query(tmp_path: Path) -> None:
    with served_portal(tmp_path) as (port, log_path):
        request = (
            f"GET /?{QUERY} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Referer: {REFERRER}\r\nX-Forwarded-For: {FORWARDED_ADDRESS}\r\n"
            "Connection: close\r\n\r\n"
        )
        reply = _request_from(CLIENT_ADDRESS, port, request.encode("ascii"))
        assert reply.startswith(b"HTTP/1.1 200")
        malformed = b"NOT A REQUEST\r\n\r\n"
        assert _request_from(MALFORMED_CLIENT_ADDRESS, port, malformed).startswith(b"HTTP/1.1 400")

    logs = log_path.read_text(encoding="utf-8")
    assert '"GET / HTTP/1.1" 200' in logs
    assert "Invalid request" in logs
    for secret in (
        CLIENT_ADDRESS,
        MALFORMED_CLIENT_ADDRESS,
        FORWARDED_ADDRESS,
        USER_AGENT,
        REFERRER,
        QUERY,
    ):
        assert secret not in logs, secret


def test_error_log_drops_query_strings_and_client_addresses() -> None:
    redact = RedactClientDetails()
    failed = logging.LogRecord(
        "gunicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Error handling request %s",
        (f"/x?{QUERY}",),
        None,
    )
    invalid = logging.LogRecord(
        "gunicorn.error",
        logging.WARNING,
        __file__,
        1,
        f"Invalid request from ip={CLIENT_ADDRESS}: x",
        (),
        None,
    )

    assert redact.filter(failed) and redact.filter(invalid)
    assert failed.getMessage() == "Error handling request"
    assert CLIENT_ADDRESS not in invalid.getMessage()


ID_CANARY = "idcanary7q3x"
PARAMETER_CANARY = "parametercanary"
SECOND_PRECISION = re.compile(r"\d\d:\d\d:\d\d")


def test_logs_name_routes_not_ids_and_keep_times_to_the_hour(tmp_path: Path) -> None:
    requests = [
        f"GET /inbox/{ID_CANARY}?{QUERY} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        f"GET /uploads/{ID_CANARY}?offset={PARAMETER_CANARY} HTTP/1.1\r\nHost: x\r\n",
        f"GET /{ID_CANARY} HTTP/1.1\r\nHost: {'a' * 70}.example\r\n",
        f"GET /inbox/{ID_CANARY} HTTP/9.9 {PARAMETER_CANARY}\r\nHost: x\r\n",
        "POST /uploads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 157286400\r\n",
    ]
    with served_portal(tmp_path) as (port, log_path):
        replies = [
            _request_from("127.0.0.1", port, (r + "Connection: close\r\n\r\n").encode())
            for r in requests
        ]

    assert replies[-1].startswith(b"HTTP/1.1 413")  # refused unread: no byte of it was sent
    logs = log_path.read_text(encoding="utf-8")
    assert '"GET /inbox/<public_id> HTTP/1.1" 302' in logs
    assert '"GET /uploads/<upload_id> HTTP/1.1" 404' in logs
    for secret in (ID_CANARY, PARAMETER_CANARY, QUERY):
        assert secret not in logs, secret
    assert not SECOND_PRECISION.search(logs), logs


def test_the_application_log_keeps_times_to_the_hour() -> None:
    """What the application itself logs under ``portal serve`` (an unexpected error) is dated
    like gunicorn's lines."""
    coarse_app_logging()
    record = logging.LogRecord("portal", logging.ERROR, __file__, 1, "Unhandled error", (), None)
    line = default_handler.format(record)
    assert "Unhandled error" in line
    assert not SECOND_PRECISION.search(line), line


@pytest.mark.parametrize("route", ["/inbox/<public_id>", None], ids=["routed", "no route"])
def test_the_access_line_is_the_one_gunicorn_writes_from_all_its_values(route: str | None) -> None:
    """The access log is given only the values its format names, and writes the same line."""
    config = Config()
    config.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = PrivacyLogger(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/inbox/{ID_CANARY}?{QUERY}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": USER_AGENT,
        **({} if route is None else {ROUTE_ENVIRON_KEY: route}),
    }
    request = SimpleNamespace(headers=[("USER-AGENT", USER_AGENT), ("X-FORWARDED-FOR", "1.2.3.4")])
    response = SimpleNamespace(status="302 FOUND", sent=123, headers=[("Location", "/")])
    took = dt.timedelta(seconds=1, microseconds=234_567)

    ours = logger.atoms(response, request, environ, took)
    line = ACCESS_LOG_FORMAT % SafeAtoms(ours)

    assert line == ACCESS_LOG_FORMAT % SafeAtoms(
        Logger.atoms(logger, response, request, environ, took)
    )
    assert line.endswith(f'"POST {route or "-"} HTTP/1.1" 302 123 1234ms')
    assert USER_AGENT not in str(ours) and ID_CANARY not in str(ours)
