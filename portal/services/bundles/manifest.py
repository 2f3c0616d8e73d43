"""The bundle format: its names, the writing of ``manifest.json`` and its strict reading.

docs/FORMATS.md, "Bundle v1" (and "Briefing bundle v1" for a session's briefing pack),
specifies every field. The export writes through
:func:`write_manifest` and the offline decryption reads through :func:`read_manifest` and the
field readers below, so both sides share one idea of the format and neither needs the other's
dependencies. Nothing here touches a database.

The field readers refuse anything malformed with a :class:`BundleError` naming where in the
manifest it is, because a bundle travels outside the server and may have been tampered with.
"""

import base64
import binascii
import datetime as dt
import json
import re
import zipfile
from collections.abc import Iterable
from typing import Any

BUNDLE_FORMAT = "parley-bundle-v3"
# v2 is v3 without what signed notes and names added (a note's author id, signed fields and
# certificate, the identities envelope's signature): each is read as null, which the reading rules
# take as unsigned. v1 is v2 without what the identity compartment and signed items added
# (identity keys, identities envelopes, items' positions and signatures): its submissions keep
# their names in the submission envelope, and each position or signature is read as null too.
READABLE_BUNDLE_FORMATS = frozenset({"parley-bundle-v1", "parley-bundle-v2", BUNDLE_FORMAT})
# A session's briefing pack for offline use (docs/FORMATS.md, "Briefing bundle v1"): the same
# container and keys, one sealed document instead of submissions.
BRIEFING_BUNDLE_FORMAT = "parley-briefing-v1"
BRIEFING_DOCUMENT = "briefing.html"  # what its decryption writes: the printable document
BRIEFING_DATA = "briefing.json"  # and the pack's data
MANIFEST_NAME = "manifest.json"
ATTACHMENTS_FOLDER = "attachments"
MAX_MANIFEST_BYTES = 2 * 1024 * 1024 * 1024
_STORAGE_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{32}")


class BundleError(ValueError):
    """A bundle that cannot be made, read or decrypted; the message says why, in one line."""


# --- writing -----------------------------------------------------------------------------------


def zip_entry(name: str, today: dt.date, compress_type: int) -> zipfile.ZipInfo:
    """A ZIP entry dated ``today`` at midnight: the day of export and nothing finer."""
    info = zipfile.ZipInfo(name, date_time=(max(today.year, 1980), today.month, today.day, 0, 0, 0))
    info.compress_type = compress_type
    return info


def write_manifest(
    archive: zipfile.ZipFile,
    today: dt.date,
    head: dict[str, Any],
    submissions: Iterable[dict[str, Any]],
) -> int:
    """Write ``manifest.json`` (deflated): ``head``'s fields, then ``"submissions"`` as they come.

    Each entry is written as soon as it is produced, so memory holds one submission at a time.
    Returns the number of submissions written.
    """
    count = 0
    entry = zip_entry(MANIFEST_NAME, today, zipfile.ZIP_DEFLATED)
    with archive.open(entry, "w", force_zip64=True) as manifest:
        manifest.write(_json(head)[:-1] + b',"submissions":[')
        for submission in submissions:
            manifest.write((b"," if count else b"") + _json(submission))
            count += 1
        manifest.write(b"]}")
    return count


def write_whole_manifest(
    archive: zipfile.ZipFile, today: dt.date, manifest: dict[str, Any]
) -> None:
    """Write a small ``manifest.json`` (deflated) in one piece: a briefing bundle's."""
    archive.writestr(zip_entry(MANIFEST_NAME, today, zipfile.ZIP_DEFLATED), _json(manifest))


def attachment_member(storage_name: str) -> str:
    """The ZIP member holding the stored file ``storage_name``."""
    return f"{ATTACHMENTS_FOLDER}/{storage_name}"


def encode_bytes(data: bytes) -> str:
    """Binary manifest values: standard base64 with padding."""
    return base64.b64encode(bytes(data)).decode("ascii")


def encode_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- reading -----------------------------------------------------------------------------------


def read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    """The parsed manifest of an open bundle, refused unless it names a format this release
    reads (a bundle of submissions, or a briefing bundle)."""
    try:
        info = archive.getinfo(MANIFEST_NAME)
    except KeyError:
        raise BundleError("the bundle has no manifest.json") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise BundleError("the bundle's manifest is too large")
    try:
        with archive.open(info) as handle:
            manifest = json.loads(handle.read(MAX_MANIFEST_BYTES + 1).decode("utf-8"))
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as error:
        raise BundleError(f"the bundle's manifest does not read: {error}") from None
    readable = READABLE_BUNDLE_FORMATS | {BRIEFING_BUNDLE_FORMAT}
    if not isinstance(manifest, dict) or manifest.get("format") not in readable:
        raise BundleError(f"not a {BUNDLE_FORMAT} or {BRIEFING_BUNDLE_FORMAT} bundle")
    return manifest


def require_attachment_member(member: str, what: str) -> None:
    """Refuse an attachment's ``file`` that is not a stored file's name in the attachments
    folder: a tampered manifest must not make the decryption read another member."""
    storage_name = member.removeprefix(f"{ATTACHMENTS_FOLDER}/")
    if member == storage_name or not _STORAGE_NAME.fullmatch(storage_name):
        raise BundleError(f"{what} names a bad file")


def text_field(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise BundleError(f"{where} has no {name}")
    return value


def key_id_field(entry: dict[str, Any], name: str, where: str) -> str:
    value = text_field(entry, name, where)
    if not _KEY_ID_HEX.fullmatch(value):
        raise BundleError(f"{where} has a malformed {name}")
    return value


def bytes_field(entry: dict[str, Any], name: str, where: str) -> bytes:
    try:
        return base64.b64decode(text_field(entry, name, where), validate=True)
    except binascii.Error:
        raise BundleError(f"{where} has a malformed {name}") from None


def list_field(entry: dict[str, Any], name: str, where: str) -> list[Any]:
    value = entry.get(name)
    if not isinstance(value, list):
        raise BundleError(f"{where} has no list of {name}")
    return value


def objects_field(entry: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    items = list_field(entry, name, where)
    if not all(isinstance(item, dict) for item in items):
        raise BundleError(f"{where} has a malformed list of {name}")
    return items
