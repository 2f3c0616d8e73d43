"""Slow clients cannot starve the portal, with the shipped nginx configuration or without it.

A real ``portal serve`` (gunicorn's threaded workers, default counts) on a demo instance, and
Debian's nginx run as this user with ``deploy/nginx/parley-proxy.conf`` in front of it. Twenty
clients send a form's headers and then hold or trickle its body; meanwhile ``GET /`` must answer
within a second. Without a proxy the portal itself refuses them with 408 once the body timeout
(here 3 seconds) passes, keeping nothing of them.
"""

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crypto.stream import encrypted_size
from portal.db import Database
from portal.models import Attachment, Submission
from tests.conftest import DemoInstance, create_demo_instance
from tests.integration.served_portal import (
    NGINX,
    NGINX_SNIPPET,
    REPOSITORY,
    HttpClient,
    RunningPortal,
    multipart,
    nginx_in_front,
    open_form_page,
    served,
    session_form_path,
)

BODY_TIMEOUT_SECONDS = 3
SLOW_CLIENTS = 20
ANSWER_WITHIN_SECONDS = 1.0
DECLARED_BODY_BYTES = 200_000
# Larger than nginx's in-memory body buffer, so the proxy's temporary file is used.
ATTACHMENT_BYTES = 1_500_000
UPLOAD_BYTES = 256 * 1216  # a padded size (crypto.file_padding)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoInstance:
    return create_demo_instance(tmp_path_factory.mktemp("slow-clients"))


@pytest.fixture(scope="module")
def portal(demo: DemoInstance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    log = tmp_path_factory.mktemp("slow-clients-log") / "serve.log"
    timeout = {"PORTAL_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}
    with served(demo.settings.instance_dir, log, **timeout) as running:
        yield running


@pytest.fixture(scope="module")
def form_path(demo: DemoInstance) -> str:
    return session_form_path(demo.settings.database_url, "agenda-input")


def _start_slow_body(port: int, path: str) -> socket.socket:
    """A client that sends a form's headers and the first bytes of its body, then waits."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=slow\r\n"
        f"Content-Length: {DECLARED_BODY_BYTES}\r\n\r\n--slow\r\n".encode()
    )
    return client


def _warm_up(base: str) -> None:
    """Have every worker render the home page once (its first rendering compiles templates)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(_answer_time, [base] * 16))


def _answer_time(base: str) -> float:
    started = time.monotonic()
    status, _ = HttpClient(base, timeout=10).request("/")
    assert status == 200
    return time.monotonic() - started


def _status_line(client: socket.socket) -> bytes:
    reply = b""
    while b"\r\n" not in reply:
        chunk = client.recv(1024)
        if not chunk:
            break
        reply += chunk
    return reply.split(b"\r\n", 1)[0]


def _stored(demo: DemoInstance) -> tuple[int, int, list[str]]:
    database = Database(demo.settings.database_url)
    try:
        with database.session() as session:
            submissions = session.scalar(select(func.count()).select_from(Submission))
            attachments = session.scalar(select(func.count()).select_from(Attachment))
    finally:
        database.dispose()
    storage = Path(demo.settings.instance_dir, "storage")
    return submissions or 0, attachments or 0, sorted(p.name for p in storage.iterdir())


def test_twenty_slow_bodies_leave_the_portal_answering_and_are_refused_with_408(
    demo: DemoInstance, portal: RunningPortal, form_path: str
) -> None:
    _warm_up(portal.base)
    before = _stored(demo)
    holding = [_start_slow_body(portal.port, form_path) for _ in range(SLOW_CLIENTS // 2)]
    trickling = [_start_slow_body(portal.port, form_path) for _ in range(SLOW_CLIENTS // 2)]
    try:
        times = []
        for _ in range(2 * BODY_TIMEOUT_SECONDS):
            for client in trickling:
                client.sendall(b"x")  # a byte now and then: never idle, far too slow
            times.append(_answer_time(portal.base))
            time.sleep(0.5)
        assert max(times) < ANSWER_WITHIN_SECONDS, times

        for client in holding + trickling:
            assert _status_line(client).split(b" ")[1] == b"408"
    finally:
        for client in holding + trickling:
            client.close()
    assert _stored(demo) == before


def test_a_chunk_sent_too_slowly_is_refused_and_nothing_of_it_counts(
    demo: DemoInstance, portal: RunningPortal, form_path: str
) -> None:
    client = HttpClient(portal.base)
    form = open_form_page(client, form_path)
    csrf = {"X-CSRFToken": form.hidden["csrf_token"]}
    created = {"submission": form.hidden["public_id"], "size": encrypted_size(UPLOAD_BYTES)}
    status, answer = client.request(
        "/uploads", json.dumps(created).encode(), {**csrf, "Content-Type": "application/json"}
    )
    assert status == 201, answer
    upload = json.loads(answer)
    slow = socket.create_connection(("127.0.0.1", portal.port), timeout=30)
    try:
        slow.sendall(
            f"PUT /uploads/{upload['upload']}?offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {client.cookie_header()}\r\nX-CSRFToken: {csrf['X-CSRFToken']}\r\n"
            f"X-Upload-Token: {upload['token']}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {encrypted_size(UPLOAD_BYTES)}\r\n\r\n".encode()
            + bytes(1000)
        )
        assert _status_line(slow).split(b" ")[1] == b"408"
    finally:
        slow.close()

    headers = {"X-Upload-Token": upload["token"]}
    status, answer = client.request(f"/uploads/{upload['upload']}", headers=headers)
    assert (status, json.loads(answer)["received"]) == (200, 0)


def test_through_nginx_slow_bodies_wait_at_the_proxy_and_a_submission_passes(
    demo: DemoInstance, portal: RunningPortal, form_path: str, tmp_path: Path
) -> None:
    with nginx_in_front(portal.port, tmp_path / "nginx") as port:
        base = f"http://127.0.0.1:{port}"
        _warm_up(base)
        slow = [_start_slow_body(port, form_path) for _ in range(SLOW_CLIENTS)]
        try:
            # Longer than the portal's own body timeout: nginx holds the bodies, not the portal.
            deadline = time.monotonic() + BODY_TIMEOUT_SECONDS + 1
            times = []
            while time.monotonic() < deadline:
                times.append(_answer_time(base))
                time.sleep(0.5)
            assert max(times) < ANSWER_WITHIN_SECONDS, times

            submissions, attachments, files_before = _stored(demo)
            client = HttpClient(base)
            form = open_form_page(client, form_path)
            body, content_type = multipart(
                {**form.hidden, "situation": "Through the proxy.", "topics": "rule_of_law"},
                [("evidence.bin", bytes(range(256)) * (ATTACHMENT_BYTES // 256))],
            )
            status, page = client.request(form_path, body, {"Content-Type": content_type})
        finally:
            for client_socket in slow:
                client_socket.close()

    assert status == 200, page
    stored_submissions, stored_attachments, files = _stored(demo)
    assert (stored_submissions, stored_attachments) == (submissions + 1, attachments + 1)
    added = set(files) - set(files_before)
    assert len(added) == 1 and not added.pop().startswith(".partial-")


def test_the_shipped_site_passes_nginx_configuration_check(tmp_path: Path) -> None:
    """``deploy/nginx/parley.conf`` as installed, with a throw-away certificate and this
    folder standing in for the system's paths."""
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=parley.example.org", "-keyout", "key.pem", "-out", "cert.pem"),
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=60,
    )
    site = (REPOSITORY / "deploy" / "nginx" / "parley.conf").read_text(encoding="utf-8")
    for system_path, stand_in in {
        "/etc/letsencrypt/live/parley.example.org/fullchain.pem": tmp_path / "cert.pem",
        "/etc/letsencrypt/live/parley.example.org/privkey.pem": tmp_path / "key.pem",
        "/etc/nginx/snippets/parley-proxy.conf": NGINX_SNIPPET,
        "/var/lib/nginx/parley-body": tmp_path / "body",
        "/var/log/nginx/parley-error.log": tmp_path / "error.log",
    }.items():
        assert system_path in site
        site = site.replace(system_path, str(stand_in))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n",
        encoding="utf-8",
    )

    check = subprocess.run(
        [
            *(NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")),
            *("-e", str(tmp_path / "error.log")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert check.returncode == 0, check.stderr
