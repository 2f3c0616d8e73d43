"""Peak server memory while a large attachment arrives through ``portal serve``, both paths.

- **API**: the resumable upload API (``/uploads``) takes a file the client encrypted, 1 MiB of
  ciphertext per request, as the browser module sends it.
- **No JavaScript**: the individual-case form takes the file in plain multipart and encrypts it
  as it is read.

Each path and size runs against a fresh demo instance served by ``portal serve`` (its default
workers, pinned to one core as in ``bench.servers``); this process is the client, and generates
the file as it sends it. The figure is the peak resident memory (``VmHWM``) of the server
process that grew most, before and after the file, for 50 MB and 400 MB: it should not depend on
the file's size. Run with ``python -m bench`` or ``python -m bench.upload_memory``.
"""

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import crypto
from bench.demo_instance import demo_instance
from bench.sealed_bodies import HIDDEN, open_session_form
from bench.servers import Browser, client_cores, running_server
from crypto.file_padding import padded_file_size
from portal.services.submissions.uploads import MAX_CHUNK_BYTES
from portal.settings import load_settings

SIZES_MB = (50, 400)
API_PIECE_BYTES = 1024 * 1024
BOUNDARY = "parley-bench-boundary-9e2d"
_PATTERN = bytes(range(251)) * 1024
_PATH_NAMES = ("api", "no-js")


def _file_bytes(start: int, size: int) -> bytes:
    """Bytes ``start`` .. ``start + size`` of the generated file (``size`` up to 256 KiB)."""
    offset = start % 251
    return _PATTERN[offset : offset + size]


def _api_ciphertext_pieces(file_bytes: int) -> Iterator[bytes]:
    """The generated file, encrypted as a browser would, in pieces of 1 MiB of ciphertext."""
    encryptor = crypto.StreamEncryptor(crypto.new_file_key())
    pending = bytearray(encryptor.header)
    for start in range(0, file_bytes, 64 * 1024):
        pending += encryptor.update(_file_bytes(start, min(64 * 1024, file_bytes - start)))
        while len(pending) >= API_PIECE_BYTES:
            yield bytes(pending[:API_PIECE_BYTES])
            del pending[:API_PIECE_BYTES]
    pending += encryptor.finalize()
    yield bytes(pending)


def _send_through_api(browser: Browser, hidden: dict[str, str], file_bytes: int) -> None:
    # The browser pads the file to its size bucket before encrypting it.
    file_bytes = padded_file_size(file_bytes)
    size = crypto.encrypted_size(file_bytes)
    csrf = {"X-CSRFToken": hidden["csrf_token"]}
    json_headers = {**csrf, "Content-Type": "application/json"}
    body = json.dumps({"submission": hidden["public_id"], "size": size})
    status, created = browser.request("POST", "/uploads", body=body, headers=json_headers)
    if status not in (200, 201):
        raise RuntimeError(f"the upload was refused ({status} {created!r}): benchmark broken")
    answer = json.loads(created)
    headers = {**csrf, "X-Upload-Token": answer["token"]}
    offset = 0
    for piece in _api_ciphertext_pieces(file_bytes):
        if len(piece) > MAX_CHUNK_BYTES:
            raise RuntimeError("a piece is over the chunk limit: the benchmark is broken")
        status, received = browser.request(
            "PUT",
            f"/uploads/{answer['upload']}?offset={offset}",
            body=piece,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        if status != 200:
            raise RuntimeError(f"a chunk was refused ({status} {received!r}): benchmark broken")
        offset = json.loads(received)["received"]
    status, _ = browser.request("POST", f"/uploads/{answer['upload']}/complete", headers=headers)
    if status != 200 or offset != size:
        raise RuntimeError(f"the upload failed ({status}): the benchmark is broken")


class _GeneratedMultipart:
    """A multipart form body whose one file part is generated as it is read."""

    def __init__(self, fields: dict[str, str], file_bytes: int) -> None:
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
        self._file_bytes = file_bytes
        self.length = len(self._head) + file_bytes + len(self._tail)
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size < 0 else min(size, 64 * 1024)
        start, head_end = self._position, len(self._head)
        file_end = head_end + self._file_bytes
        if start < head_end:
            data = self._head[start : start + size]
        elif start < file_end:
            data = _file_bytes(start - head_end, min(size, file_end - start))
        else:
            data = self._tail[start - file_end : start - file_end + size]
        self._position += len(data)
        return data


def _send_without_javascript(
    browser: Browser, url: str, hidden: dict[str, str], file_bytes: int
) -> None:
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
    body = _GeneratedMultipart(fields, file_bytes)
    status, page = browser.request(
        "POST",
        url,
        body=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(body.length),
        },
    )
    if status != 200 or b"codename" not in page:
        raise RuntimeError(f"the form was refused ({status}): the benchmark is broken")


def _stored_bytes(instance_dir: Path) -> int:
    return sum(path.stat().st_size for path in (instance_dir / "storage").iterdir())


def measure(path_name: str, size_mb: int, folder: Path) -> str:
    """Send one file of ``size_mb`` MB through one path of a fresh server; the printed line."""
    instance_dir = folder / "instance"
    environment = demo_instance(folder)
    url = open_session_form(load_settings(environment).database_url, "individual-case")
    file_bytes = size_mb * 1000 * 1000
    with running_server([sys.executable, "-m", "portal", "serve"], environment) as server:
        browser = Browser(server.port)
        # A page on each worker's way first: what the server holds before any file.
        for _ in range(4):
            browser.request("GET", url)
        _, page = browser.request("GET", url)
        hidden = dict(HIDDEN.findall(page.decode()))
        before = server.peak_rss_mib()
        started = time.perf_counter()
        if path_name == "api":
            _send_through_api(browser, hidden, file_bytes)
        else:
            _send_without_javascript(browser, url, hidden, file_bytes)
        seconds = time.perf_counter() - started
        after = server.peak_rss_mib()
        browser.close()
    if _stored_bytes(instance_dir) < file_bytes:
        raise RuntimeError("the file was not stored whole: the benchmark is broken")
    grown = {pid: peak - before.get(pid, 0.0) for pid, peak in after.items()}
    busiest = max(grown, key=lambda pid: grown[pid])
    return (
        f"  {path_name:<6} {size_mb:4d} MB: peak RSS of the process that grew most"
        f" {before.get(busiest, 0.0):5.0f} -> {after[busiest]:5.0f} MiB"
        f" (+{grown[busiest]:.1f} MiB), {seconds:5.1f} s"
    )


def main() -> None:
    os.sched_setaffinity(0, client_cores())
    print("upload memory through portal serve (peak RSS of the server process that grew most):")
    for path_name in _PATH_NAMES:
        for size_mb in SIZES_MB:
            with tempfile.TemporaryDirectory() as folder:
                print(measure(path_name, size_mb, Path(folder)), flush=True)


if __name__ == "__main__":
    main()
