"""A real ``portal serve`` (and nginx in front of it) for tests, and a plain HTTP client for them.

Shared by the tests that need the server itself rather than the Flask test client: slow clients,
the reverse proxy, crashes. The server runs in its own process group, so that a test can stop or
``kill -9`` the master and its workers together.
"""

import html
import http.cookiejar
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portal.db import Database
from tests.integration.forms_client import open_session_path
from tests.integration.test_serve import free_port, serve_environment

REPOSITORY = Path(__file__).resolve().parents[2]
NGINX_SNIPPET = REPOSITORY / "deploy" / "nginx" / "parley-proxy.conf"
# Debian installs it in /usr/sbin, which an ordinary user's PATH may leave out.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
DATA_ATTRIBUTE = re.compile(r' data-([\w-]+)="([^"]*)"')
START_SECONDS = 30


@dataclass
class RunningPortal:
    """A ``portal serve`` process group listening on ``port``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill_hard(self) -> None:
        """``kill -9`` the master and every worker at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_hard()


def start_portal(
    instance_dir: Path, log: Path, *, port: int | None = None, **environment: str
) -> RunningPortal:
    """Start ``portal serve`` for the instance (its database named by ``environment`` or the
    default) and wait until it answers."""
    port = free_port() if port is None else port
    env = {**serve_environment(instance_dir), **environment}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningPortal(process, port, log)
    try:
        wait_for(f"{running.base}/healthz", process)
    except BaseException:
        running.stop()
        raise
    return running


@contextmanager
def served(instance_dir: Path, log: Path, **environment: str) -> Iterator[RunningPortal]:
    running = start_portal(instance_dir, log, **environment)
    try:
        yield running
    finally:
        running.stop()


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited early ({process.returncode})"
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (http on loopback)
                return
        except OSError:  # refused, reset or slow to answer while starting
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {START_SECONDS} s")


@contextmanager
def nginx_in_front(upstream_port: int, folder: Path) -> Iterator[int]:
    """Debian's nginx, run as this user from ``folder``, with the shipped proxy settings in front
    of the portal on ``upstream_port``; yields the port it listens on."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(
        f"""daemon off;
user {pwd.getpwuid(os.getuid()).pw_name};
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream parley_portal {{ server 127.0.0.1:{upstream_port}; }}
    server {{
        listen 127.0.0.1:{port};
        include {NGINX_SNIPPET};
    }}
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


class HttpClient:
    """One visitor: its own cookies, plain HTTP/1.1 over loopback."""

    def __init__(self, base: str, timeout: float = 30) -> None:
        self.base = base
        self.timeout = timeout
        self._cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self._cookies)
        )

    def cookie_header(self) -> str:
        """This visitor's cookies, for a request sent by hand."""
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self._cookies)

    def request(
        self,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
    ) -> tuple[int, str]:
        method = method or ("GET" if body is None else "POST")
        request = urllib.request.Request(  # noqa: S310 (http on loopback)
            self.base + path, data=body, headers=headers or {}, method=method
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")


@dataclass(frozen=True)
class FormPage:
    """A form page's hidden fields and the ``data-*`` attributes its script reads."""

    hidden: dict[str, str]
    data: dict[str, str]


def open_form_page(client: HttpClient, path: str) -> FormPage:
    status, page = client.request(path)
    assert status == 200, status
    return FormPage(
        dict(HIDDEN.findall(page)),
        {name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(page)},
    )


def multipart(
    fields: dict[str, str],
    files: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type, as a browser without JS sends it."""
    boundary = f"parley-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    for file_name, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def session_form_path(database_url: str, kind_path: str) -> str:
    """The address of a form of the demo's open consultation (valdoria's)."""
    database = Database(database_url)
    try:
        return open_session_path(database.engine, kind_path)
    finally:
        database.dispose()
