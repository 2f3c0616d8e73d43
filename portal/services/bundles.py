"""Encrypted bundles for offline review: the format, the export and the offline decryption.

A dialogue in offline review keeps no desk-key private half the server can open (see
``portal.services.desks.review_mode``). Its desk reads submissions by exporting a *bundle* (``portal
export`` or the staff page ``/staff/dialogues/<slug>/export``) and decrypting it on an offline
machine with ``portal decrypt`` and either the desk key written at the switch to offline review
or the instance recovery key. Online dialogues can be exported the same way.

Bundle v1 is a ZIP file (Python's ``zipfile``) holding:

``manifest.json`` (deflated), UTF-8 JSON::

    {"format": "parley-bundle-v1",
     "dialogue": slug, "session": session id or null (the --session filter),
     "exported_on": "YYYY-MM-DD",
     "recovery_key_id": hex,
     "desk_keys": [{"key_id": hex, "public_key": base64,
                    "recovery_grant": base64 of the DeskKeyGrant envelope to the recovery key}],
     "submissions": [{
        "public_id", "kind", "session": id or null, "received_on", "state", "topic_tags",
        "urgent", "risk_level", "risk_reassess_on", "gender_specific_risk", "risk_hold",
        "decline_reason", "duplicate_of": public id or null,
        "desk_key_id": hex, "envelope": base64,
        "further_information": [{"received_on", "desk_key_id", "envelope"}],
        "consent_changes": [{"received_on", "desk_key_id", "envelope"}],
        "attachments": [{"public_id", "file": "attachments/<storage name>", "ciphertext_size",
                         "desk_key_id", "keys_envelope"}],
        "notes": [{"id", "written_on", "author", "desk_key_id", "envelope"}],
        "messages": [{"public_id", "written_by", "author", "sent_on", "desk_key_id",
                      "envelope"}]}]}

``attachments/<storage name>`` (stored): each attachment's STREAM ciphertext, copied byte for
byte from the storage folder.

Every value in base64 is standard base64 with padding; every ``desk_key_id`` and ``key_id`` is
the 16-byte key id (``crypto.key_id``) in lower-case hex. Envelopes are exactly the stored ones
and keep their stored contexts (``portal.services.submissions.contexts``, the desk key grant
context of ``portal.services.desks.keys``, the note context of ``portal.services.staff.triage``).

**Nothing is decrypted to make a bundle**: it holds what the database and the storage folder
hold for the dialogue, so a bundle is exactly as safe as the database. It is written in bounded
memory: submissions are read in batches, the manifest is written as it goes, and attachment
files are copied in chunks.

What is *not* protected: the plaintext metadata in the manifest (state, dates, topics, risk,
names of staff authors) is as trustworthy as the channel that carried the bundle; nobody signs
it, because the server holds no key that could. Content cannot be altered: every envelope and
every file authenticates itself, and the contexts bind each envelope to its dialogue, session,
kind and submission, so an envelope moved to another entry does not open. But desk public keys
are public, so whoever tampers with a bundle in transit could add entries of their own sealing,
as any submitter can: carry bundles over a channel you trust.

**Offline decryption** (:func:`decrypt_bundle`) needs neither the instance folder, nor the
database, nor the settings. The key is either

- the recovery key (``parley-recovery-v1:...``): it must be the bundle's (``recovery_key_id``);
  every desk key's ``recovery_grant`` is opened with it, and each must hold the private half of
  the public key listed; or
- a desk key (``parley-desk-key-v1:...``, ``crypto.keys.export_desk_key``): it must be one of the
  bundle's desk keys.

Items sealed to a desk key that was not supplied (for instance submissions from before the
switch to offline review, sealed to an older desk key, when decrypting with the newer desk key)
are *skipped*, not attempted, and listed in ``skipped.json``; the recovery key opens them.
Anything else that fails -- an envelope or file that does not open, a record that does not
match, a manifest that does not parse -- stops the decryption: the partial output is removed and
nothing is left behind. The output is written into a private staging folder next to the target
and renamed to it only when everything has been decrypted.

The manifest is read whole (it holds envelopes, at most :data:`MAX_MANIFEST_BYTES`); attachment
files are decrypted in chunks, in bounded memory, straight from the ZIP.

Output (mode 0700), one folder per submission named by its public id::

    index.json                     the bundle's metadata and the list of submissions
    skipped.json                   items not opened for want of their desk key (may be [])
    <public id>/submission.json    metadata and the opened payload ("payload": null if skipped)
    <public id>/further_information.json, consent_changes.json, notes.json, messages.json
    <public id>/attachments/<n>-<sanitised original name>   decrypted with STREAM in chunks

Note and message payloads are written as the JSON they hold; a note is opened only when
``portal.services.staff.triage.note_context`` exists in this release (it does from the release that
added triage notes), otherwise its envelope is listed in ``skipped.json``.
"""

import base64
import binascii
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from crypto.keys import DESK_KEY_PREFIX, RECOVERY_KEY_PREFIX, import_desk_key
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    Dialogue,
    DialogueSession,
    RecoveryKey,
    StaffUser,
    Submission,
    SubmissionKind,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.keys import desk_key_grant_context
from portal.services.submissions.contexts import (
    SubmissionAddress,
    attachment_keys_context,
    consent_change_context,
    further_information_context,
    is_public_id,
    submission_context,
)
from portal.storage import EncryptedStorage

BUNDLE_FORMAT = "parley-bundle-v1"
MANIFEST_NAME = "manifest.json"
ATTACHMENTS_FOLDER = "attachments"
MAX_MANIFEST_BYTES = 2 * 1024 * 1024 * 1024
OUTPUT_MODE = 0o700
_BATCH = 200
_COPY_CHUNK = crypto.stream.ENCRYPTED_CHUNK_SIZE
_STORAGE_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{32}")
_MAX_SAFE_NAME = 100


class BundleError(ValueError):
    """A bundle that cannot be made, read or decrypted; the message says why, in one line."""


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    """What went into a bundle (counts only)."""

    dialogue: str
    session_id: int | None
    submissions: int
    attachments: int
    desk_keys: int


def write_bundle(
    session: Session,
    storage: EncryptedStorage,
    dialogue: Dialogue,
    out: BinaryIO,
    *,
    today: dt.date,
    session_id: int | None = None,
    include: Callable[[Submission], bool] | None = None,
    actor: StaffUser | None = None,
    via: str = "cli",
) -> ExportSummary:
    """Write the bundle of ``dialogue`` (optionally one session's) to ``out``, and audit it.

    ``include`` leaves out submissions the requester may not have (need-to-know on the web).
    The audit event ``bundle.exported`` (ids and counts only) is recorded in the caller's
    transaction; the caller commits only once ``out`` is safely written, and discards ``out``
    if the transaction fails.
    """
    if session_id is not None:
        found = session.get(DialogueSession, session_id)
        if found is None or found.dialogue_id != dialogue.id:
            raise BundleError(f"session {session_id} is not a session of {dialogue.slug}")
    recovery_key = session.scalars(select(RecoveryKey).order_by(RecoveryKey.id)).first()
    if recovery_key is None:
        raise BundleError("this instance has no recovery key")
    desk_keys = list(
        session.scalars(
            select(DeskKey).where(DeskKey.dialogue_id == dialogue.id).order_by(DeskKey.id)
        )
    )
    key_ids = {key.id: key.key_id.hex() for key in desk_keys}
    key_entries = [_desk_key_entry(session, key, recovery_key) for key in desk_keys]
    files: list[tuple[str, int]] = []
    count = 0
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        manifest_info = zipfile.ZipInfo(MANIFEST_NAME, date_time=_zip_time(today))
        manifest_info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(manifest_info, "w", force_zip64=True) as manifest:
            head = {
                "format": BUNDLE_FORMAT,
                "dialogue": dialogue.slug,
                "session": session_id,
                "exported_on": today.isoformat(),
                "recovery_key_id": recovery_key.key_id.hex(),
                "desk_keys": key_entries,
            }
            manifest.write(_json(head)[:-1] + b',"submissions":[')
            for submission in _submissions(session, dialogue, session_id):
                if include is not None and not include(submission):
                    continue
                entry = _submission_entry(submission, key_ids)
                files.extend(
                    (item["file"], item["ciphertext_size"]) for item in entry["attachments"]
                )
                manifest.write((b"," if count else b"") + _json(entry))
                count += 1
            manifest.write(b"]}")
        for name, size in files:
            _copy_file(archive, storage, name, size, today)
    record_event(
        session,
        action=AuditAction.BUNDLE_EXPORTED,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={
            "session": session_id,
            "submissions": count,
            "attachments": len(files),
            "desk_keys": len(key_entries),
            "via": via,
        },
    )
    return ExportSummary(dialogue.slug, session_id, count, len(files), len(key_entries))


def _submissions(
    session: Session, dialogue: Dialogue, session_id: int | None
) -> Iterator[Submission]:
    """The dialogue's submissions in id order, a batch at a time (keyset, bounded memory)."""
    last_id = 0
    while True:
        query = (
            select(Submission)
            .where(Submission.dialogue_id == dialogue.id, Submission.id > last_id)
            .order_by(Submission.id)
            .limit(_BATCH)
            .options(
                selectinload(Submission.further_information),
                selectinload(Submission.consent_changes),
                selectinload(Submission.attachments),
                selectinload(Submission.triage_notes),
                selectinload(Submission.messages),
            )
        )
        if session_id is not None:
            query = query.where(Submission.session_id == session_id)
        batch = list(session.scalars(query))
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def _desk_key_entry(session: Session, key: DeskKey, recovery_key: RecoveryKey) -> dict[str, Any]:
    grant = session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == key.id, DeskKeyGrant.recovery_key_id == recovery_key.id
        )
    ).first()
    if grant is None:
        raise BundleError(f"desk key {key.key_id.hex()} has no grant to the recovery key")
    return {
        "key_id": key.key_id.hex(),
        "public_key": _b64(key.public_key),
        "recovery_grant": _b64(grant.envelope),
    }


def _submission_entry(submission: Submission, key_ids: dict[int, str]) -> dict[str, Any]:
    def sealed(item: Any, **extra: Any) -> dict[str, Any]:
        return {**extra, "desk_key_id": key_ids[item.desk_key_id], "envelope": _b64(item.envelope)}

    duplicate = submission.duplicate_of
    return {
        "public_id": submission.public_id,
        "kind": str(submission.kind),
        "session": submission.session_id,
        "received_on": submission.received_on.isoformat(),
        "state": str(submission.state),
        "topic_tags": list(submission.topic_tags),
        "urgent": submission.urgent,
        "risk_level": None if submission.risk_level is None else str(submission.risk_level),
        "risk_reassess_on": _date(submission.risk_reassess_on),
        "gender_specific_risk": submission.gender_specific_risk,
        "risk_hold": submission.risk_hold,
        "decline_reason": None
        if submission.decline_reason is None
        else str(submission.decline_reason),
        "duplicate_of": None if duplicate is None else duplicate.public_id,
        **sealed(submission),
        "further_information": [
            sealed(item, received_on=item.received_on.isoformat())
            for item in submission.further_information
        ],
        "consent_changes": [
            sealed(item, received_on=item.received_on.isoformat())
            for item in submission.consent_changes
        ],
        "attachments": [
            {
                "public_id": item.public_id,
                "file": f"{ATTACHMENTS_FOLDER}/{item.storage_name}",
                "ciphertext_size": item.ciphertext_size,
                "desk_key_id": key_ids[submission.desk_key_id],
                "keys_envelope": _b64(item.keys_envelope),
            }
            for item in submission.attachments
        ],
        "notes": [
            sealed(
                note,
                id=note.id,
                written_on=note.created_at.date().isoformat(),
                author=note.author.display_name,
            )
            for note in submission.triage_notes
        ],
        "messages": [
            sealed(
                message,
                public_id=message.public_id,
                written_by=str(message.written_by),
                author=None if message.author is None else message.author.display_name,
                sent_on=message.sent_on.isoformat(),
            )
            for message in submission.messages
        ],
    }


def _copy_file(
    archive: zipfile.ZipFile, storage: EncryptedStorage, name: str, size: int, today: dt.date
) -> None:
    storage_name = name.removeprefix(f"{ATTACHMENTS_FOLDER}/")
    info = zipfile.ZipInfo(name, date_time=_zip_time(today))
    info.compress_type = zipfile.ZIP_STORED
    copied = 0
    try:
        source = storage.open(storage_name)
    except OSError:
        raise BundleError(
            "an attachment's file is missing from storage (deleted meanwhile?); export again"
        ) from None
    with source, archive.open(info, "w", force_zip64=True) as target:
        while data := source.read(_COPY_CHUNK):
            target.write(data)
            copied += len(data)
    if copied != size:
        raise BundleError("an attachment's file in storage has the wrong size; export again")


def _zip_time(today: dt.date) -> tuple[int, int, int, int, int, int]:
    return (max(today.year, 1980), today.month, today.day, 0, 0, 0)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


# --- offline decryption ------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineKey:
    """The key typed into ``portal decrypt``: the recovery key or one desk key."""

    kind: str  # "recovery" or "desk"
    private_key: crypto.PrivateKey


@dataclass(frozen=True)
class DecryptSummary:
    """What an offline decryption wrote (counts only)."""

    submissions: int
    attachments: int
    skipped: int


def read_offline_key(text: str) -> OfflineKey:
    """The recovery key or desk key in ``text``; ``BundleError`` naming what is wrong."""
    text = text.strip()
    try:
        if text.startswith(RECOVERY_KEY_PREFIX):
            return OfflineKey("recovery", crypto.import_recovery_key(text))
        if text.startswith(DESK_KEY_PREFIX):
            return OfflineKey("desk", import_desk_key(text))
    except ValueError as error:
        raise BundleError(str(error)) from None
    raise BundleError(
        f"give the recovery key ({RECOVERY_KEY_PREFIX}...) or a desk key ({DESK_KEY_PREFIX}...) "
        "on standard input"
    )


def decrypt_bundle(bundle_path: Path, out_dir: Path, key: OfflineKey) -> DecryptSummary:
    """Decrypt the bundle into ``out_dir`` (see the module docstring); all or nothing."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise BundleError(f"{out_dir} exists and is not an empty folder")
    if not out_dir.parent.is_dir():
        raise BundleError(f"the folder {out_dir.parent} does not exist")
    try:
        archive = zipfile.ZipFile(bundle_path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BundleError(f"{bundle_path} is not a readable bundle: {error}") from None
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        with archive:
            manifest = _read_manifest(archive)
            summary = _Decryption(archive, manifest, key, staging).run()
        staging.chmod(OUTPUT_MODE)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
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
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not a {BUNDLE_FORMAT} bundle")
    return manifest


@dataclass
class _Decryption:
    """One run of offline decryption into the staging folder."""

    archive: zipfile.ZipFile
    manifest: dict[str, Any]
    key: OfflineKey
    root: Path
    slug: str = ""
    held: dict[str, crypto.PrivateKey] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    attachments: int = 0

    def run(self) -> DecryptSummary:
        slug = _text(self.manifest, "dialogue", "the manifest")
        self.slug = slug
        self.held = self._open_keys(slug)
        submissions = _list(self.manifest, "submissions", "the manifest")
        index = []
        seen: set[str] = set()
        for position, entry in enumerate(submissions):
            if not isinstance(entry, dict):
                raise BundleError(f"submission {position} of the manifest is not an object")
            public_id = _text(entry, "public_id", f"submission {position}")
            if not is_public_id(public_id) or public_id in seen:
                raise BundleError(f"submission {position} has a bad or repeated public id")
            seen.add(public_id)
            index.append(self._submission(public_id, entry))
        _write_json(
            self.root / "index.json",
            {
                "format": BUNDLE_FORMAT,
                "dialogue": slug,
                "session": self.manifest.get("session"),
                "exported_on": self.manifest.get("exported_on"),
                "decrypted_with": self.key.kind,
                "submissions": index,
            },
        )
        _write_json(self.root / "skipped.json", self.skipped)
        return DecryptSummary(len(index), self.attachments, len(self.skipped))

    # keys

    def _open_keys(self, slug: str) -> dict[str, crypto.PrivateKey]:
        listed = {}
        for position, entry in enumerate(_list(self.manifest, "desk_keys", "the manifest")):
            where = f"desk key {position}"
            if not isinstance(entry, dict):
                raise BundleError(f"{where} of the manifest is not an object")
            key_id = _key_id(entry, "key_id", where)
            public_key = _bytes(entry, "public_key", where)
            if len(public_key) != crypto.keys.KEY_SIZE or crypto.key_id(public_key).hex() != key_id:
                raise BundleError(f"{where} of the manifest does not match its key id")
            listed[key_id] = (public_key, entry)
        own_public = crypto.public_key_bytes(self.key.private_key)
        own_id = crypto.key_id(own_public).hex()
        if self.key.kind == "desk":
            if own_id not in listed:
                raise BundleError("this desk key is not one of the bundle's desk keys")
            return {own_id: self.key.private_key}
        if _key_id(self.manifest, "recovery_key_id", "the manifest") != own_id:
            raise BundleError("this recovery key is not the one of the instance that made it")
        held = {}
        for key_id, (public_key, entry) in listed.items():
            grant = _bytes(entry, "recovery_grant", f"desk key {key_id}")
            context = desk_key_grant_context(slug, bytes.fromhex(key_id))
            try:
                raw = crypto.open_envelope(grant, self.key.private_key, context)
                private_key = crypto.load_private_key(raw)
            except crypto.CryptoError:
                raise BundleError(
                    f"the recovery grant of desk key {key_id} does not open"
                ) from None
            if crypto.public_key_bytes(private_key) != public_key:
                raise BundleError(f"the recovery grant of desk key {key_id} holds another key")
            held[key_id] = private_key
        return held

    def _open(self, what: str, entry: dict[str, Any], field_name: str, context: str) -> Any:
        """The JSON inside one envelope, or ``None`` if its desk key was not supplied."""
        key_id = _key_id(entry, "desk_key_id", what)
        envelope = _bytes(entry, field_name, what)
        private_key = self.held.get(key_id)
        if private_key is None:
            self.skipped.append({"item": what, "desk_key_id": key_id})
            return None
        try:
            plaintext = crypto.open_envelope(envelope, private_key, context)
            return json.loads(plaintext.decode("utf-8"))
        except crypto.CryptoError:
            raise BundleError(
                f"{what} does not open: tampered with, or not this bundle's"
            ) from None
        except (UnicodeDecodeError, ValueError):
            raise BundleError(f"{what} opened but does not hold JSON") from None

    # submissions

    def _submission(self, public_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        where = f"submission {public_id}"
        try:
            kind = SubmissionKind(_text(entry, "kind", where))
        except ValueError:
            raise BundleError(f"{where} has an unknown kind") from None
        session_id = entry.get("session")
        if session_id is not None and (not isinstance(session_id, int) or session_id < 1):
            raise BundleError(f"{where} has a bad session id")
        address = SubmissionAddress(
            Dialogue(slug=self.slug),
            None if session_id is None else DialogueSession(id=session_id),
            kind,
            public_id,
        )
        folder = self.root / public_id
        folder.mkdir(mode=OUTPUT_MODE)
        metadata = {
            name: entry.get(name)
            for name in (
                "public_id",
                "kind",
                "session",
                "received_on",
                "state",
                "topic_tags",
                "urgent",
                "risk_level",
                "risk_reassess_on",
                "gender_specific_risk",
                "risk_hold",
                "decline_reason",
                "duplicate_of",
            )
        }
        payload = self._open(where, entry, "envelope", submission_context(address))
        _write_json(folder / "submission.json", {**metadata, "payload": payload})
        _write_json(
            folder / "further_information.json",
            [
                {
                    "received_on": item.get("received_on"),
                    "payload": self._open(
                        f"further information {n} of {where}",
                        item,
                        "envelope",
                        further_information_context(address),
                    ),
                }
                for n, item in enumerate(_objects(entry, "further_information", where))
            ],
        )
        _write_json(
            folder / "consent_changes.json",
            [
                {
                    "received_on": item.get("received_on"),
                    "payload": self._open(
                        f"consent change {n} of {where}",
                        item,
                        "envelope",
                        consent_change_context(address),
                    ),
                }
                for n, item in enumerate(_objects(entry, "consent_changes", where))
            ],
        )
        _write_json(folder / "notes.json", self._notes(address, entry, where))
        _write_json(folder / "messages.json", self._messages(address, entry, where))
        files = self._attachments(address, entry, where, folder / ATTACHMENTS_FOLDER)
        return {"public_id": public_id, "kind": str(kind), "folder": public_id, "files": files}

    def _notes(
        self, address: SubmissionAddress, entry: dict[str, Any], where: str
    ) -> list[dict[str, Any]]:
        context_of = _note_context_function()
        notes = []
        for n, item in enumerate(_objects(entry, "notes", where)):
            what = f"note {n} of {where}"
            note_id = item.get("id")
            if not isinstance(note_id, int):
                raise BundleError(f"{what} has no id")
            if context_of is None:
                self.skipped.append({"item": what, "reason": "no note context in this release"})
                payload = None
            else:
                context = context_of(_transient_submission(address), note_id)
                payload = self._open(what, item, "envelope", context)
            notes.append(
                {
                    "written_on": item.get("written_on"),
                    "author": item.get("author"),
                    "payload": payload,
                }
            )
        return notes

    def _messages(
        self, address: SubmissionAddress, entry: dict[str, Any], where: str
    ) -> list[dict[str, Any]]:
        from portal.services.submissions import contexts

        context_of = getattr(contexts, "desk_message_context", None)
        messages = []
        for n, item in enumerate(_objects(entry, "messages", where)):
            what = f"message {n} of {where}"
            message_id = _text(item, "public_id", what)
            if context_of is None:
                self.skipped.append({"item": what, "reason": "no message context in this release"})
                payload = None
            else:
                payload = self._open(what, item, "envelope", context_of(address, message_id))
            messages.append(
                {
                    "written_by": item.get("written_by"),
                    "author": item.get("author"),
                    "sent_on": item.get("sent_on"),
                    "payload": payload,
                }
            )
        return messages

    def _attachments(
        self, address: SubmissionAddress, entry: dict[str, Any], where: str, folder: Path
    ) -> list[str]:
        written = []
        for n, item in enumerate(_objects(entry, "attachments", where), start=1):
            attachment_id = _text(item, "public_id", f"attachment {n} of {where}")
            what = f"attachment {attachment_id} of {where}"
            if not is_public_id(attachment_id):
                raise BundleError(f"{what} has a bad public id")
            record = self._open(
                what, item, "keys_envelope", attachment_keys_context(address, attachment_id)
            )
            if record is None:
                continue
            member = _text(item, "file", what)
            storage_name = member.removeprefix(f"{ATTACHMENTS_FOLDER}/")
            if member == storage_name or not _STORAGE_NAME.fullmatch(storage_name):
                raise BundleError(f"{what} names a bad file")
            try:
                file_key = base64.b64decode(record["key"], validate=True)
                size = record["size"]
                name = str(record["name"])
            except (KeyError, TypeError, binascii.Error):
                raise BundleError(f"{what} has a malformed keys record") from None
            folder.mkdir(mode=OUTPUT_MODE, exist_ok=True)
            target_name = f"{n:02d}-{safe_file_name(name)}"
            with _create(folder / target_name) as target:
                written_size = self._decrypt_member(member, target, file_key, what)
            if written_size != size:
                raise BundleError(f"{what} decrypted to a size other than its record says")
            written.append(f"{ATTACHMENTS_FOLDER}/{target_name}")
            self.attachments += 1
        return written

    def _decrypt_member(self, member: str, target: IO[bytes], file_key: bytes, what: str) -> int:
        try:
            source = self.archive.open(member)
        except KeyError:
            raise BundleError(f"{what}: the file {member} is missing from the bundle") from None
        try:
            with source:
                return crypto.decrypt_file(source, target, file_key)
        except (crypto.CryptoError, zipfile.BadZipFile, OSError):
            raise BundleError(
                f"{what}: the file does not decrypt; tampered with or cut short"
            ) from None


def safe_file_name(name: str) -> str:
    """An original attachment name made safe to write: no folders, no control or odd characters.

    Keeps letters and digits of any script and ``. _ - ( )`` and space; anything else becomes
    ``_``; no leading dot or space; at most 100 characters (the extension kept when it can be).
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch if ch.isalnum() or ch in "._-() " else "_" for ch in name)
    cleaned = cleaned.strip().lstrip(". ")
    if len(cleaned) > _MAX_SAFE_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10 and stem:
            cleaned = f"{stem[: _MAX_SAFE_NAME - len(extension) - 1]}.{extension}"
        else:
            cleaned = cleaned[:_MAX_SAFE_NAME]
    return cleaned or "attachment"


def _note_context_function() -> Callable[[Submission, int], str] | None:
    """``portal.services.staff.triage.note_context``, if this release defines it."""
    try:
        from portal.services.staff import triage
    except ImportError:
        return None
    return getattr(triage, "note_context", None)


def _transient_submission(address: SubmissionAddress) -> Submission:
    """A submission object that is never stored, for the context helpers that take one."""
    return Submission(
        dialogue=address.dialogue,
        session=address.dialogue_session,
        kind=address.kind,
        public_id=address.public_id,
    )


def _create(path: Path) -> IO[bytes]:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")


def _write_json(path: Path, value: Any) -> None:
    with _create(path) as handle:
        handle.write(json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")


def _text(entry: dict[str, Any], name: str, where: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise BundleError(f"{where} has no {name}")
    return value


def _key_id(entry: dict[str, Any], name: str, where: str) -> str:
    value = _text(entry, name, where)
    if not _KEY_ID_HEX.fullmatch(value):
        raise BundleError(f"{where} has a malformed {name}")
    return value


def _bytes(entry: dict[str, Any], name: str, where: str) -> bytes:
    try:
        return base64.b64decode(_text(entry, name, where), validate=True)
    except binascii.Error:
        raise BundleError(f"{where} has a malformed {name}") from None


def _list(entry: dict[str, Any], name: str, where: str) -> list[Any]:
    value = entry.get(name)
    if not isinstance(value, list):
        raise BundleError(f"{where} has no list of {name}")
    return value


def _objects(entry: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    items = _list(entry, name, where)
    if not all(isinstance(item, dict) for item in items):
        raise BundleError(f"{where} has a malformed list of {name}")
    return items
