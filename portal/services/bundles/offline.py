"""``portal decrypt``: a bundle opened on an offline machine, all or nothing.

It needs neither the instance folder, nor the database, nor the settings, nor a Flask
application: only the bundle and a key. The key is either

- the recovery key (``parley-recovery-v1:...``): it must be the bundle's (``recovery_key_id``);
  every desk key's ``recovery_grant`` is opened with it, and each must hold the private half of
  the public key listed; or
- a desk key (``parley-desk-key-v1:...``, ``crypto.keys.export_desk_key``): it must be one of the
  bundle's desk keys.

Every envelope is opened under the context this release's ``portal.services.contexts`` builds
from the manifest's own fields, so an envelope moved to another entry does not open. Before an
item is opened, the rule of ``portal.services.submissions.provenance`` is applied to it, as on
the server: a signed item opens under its v2 context at its position, once its signature
verifies with the key its submission names (desk messages with the signing key of the desk key
they are sealed to, derived from the private half supplied); an item sent before signatures opens
under its v1 context. Each written item says which (``"provenance"``). An item that fails the
rule is tampering and stops the decryption like an envelope that does not open; the items of a
submission whose own envelope was skipped are skipped too, since nothing anchors them. Items
sealed to a desk key that was not supplied (for instance submissions from before the switch to
offline review, sealed to an older desk key, when decrypting with the newer desk key) are
*skipped*, not attempted, and listed in ``skipped.json``; the recovery key opens them. Anything
else that fails -- an envelope or file that does not open, a record that does not match, a
manifest that does not parse -- stops the decryption: the partial output is removed and nothing
is left behind. The output is written into a private staging folder next to the target and
renamed to it only when everything has been decrypted.

The manifest is read whole (it holds envelopes, at most ``manifest.MAX_MANIFEST_BYTES``);
attachment files are decrypted in chunks, in bounded memory, straight from the ZIP. What the
output folder holds is specified in docs/FORMATS.md, "Bundle v1". A briefing bundle (a session's
briefing pack, "Briefing bundle v1") opens with the same keys and is checked and written by
``briefing_offline``.
"""

import json
import os
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import crypto
from crypto.file_padding import unpadded
from crypto.keys import DESK_KEY_PREFIX, RECOVERY_KEY_PREFIX, import_desk_key
from portal.models import Dialogue, DialogueSession, SubmissionKind
from portal.services.bundles.briefing_offline import open_briefing
from portal.services.bundles.manifest import (
    ATTACHMENTS_FOLDER,
    BRIEFING_BUNDLE_FORMAT,
    BRIEFING_DATA,
    BRIEFING_DOCUMENT,
    BUNDLE_FORMAT,
    BundleError,
    bytes_field,
    key_id_field,
    list_field,
    objects_field,
    read_manifest,
    require_attachment_member,
    text_field,
)
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    attachment_keys_context,
    consent_change_context,
    desk_key_grant_context,
    desk_message_context,
    further_information_context,
    identity_key_grant_context,
    is_public_id,
    signed_attachment_keys_context,
    signed_consent_change_context,
    signed_desk_message_context,
    signed_further_information_context,
    signed_submission_context,
    submission_context,
)
from portal.services.staff.notes import NoteSeal, note_provenance
from portal.services.submissions.attachments import AttachmentKeys, read_keys_record
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.provenance import (
    Anchors,
    Provenance,
    UnverifiedSubmissionError,
    checked_anchors,
    identities_provenance,
    item_provenance,
    message_provenance,
)

OUTPUT_MODE = 0o700
_MAX_SAFE_NAME = 100


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
    briefing: bool = False  # a briefing bundle: the pack was written, there are no submissions


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
            manifest = read_manifest(archive)
            summary = _Decryption(archive, manifest, key, staging).run()
        staging.chmod(OUTPUT_MODE)
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


@dataclass
class _Decryption:
    """One run of offline decryption into the staging folder."""

    archive: zipfile.ZipFile
    manifest: dict[str, Any]
    key: OfflineKey
    root: Path
    slug: str = ""
    held: dict[str, crypto.PrivateKey] = field(default_factory=dict)
    identity_held: dict[str, crypto.PrivateKey] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    attachments: int = 0

    def run(self) -> DecryptSummary:
        slug = text_field(self.manifest, "dialogue", "the manifest")
        self.slug = slug
        self.held = self._open_keys(slug)
        if self.manifest.get("format") == BRIEFING_BUNDLE_FORMAT:
            return self._briefing(slug)
        submissions = list_field(self.manifest, "submissions", "the manifest")
        index = []
        seen: set[str] = set()
        for position, entry in enumerate(submissions):
            if not isinstance(entry, dict):
                raise BundleError(f"submission {position} of the manifest is not an object")
            public_id = text_field(entry, "public_id", f"submission {position}")
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

    def _briefing(self, slug: str) -> DecryptSummary:
        """A briefing bundle: the checked pack as ``briefing.html`` and ``briefing.json``."""
        opened = open_briefing(self.manifest, self.held)
        with _create(self.root / BRIEFING_DOCUMENT) as handle:
            handle.write(opened.document.encode("utf-8"))
        _write_json(self.root / BRIEFING_DATA, opened.pack)
        _write_json(
            self.root / "index.json",
            {
                "format": BRIEFING_BUNDLE_FORMAT,
                "dialogue": slug,
                "session": self.manifest.get("session"),
                "exported_on": self.manifest.get("exported_on"),
                "decrypted_with": self.key.kind,
                "author": opened.author,
                "author_id": opened.author_id,
                "provenance": str(Provenance.SIGNED),
                "document": BRIEFING_DOCUMENT,
                "data": BRIEFING_DATA,
            },
        )
        return DecryptSummary(0, 0, 0, briefing=True)

    # keys

    def _open_keys(self, slug: str) -> dict[str, crypto.PrivateKey]:
        listed = {}
        for position, entry in enumerate(list_field(self.manifest, "desk_keys", "the manifest")):
            where = f"desk key {position}"
            if not isinstance(entry, dict):
                raise BundleError(f"{where} of the manifest is not an object")
            key_id = key_id_field(entry, "key_id", where)
            public_key = bytes_field(entry, "public_key", where)
            if len(public_key) != crypto.keys.KEY_SIZE or crypto.key_id(public_key).hex() != key_id:
                raise BundleError(f"{where} of the manifest does not match its key id")
            listed[key_id] = (public_key, entry)
        own_public = crypto.public_key_bytes(self.key.private_key)
        own_id = crypto.key_id(own_public).hex()
        if self.key.kind == "desk":
            if own_id not in listed:
                raise BundleError("this desk key is not one of the bundle's desk keys")
            return {own_id: self.key.private_key}
        if key_id_field(self.manifest, "recovery_key_id", "the manifest") != own_id:
            raise BundleError("this recovery key is not the one of the instance that made it")
        held = {}
        for key_id, (public_key, entry) in listed.items():
            grant = bytes_field(entry, "recovery_grant", f"desk key {key_id}")
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
            self._open_identity_key(slug, key_id, entry.get("identity_key"))
        return held

    def _open_identity_key(self, slug: str, desk_key_id: str, entry: Any) -> None:
        """Open the identity key listed with a desk key (recovery key only: a desk key file
        does not open the names, as no desk member's key does)."""
        if entry is None:
            return
        where = f"the identity key of desk key {desk_key_id}"
        if not isinstance(entry, dict):
            raise BundleError(f"{where} is not an object")
        key_id = key_id_field(entry, "key_id", where)
        public_key = bytes_field(entry, "public_key", where)
        context = identity_key_grant_context(slug, bytes.fromhex(key_id))
        try:
            raw = crypto.open_envelope(
                bytes_field(entry, "recovery_grant", where), self.key.private_key, context
            )
            private_key = crypto.load_private_key(raw)
        except crypto.CryptoError:
            raise BundleError(f"the recovery grant of {where} does not open") from None
        if crypto.public_key_bytes(private_key) != public_key:
            raise BundleError(f"the recovery grant of {where} holds another key")
        self.identity_held[key_id] = private_key

    def _names(
        self,
        where: str,
        entry: dict[str, Any],
        address: SubmissionAddress,
        payload: Any,
        anchors: Anchors | None,
    ) -> tuple[str, Any]:
        """The payload with the persons' names put back when they open here, and which of
        ``in_submission``, ``open`` or ``sealed`` (left out of the bundle, or no key) applies.
        Names that fail ``provenance.identities_provenance``'s rule stop the run."""
        if "identities" not in entry:
            return "in_submission", payload
        identities = entry["identities"]
        if identities is None or payload is None or anchors is None:
            return "sealed", payload
        what = f"the names of {where}"
        if not isinstance(identities, dict):
            raise BundleError(f"{what} are not an object")
        key_id = key_id_field(identities, "identity_key_id", what)
        private_key = self.identity_held.get(key_id)
        if private_key is None:
            self.skipped.append({"item": what, "identity_key_id": key_id})
            return "sealed", payload
        envelope = bytes_field(identities, "envelope", what)
        provenance, context = identities_provenance(
            anchors.submission_key,
            address,
            envelope,
            _optional_bytes(identities, "signature", what),
        )
        if provenance is Provenance.UNVERIFIED:
            raise BundleError(f"{what} could not be verified: tampered with")
        try:
            plaintext = crypto.open_envelope(envelope, private_key, context)
            opened = json.loads(plaintext.decode("utf-8"))
        except crypto.CryptoError:
            raise BundleError(f"{what} do not open: tampered with, or not this bundle's") from None
        except (UnicodeDecodeError, ValueError):
            raise BundleError(f"{what} opened but do not hold JSON") from None
        if not isinstance(opened, dict):
            raise BundleError(f"{what} do not hold an object")
        return "open", merge_identities(payload, opened, address.kind)

    def _open(self, what: str, entry: dict[str, Any], field_name: str, context: str) -> Any:
        """The JSON inside one envelope, or ``None`` if its desk key was not supplied."""
        key_id = key_id_field(entry, "desk_key_id", what)
        envelope = bytes_field(entry, field_name, what)
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
            kind = SubmissionKind(text_field(entry, "kind", where))
        except ValueError:
            raise BundleError(f"{where} has an unknown kind") from None
        session_id = entry.get("session")
        if session_id is not None and (not isinstance(session_id, int) or session_id < 1):
            raise BundleError(f"{where} has a bad session id")
        # Transient objects, never stored: the address only reads the slug and the session id.
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
                "women_hrd",
                "risk_hold",
                "decline_reason",
                "duplicate_of",
            )
        }
        signature = _optional_bytes(entry, "signature", where)
        signed_context = signed_submission_context(address)
        context = signed_context if signature is not None else submission_context(address)
        payload = self._open(where, entry, "envelope", context)
        anchors = None
        if payload is not None:
            try:
                anchors = checked_anchors(
                    payload if isinstance(payload, dict) else {},
                    signature=signature,
                    mirror=None,
                    signed_context=signed_context,
                    envelope=bytes_field(entry, "envelope", where),
                )
            except UnverifiedSubmissionError:
                raise BundleError(f"{where} could not be verified: tampered with") from None
        provenance = None if anchors is None else _provenance_of(anchors)
        names, payload = self._names(where, entry, address, payload, anchors)
        _write_json(
            folder / "submission.json",
            {**metadata, "names": names, "provenance": provenance, "payload": payload},
        )
        for name, label, unsigned, signed in (
            (
                "further_information",
                "further information",
                further_information_context,
                signed_further_information_context,
            ),
            (
                "consent_changes",
                "consent change",
                consent_change_context,
                signed_consent_change_context,
            ),
        ):
            _write_json(
                folder / f"{name}.json",
                [
                    {
                        "received_on": item.get("received_on"),
                        **self._checked(
                            f"{label} {n} of {where}",
                            item,
                            "envelope",
                            anchors,
                            None if anchors is None else anchors.submission_key,
                            signed_of=lambda position, signed=signed: signed(address, position),
                            unsigned=unsigned(address),
                        ),
                    }
                    for n, item in enumerate(objects_field(entry, name, where))
                ],
            )
        _write_json(folder / "notes.json", self._notes(address, entry, where, anchors))
        _write_json(folder / "messages.json", self._messages(address, entry, where, anchors))
        files = self._attachments(address, entry, where, folder / ATTACHMENTS_FOLDER, anchors)
        return {"public_id": public_id, "kind": str(kind), "folder": public_id, "files": files}

    def _checked(
        self,
        what: str,
        item: dict[str, Any],
        field_name: str,
        anchors: Anchors | None,
        signing_key: bytes | None,
        *,
        signed_of: Any,
        unsigned: str,
        from_desk: bool | None = None,
        positioned: bool = True,
    ) -> dict[str, Any]:
        """``provenance``'s rule for one item, then the item opened: ``{"provenance": ...,
        "payload": ...}``, both null when it is skipped. ``from_desk`` is given for messages
        only (see ``provenance.message_provenance``); an attachment's keys record is not
        ``positioned``: it belongs to the submission's own place."""
        if anchors is None:
            self.skipped.append(
                {"item": what, "desk_key_id": key_id_field(item, "desk_key_id", what)}
            )
            return {"provenance": None, "payload": None}
        position = _position_field(item, what)
        signed_context = None if positioned and position is None else signed_of(position)
        envelope = bytes_field(item, field_name, what)
        signature = _optional_bytes(item, "signature", what)
        if from_desk is None:
            provenance = item_provenance(
                signing_key, signed_context=signed_context, envelope=envelope, signature=signature
            )
        else:
            provenance = message_provenance(
                anchors,
                from_desk=from_desk,
                desk_signing_key=signing_key,
                signed_context=signed_context,
                envelope=envelope,
                signature=signature,
            )
        if provenance is Provenance.UNVERIFIED:
            raise BundleError(f"{what} could not be verified: tampered with")
        context = signed_context if provenance is Provenance.SIGNED else unsigned
        return {
            "provenance": str(provenance),
            "payload": self._open(what, item, field_name, context),
        }

    def _notes(
        self,
        address: SubmissionAddress,
        entry: dict[str, Any],
        where: str,
        anchors: Anchors | None,
    ) -> list[dict[str, Any]]:
        """Each note after ``notes.note_provenance``'s rule, checked with the signing key of
        the desk key it is sealed to (derived from the private half supplied) and opened."""
        notes = []
        for n, item in enumerate(objects_field(entry, "notes", where)):
            what = f"note {n} of {where}"
            note_id, author_id = item.get("id"), item.get("author_id")
            if not isinstance(note_id, int):
                raise BundleError(f"{what} has no id")
            if author_id is not None and not isinstance(author_id, int):
                raise BundleError(f"{what} has a bad author id")
            written = {"written_on": item.get("written_on"), "author": item.get("author")}
            key_id = key_id_field(item, "desk_key_id", what)
            held = self.held.get(key_id)
            if anchors is None or held is None:
                self.skipped.append({"item": what, "desk_key_id": key_id})
                notes.append({**written, "provenance": None, "payload": None})
                continue
            seal = NoteSeal(
                address,
                note_id,
                author_id,
                bytes_field(item, "envelope", what),
                _position_field(item, what),
                _optional_bytes(item, "signature", what),
                _optional_bytes(item, "author_signing_key", what),
                _optional_bytes(item, "author_certificate", what),
            )
            provenance, context = note_provenance(
                seal, held, submission_signed=anchors.submission_key is not None
            )
            if provenance is Provenance.UNVERIFIED:
                raise BundleError(f"{what} could not be verified: tampered with")
            payload = self._open(what, item, "envelope", context)
            notes.append({**written, "provenance": str(provenance), "payload": payload})
        return notes

    def _messages(
        self,
        address: SubmissionAddress,
        entry: dict[str, Any],
        where: str,
        anchors: Anchors | None,
    ) -> list[dict[str, Any]]:
        messages = []
        for n, item in enumerate(objects_field(entry, "messages", where)):
            what = f"message {n} of {where}"
            public_id = text_field(item, "public_id", what)
            from_desk = item.get("written_by") == "desk"
            way = Direction.TO_SUBMITTER if from_desk else Direction.TO_DESK
            signing_key = None if anchors is None else anchors.submission_key
            if from_desk:
                # Checked with the signing key of the desk key it is sealed to, derived from the
                # private half supplied; without it the message is skipped when opened.
                held = self.held.get(key_id_field(item, "desk_key_id", what))
                signing_key = None if held is None else crypto.desk_signing_public_key(held)
            messages.append(
                {
                    "written_by": item.get("written_by"),
                    "author": item.get("author"),
                    "sent_on": item.get("sent_on"),
                    **self._checked(
                        what,
                        item,
                        "envelope",
                        anchors,
                        signing_key,
                        signed_of=lambda position, public_id=public_id, way=way: (
                            signed_desk_message_context(address, public_id, position, way)
                        ),
                        unsigned=desk_message_context(address, public_id),
                        from_desk=from_desk,
                    ),
                }
            )
        return messages

    def _attachments(
        self,
        address: SubmissionAddress,
        entry: dict[str, Any],
        where: str,
        folder: Path,
        anchors: Anchors | None,
    ) -> list[str]:
        written = []
        for n, item in enumerate(objects_field(entry, "attachments", where), start=1):
            attachment_id = text_field(item, "public_id", f"attachment {n} of {where}")
            what = f"attachment {attachment_id} of {where}"
            if not is_public_id(attachment_id):
                raise BundleError(f"{what} has a bad public id")
            record = self._checked(
                what,
                item,
                "keys_envelope",
                anchors,
                None if anchors is None else anchors.submission_key,
                signed_of=lambda _position, attachment_id=attachment_id: (
                    signed_attachment_keys_context(address, attachment_id)
                ),
                unsigned=attachment_keys_context(address, attachment_id),
                positioned=False,
            )["payload"]
            if record is None:
                continue
            member = text_field(item, "file", what)
            require_attachment_member(member, what)
            try:
                keys = read_keys_record(record)
            except crypto.DecryptionError:
                raise BundleError(f"{what} has a malformed keys record") from None
            folder.mkdir(mode=OUTPUT_MODE, exist_ok=True)
            target_name = f"{n:02d}-{safe_file_name(keys.name)}"
            with _create(folder / target_name) as target:
                self._decrypt_member(member, target, keys, what)
            written.append(f"{ATTACHMENTS_FOLDER}/{target_name}")
            self.attachments += 1
        return written

    def _decrypt_member(
        self, member: str, target: IO[bytes], keys: AttachmentKeys, what: str
    ) -> None:
        """Write the true bytes of ``member`` to ``target``; a file that fails any check (its
        padding and recorded size included) stops the decryption."""
        try:
            source = self.archive.open(member)
        except KeyError:
            raise BundleError(f"{what}: the file {member} is missing from the bundle") from None
        try:
            with source:
                plaintext = crypto.decrypted_chunks(source, keys.file_key)
                for piece in unpadded(plaintext, keys.size, padded=keys.padded):
                    target.write(piece)
        except (crypto.CryptoError, zipfile.BadZipFile, OSError):
            raise BundleError(
                f"{what}: the file does not decrypt to its recorded size with zero padding;"
                " tampered with or cut short"
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


def _position_field(item: dict[str, Any], what: str) -> int | None:
    """An item's place in its history, ``None`` for one stored before signatures."""
    position = item.get("position")
    if position is not None and (isinstance(position, bool) or not isinstance(position, int)):
        raise BundleError(f"{what} has a bad position")
    return position


def _optional_bytes(entry: dict[str, Any], name: str, where: str) -> bytes | None:
    """A base64 field that is null for what was stored before signatures."""
    return None if entry.get(name) is None else bytes_field(entry, name, where)


def _provenance_of(anchors: Anchors) -> str:
    signed = anchors.submission_key is not None
    return str(Provenance.SIGNED if signed else Provenance.BEFORE_SIGNATURES)


def _create(path: Path) -> IO[bytes]:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")


def _write_json(path: Path, value: Any) -> None:
    with _create(path) as handle:
        handle.write(json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
