"""Peak server memory while a 200 MB attachment arrives, through both upload paths.

- **API**: the resumable upload API (``/uploads``) takes a file the client encrypted, 1 MiB of
  ciphertext per request, as the browser module will send it.
- **No JavaScript**: the individual-case form takes the file in plain multipart and encrypts it
  as it is read.

Peak RSS is a high-water mark for the whole process, so each path runs in a fresh Python
process over a fresh demo instance (made beforehand by ``portal init --demo`` in another process,
whose Argon2 would otherwise set the mark). The process builds the application and sends one
small request before measuring; the figure that matters is how far the peak grew while the file
went through, and it should not depend on the file's size. Run with ``python -m bench``.
"""

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from flask import Flask
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import Dialogue, DialogueSession, SessionState, utc_now
from portal.services.submissions.uploads import MAX_CHUNK_BYTES
from portal.settings import load_settings
from portal.web.instance import web_instance

FILE_BYTES = 200 * 1024 * 1024
API_PIECE_BYTES = 1024 * 1024
BOUNDARY = "parley-bench-boundary-9e2d"
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_PATTERN = bytes(range(251)) * 1024
_PATH_NAMES = ("api", "no-js")


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _file_bytes(start: int, size: int) -> bytes:
    """Bytes ``start`` .. ``start + size`` of the generated file (``size`` up to 256 KiB)."""
    offset = start % 251
    return _PATTERN[offset : offset + size]


def _environment(instance_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_INSTANCE_DIR": str(instance_dir),
        "PORTAL_COOKIE_SECURE": "false",
    }


def _csrf_token(client: FlaskClient) -> str:
    """A CSRF token for the client's session, as a page rendering ``csrf_token()`` gives one."""
    with client.application.test_request_context():
        token = generate_csrf()
        raw_token = flask_session["csrf_token"]
    with client.session_transaction() as client_session:
        client_session["csrf_token"] = raw_token
    return token


def _api_ciphertext_pieces() -> Iterator[bytes]:
    """The generated file, encrypted as a browser would, in pieces of 1 MiB of ciphertext."""
    encryptor = crypto.StreamEncryptor(crypto.new_file_key())
    pending = bytearray(encryptor.header)
    for start in range(0, FILE_BYTES, 64 * 1024):
        pending += encryptor.update(_file_bytes(start, min(64 * 1024, FILE_BYTES - start)))
        while len(pending) >= API_PIECE_BYTES:
            yield bytes(pending[:API_PIECE_BYTES])
            del pending[:API_PIECE_BYTES]
    pending += encryptor.finalize()
    yield bytes(pending)


def _send_through_api(client: FlaskClient) -> None:
    size = crypto.encrypted_size(FILE_BYTES)
    # The id a form page would carry: the portal accepts only ids it issued.
    submission = web_instance(client.application).submission_ids.issue(utc_now())
    created = client.post("/uploads", json={"submission": submission, "size": size})
    answer = created.get_json()
    offset = 0
    for piece in _api_ciphertext_pieces():
        if len(piece) > MAX_CHUNK_BYTES:
            raise RuntimeError("a piece is over the chunk limit: the benchmark is broken")
        response = client.put(
            f"/uploads/{answer['upload']}?offset={offset}",
            data=piece,
            content_type="application/octet-stream",
            headers={"X-Upload-Token": answer["token"]},
        )
        offset = response.get_json()["received"]
    completed = client.post(
        f"/uploads/{answer['upload']}/complete", headers={"X-Upload-Token": answer["token"]}
    )
    if completed.status_code != 200 or offset != size:
        raise RuntimeError(f"the upload failed ({completed.status_code}): the benchmark is broken")


class _GeneratedMultipart:
    """A multipart form body whose one file part is generated as it is read."""

    def __init__(self, fields: dict[str, str]) -> None:
        self._head = (
            b"".join(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
                for name, value in fields.items()
            )
            + (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
                'filename="large.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
        )
        self._tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.length = len(self._head) + FILE_BYTES + len(self._tail)
        self._position = 0

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: self.length}[whence]
        self._position = base + offset
        return self._position

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size < 0 else min(size, 64 * 1024)
        start, head_end = self._position, len(self._head)
        file_end = head_end + FILE_BYTES
        if start < head_end:
            data = self._head[start : start + size]
        elif start < file_end:
            data = _file_bytes(start - head_end, min(size, file_end - start))
        else:
            data = self._tail[start - file_end : start - file_end + size]
        self._position += len(data)
        return data


def _send_without_javascript(app: Flask, client: FlaskClient) -> None:
    with app_database(app).session() as session:
        session_id = session.scalars(
            select(DialogueSession.id)
            .join(Dialogue)
            .where(
                Dialogue.slug == "valdoria",
                DialogueSession.state == SessionState.CONSULTATION_OPEN,
            )
        ).first()
    url = f"/dialogues/valdoria/sessions/{session_id}/individual-case"
    hidden = dict(HIDDEN.findall(client.get(url).get_data(as_text=True)))
    fields = {
        **hidden,
        "situation": "benchmark",
        "place": "benchmark",
        "dates": "benchmark",
        "relation_to_person": "benchmark",
        "earlier_referrals": "benchmark",
        "persons.0.name": "benchmark",
        "persons.0.consent.level": "internal_only",
        "persons.0.consent.given_by": "person",
        "persons.0.consent.risks_explained": "yes",
        "codename_choice": "new",
    }
    body = _GeneratedMultipart(fields)
    response = client.post(
        url,
        input_stream=body,
        content_length=body.length,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"the form was refused ({response.status_code}): the benchmark is broken"
        )


def measure(path_name: str, instance_dir: Path) -> None:
    """Send the file through one path in this process and print its peak RSS."""
    os.environ.update(_environment(instance_dir))
    app = create_app(load_settings())
    with app.test_client() as client:
        client.environ_base["HTTP_X_CSRFTOKEN"] = _csrf_token(client)
        client.get("/")
        before = _peak_rss_mib()
        started = time.perf_counter()
        if path_name == "api":
            _send_through_api(client)
        else:
            _send_without_javascript(app, client)
        seconds = time.perf_counter() - started
    peak = _peak_rss_mib()
    stored = sum(path.stat().st_size for path in (instance_dir / "storage").iterdir())
    if stored < FILE_BYTES:
        raise RuntimeError(f"only {stored} bytes were stored: the benchmark is broken")
    print(
        f"upload {FILE_BYTES // (1024 * 1024)} MiB, {path_name} path: peak RSS {peak:.0f} MiB"
        f" (grew {peak - before:.1f} MiB while the file went through), {seconds:.1f} s"
    )


def main() -> None:
    for path_name in _PATH_NAMES:
        with tempfile.TemporaryDirectory() as folder:
            instance_dir = Path(folder, "instance")
            subprocess.run(  # noqa: S603 - this interpreter, our own arguments
                [
                    sys.executable,
                    "-m",
                    "portal",
                    "init",
                    "--demo",
                    "--credentials-out",
                    str(Path(folder, "credentials.json")),
                ],
                env=_environment(instance_dir),
                check=True,
                capture_output=True,
            )
            subprocess.run(  # noqa: S603 - this interpreter, our own arguments
                [sys.executable, "-m", "bench.upload_memory", path_name, str(instance_dir)],
                check=True,
            )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in _PATH_NAMES:
        measure(sys.argv[1], Path(sys.argv[2]))
    else:
        main()
