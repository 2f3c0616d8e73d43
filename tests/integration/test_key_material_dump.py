"""Acceptance 3: a database dump and the storage folder, without a cookie, decrypt nothing.

A rich instance is built on each backend: the demo (staff, dialogues, desk keys and their grants,
passphrase-wrapped personal keys, TOTP secrets), submissions through the no-JavaScript form and
through the sealed (JavaScript) endpoint, each with an attachment, an upload left unfinished, a
signed-in staff member's session, a submitter's inbox sessions (key on the server, and key held by
the browser), a triage note and a desk message. Then, holding only what a seized server gives --
every row of every table, read generically through reflection so that tables added later are
covered too, every file of the storage folder and, on SQLite, the database file with its
write-ahead log and the log's index, but neither a cookie nor the secrets file --
the test gathers every piece of key material it can find and tries each one against everything
that is encrypted:

- every 32-byte value, every 32-byte window of every small binary value (up to 128 bytes), and
  every string that is (or decodes from hex or base64 to) such bytes, as an X25519 private key
  against every envelope slot, as a symmetric key against every box (under every purpose the
  code uses), as an envelope's data key against every envelope payload, and as a file key against
  every STREAM file;
- every string that reads as a recovery key or a codename, as that;
- plausible strings (12 characters or more, not identifiers or encodings) as the passphrase of
  every passphrase-wrapped personal key, after checking that each is wrapped under Argon2id with
  at least the default cost.

Envelopes are attacked without their context: the context digest is read from the envelope
itself and the wrap opened at the HPKE layer, which is more than ``crypto.open_envelope`` allows.
A wrap is the HPKE seal of the data key to one recipient's public key, so only the private key of
that public key can open it; a candidate whose public key id is not among an envelope's slots is
therefore counted as failing without spending an X25519 operation on each slot, and any candidate
whose key id does match is both a failure of the test by itself and tried for real.

Nothing may open. The same harness then gets the keys a dump does not hold -- the recovery key
printed by ``portal init``, a staff passphrase, the session cookie keys and the at-rest key of the
secrets file -- and must open the corresponding envelopes, boxes, wrapped key and files, so the
test cannot pass because the harness is unable to open anything. Those keys, and the desk and
personal keys they open, must then appear in no SQLite file, raw or encoded, since the raw files
also hold what rows no longer show (deleted rows, older page images in the log).
"""

import base64
import binascii
import contextlib
import html
import io
import json
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import crypto
from crypto.hpke import hpke_open
from portal import create_app
from portal.instance import InstanceFolder
from portal.models import (
    DeskKey,
    DeskMessage,
    Dialogue,
    MessageAuthor,
    StaffUser,
    Submission,
    SubmissionKind,
    TriageNote,
    utc_now,
)
from portal.services.contexts import (
    CODENAME_RETYPE_CHECK_PURPOSE,
    SIGN_IN_CHALLENGE_PURPOSE,
    STAFF_KNOWN_DEVICE_PURPOSE,
    STAFF_SESSION_PURPOSE,
    STAFF_TOTP_SECRET_PURPOSE,
    SUBMITTER_SESSION_PURPOSE,
    SubmissionAddress,
    desk_key_confirmation_purpose,
    is_public_id,
    new_public_id,
    pending_totp_secret_purpose,
    staff_session_purpose,
)
from portal.services.desks.keys import current_desk_key
from portal.services.staff.web_sessions import start_staff_session
from portal.services.submissions.inbox_web_sessions import start_browser_held_session, start_session
from portal.services.submissions.payload import encode_payload
from portal.services.submissions.provenance import signatures_block
from tests.conftest import DemoInstance, sqlite_files
from tests.integration.forms_client import (
    codename_in,
    open_form,
    open_session_url,
    post_form,
)
from tests.integration.test_forms_sealed import (
    DATA_ATTRIBUTE,
    BrowserSubmission,
    post_sealed,
    seal_in_browser,
    signed_again,
)
from tests.integration.test_forms_sealed_attachments import _attach, _upload
from tests.staff_sessions_support import demo_credentials

MARKER = "KEYDUMP-7c41e0"
ENVELOPE_MAGIC, BOX_MAGIC, WRAPPED_MAGIC, STREAM_MAGIC = b"PRLE", b"PRLB", b"PRLK", b"PRLS"
KEY_SIZE = 32
SMALL_BINARY = 128  # every 32-byte window of binary values up to this size is a candidate
PASSPHRASE_MIN_LENGTH = 12
PASSPHRASE_ATTEMPTS = 120  # in all; Argon2id at the default cost takes about 0.1 s each

# Envelope layout (crypto/envelope.py).
_FIXED_HEADER = 4 + 1 + 1 + 32 + 1
_SLOT, _KEY_ID, _NONCE = 96, 16, 12
_WRAP_INFO_LABEL = b"parley envelope v1\x00"
# Box layout (crypto/symmetric.py).
_BOX_HEADER = 4 + 1 + 12
_BOX_AAD_LABEL = b"parley box v1\x00"

# Every module that seals a box; a new one must add its purposes to ``_box_purposes``.
BOX_SEALING_MODULES = {
    "portal/blueprints/staff_account.py",
    "portal/services/desks/confirmations.py",
    "portal/forms_web/codename_check.py",
    "portal/services/staff/accounts.py",
    "portal/services/staff/web_sessions.py",
    "portal/services/submissions/inbox_web_sessions.py",
    "portal/services/proof_of_work.py",
    "portal/services/staff/known_devices.py",
}
ROOT = Path(__file__).resolve().parents[2]
BOX_SEALING_CALL = re.compile(r"\bseal_box(_token)?\(")


# --- the rich instance -------------------------------------------------------------------------


@dataclass
class Secrets:
    """What a dump does not hold, kept for the positive controls only."""

    recovery_key: crypto.PrivateKey
    staff_email: str
    staff_passphrase: str
    staff_session_key: bytes
    submitter_session_keys: list[bytes]
    at_rest_key: bytes
    codename: str


def _case_fields() -> dict[str, str]:
    return {
        "situation": f"situation {MARKER}",
        "place": f"place {MARKER}",
        "dates": f"dates {MARKER}",
        "relation_to_person": f"relation {MARKER}",
        "earlier_referrals": f"referrals {MARKER}",
        "persons.0.name": f"name {MARKER}",
        "persons.0.consent.level": "internal_only",
        "persons.0.consent.given_by": "person",
        "persons.0.consent.risks_explained": "yes",
    }


def _send_content(app: Flask) -> str:
    """A no-JavaScript and a sealed submission with attachments, and an unfinished upload."""
    url = open_session_url(app, "individual-case")
    with app.test_client() as client:
        form = open_form(client, url)
        attachment = (f"plain attachment {MARKER}\n" * 5000).encode()
        status, page = post_form(
            client,
            form,
            {**_case_fields(), "attachments": [(io.BytesIO(attachment), "evidence.txt")]},
        )
        assert status == 200
        codename = codename_in(page)
    with app.test_client() as client:
        sent = seal_in_browser(client, url, SubmissionKind.INDIVIDUAL_CASE)
        reseal(sent, {**sent.payload, "situation": f"situation {MARKER}"})
        file = _upload(client, sent, (f"sealed attachment {MARKER}\n" * 4000).encode())
        _attach(sent, file, "report.pdf")
        status, answer = post_sealed(client, sent)
        assert status == 200, answer
        unfinished = seal_in_browser(client, url, SubmissionKind.INDIVIDUAL_CASE)
        _upload(client, unfinished, f"unfinished {MARKER}".encode() * 100, complete=False)
    return codename


def reseal(sent: BrowserSubmission, payload: dict[str, Any]) -> None:
    """Seal and sign ``payload`` in place of what ``seal_in_browser`` sealed, as the page would
    (naming the signing keys inside it)."""
    data = {name: html.unescape(value) for name, value in DATA_ATTRIBUTE.findall(sent.form.html)}
    signatures = signatures_block(
        base64.b64decode(sent.body["signing_key"]),
        bytes.fromhex(data["desk-signing-key"]),
        bytes.fromhex(data["recovery-signing-key"]) or None,
    )
    envelope = crypto.seal_envelope(
        encode_payload({**payload, "signatures": signatures}),
        [bytes.fromhex(data["desk-key"]), base64.b64decode(sent.body["submission_key"])],
        data["context"],
    )
    signed_again(sent, envelope)


def _add_sessions_notes_and_messages(instance: DemoInstance, codename: str) -> Secrets:
    triage = demo_credentials(instance.credentials_file)["triage_officer"]
    at_rest_key = InstanceFolder(instance.settings.instance_dir).load_secrets().at_rest_key
    engine = create_engine(instance.settings.database_url, poolclass=NullPool)
    now = utc_now()
    try:
        with Session(engine) as session:
            user = session.scalars(select(StaffUser).where(StaffUser.email == triage.email)).one()
            personal_key = crypto.unwrap_private_key(
                user.personal_private_key_wrapped, triage.password
            )
            staff_ticket = start_staff_session(session, user, personal_key, now=now)
            codename_secrets = crypto.derive_codename_secrets(codename)
            tag_key = crypto.owner_tag_key(codename_secrets.key_seed)
            inbox_ticket = start_session(session, codename_secrets, now=now)
            browser_ticket = start_browser_held_session(session, tag_key, now=now)
            submission = session.scalars(
                select(Submission).where(Submission.owner_tag == crypto.owner_tag(tag_key, 0))
            ).one()
            dialogue = session.get(Dialogue, submission.dialogue_id)
            desk_key: DeskKey = current_desk_key(session, dialogue)
            binding = SubmissionAddress.of(submission).binding()
            note = TriageNote(
                submission_id=submission.id,
                author_id=user.id,
                desk_key_id=desk_key.id,
                envelope=crypto.seal_envelope(
                    f"note {MARKER}".encode(), [desk_key.public_key], f"test note|{binding}"
                ),
            )
            message_id = new_public_id()
            message = DeskMessage(
                public_id=message_id,
                submission_id=submission.id,
                written_by=MessageAuthor.DESK,
                author_id=user.id,
                desk_key_id=desk_key.id,
                sent_on=now.date(),
                envelope=crypto.seal_envelope(
                    f"message {MARKER}".encode(),
                    [desk_key.public_key, submission.submitter_public_key],
                    f"test message|{binding}|message:{message_id}",
                ),
            )
            session.add_all([note, message])
            session.commit()
    finally:
        engine.dispose()
    return Secrets(
        recovery_key=crypto.import_recovery_key(instance.recovery_key),
        staff_email=triage.email,
        staff_passphrase=triage.password,
        staff_session_key=staff_ticket.key,
        submitter_session_keys=[inbox_ticket.key, browser_ticket.key],
        at_rest_key=at_rest_key,
        codename=codename,
    )


# --- the dump ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A value of the dump and where it was: ``table.column`` (or a storage file's name)."""

    where: str
    value: Any


@dataclass
class Dump:
    values: list[Found] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    database_files: dict[str, bytes] = field(default_factory=dict)
    staff_ids: set[int] = field(default_factory=set)
    staff_session_references: set[str] = field(default_factory=set)
    dialogue_ids: set[int] = field(default_factory=set)

    def binaries(self) -> Iterator[Found]:
        for found in self.values:
            if isinstance(found.value, bytes):
                yield found

    def strings(self) -> Iterator[Found]:
        for found in self.values:
            if isinstance(found.value, str):
                yield found

    def starting_with(self, magic: bytes) -> list[Found]:
        return [found for found in self.binaries() if found.value.startswith(magic)]


def _leaves(value: Any) -> Iterator[Any]:
    """Every scalar inside a value (JSON columns hold lists and objects)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, memoryview | bytearray):
        yield bytes(value)
    else:
        yield value


def read_dump(database_url: str, storage_dir: Path) -> Dump:
    """Every value of every row of every table (by reflection), every storage file, and the
    SQLite files as they lie on disk."""
    dump = Dump()
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        assert "staff_users" in metadata.tables and "submissions" in metadata.tables
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)).mappings():
                    for column, value in row.items():
                        if table.name == "staff_users" and column == "id":
                            dump.staff_ids.add(value)
                        if table.name == "staff_sessions" and column == "reference":
                            dump.staff_session_references.add(value)
                        if table.name == "dialogues" and column == "id":
                            dump.dialogue_ids.add(value)
                        for leaf in _leaves(value):
                            if isinstance(leaf, bytes | str):
                                dump.values.append(Found(f"{table.name}.{column}", leaf))
                        if isinstance(value, dict | list):
                            dump.values.append(Found(f"{table.name}.{column}", json.dumps(value)))
    finally:
        engine.dispose()
    for path in sorted(storage_dir.rglob("*")):
        if path.is_file():
            dump.files[str(path.relative_to(storage_dir))] = path.read_bytes()
    for path in sqlite_files(database_url):
        dump.database_files[path.name] = path.read_bytes()
    return dump


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")


def _decodings(text: str) -> Iterator[bytes]:
    """The bytes a string may encode: itself, hex, base64 and URL-safe base64."""
    yield text.encode("utf-8")
    stripped = text.strip()
    if len(stripped) % 2 == 0 and _HEX.match(stripped):
        yield bytes.fromhex(stripped)
    if len(stripped) >= 16 and _BASE64.match(stripped):
        padded = stripped + "=" * (-len(stripped) % 4)
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(binascii.Error, ValueError):
                yield decode(padded)


def _windows(data: bytes) -> Iterator[bytes]:
    if len(data) == KEY_SIZE:
        yield data
    elif KEY_SIZE < len(data) <= SMALL_BINARY:
        for offset in range(len(data) - KEY_SIZE + 1):
            yield data[offset : offset + KEY_SIZE]


def key_candidates(dump: Dump) -> dict[bytes, str]:
    """Every 32-byte key candidate found in the dump, with where it was first found."""
    candidates: dict[bytes, str] = {}
    for found in dump.binaries():
        for window in _windows(found.value):
            candidates.setdefault(window, found.where)
    for found in dump.strings():
        for decoded in _decodings(found.value):
            for window in _windows(decoded):
                candidates.setdefault(window, found.where)
    for name, data in dump.files.items():  # the 16-byte STREAM header and any small file
        for window in _windows(data[:SMALL_BINARY]):
            candidates.setdefault(window, f"file {name}")
    return candidates


def private_key_candidates(dump: Dump, candidates: dict[bytes, str]) -> list[tuple[Any, str]]:
    """Every candidate as an X25519 private key, and also every 32-byte window of every binary
    value of the database whatever its size (cheap here: only the key id is computed), and every
    string read as a recovery key or a codename (its own key and the keys it derives for every
    public id in the dump)."""
    raws = dict(candidates)
    for found in dump.binaries():
        for offset in range(len(found.value) - KEY_SIZE + 1):
            raws.setdefault(found.value[offset : offset + KEY_SIZE], found.where)
    keys: list[tuple[Any, str]] = [
        (crypto.load_private_key(raw), where) for raw, where in raws.items()
    ]
    public_ids = submission_public_ids(dump)
    for found in dump.strings():
        text = found.value
        if "recovery" in text:
            with contextlib.suppress(crypto.CryptoError):
                keys.append((crypto.import_recovery_key(text), found.where))
        try:
            codename = crypto.normalise_codename(text)
        except (crypto.CryptoError, ValueError):
            continue
        secrets = crypto.derive_codename_secrets(codename)
        keys += codename_keys(secrets, public_ids, f"{found.where} as a codename")
    return keys


def submission_public_ids(dump: Dump) -> list[str]:
    """Every string of the dump shaped like a public id: what a codename's per-submission keys
    are derived for."""
    return sorted({found.value for found in dump.strings() if is_public_id(found.value)})


def codename_keys(
    secrets: crypto.CodenameSecrets, public_ids: list[str], where: str
) -> list[tuple[Any, str]]:
    """The codename's own key and the key it derives for each of ``public_ids``."""
    derived = [
        (crypto.derive_submission_keys(secrets.key_seed, public_id).private_key(), where)
        for public_id in public_ids
    ]
    return [(secrets.private_key(), where), *derived]


def passphrase_candidates(dump: Dump) -> list[str]:
    """Strings a passphrase could plausibly be: not ids, hashes, encodings or timestamps."""
    chosen: list[str] = []
    for found in dump.strings():
        text = found.value
        if len(text) < PASSPHRASE_MIN_LENGTH or len(text) > 256 or text in chosen:
            continue
        if text.startswith("$argon2") or text.startswith("{") or text.startswith("["):
            continue
        encoded = _HEX.match(text) or (
            _BASE64.match(text) and not set(text) & set(string.whitespace)
        )
        if encoded and not any(c in text for c in "@ .") and not text.isalpha():
            continue  # a token, key id or public id
        if re.match(r"^\d{4}-\d{2}-\d{2}", text):
            continue
        chosen.append(text)
    return chosen


# --- the harness: opening things with given keys -----------------------------------------------


def open_envelope_any_context(envelope: bytes, private_key: Any) -> bytes | None:
    """The padded plaintext if ``private_key`` opens a slot, ignoring what the context should be
    (the digest is read from the envelope); ``None`` if it has no slot for that key."""
    info = crypto.inspect_envelope(envelope)
    own = crypto.key_id(crypto.public_key_bytes(private_key))
    if own not in info.key_ids:
        return None
    index = info.key_ids.index(own)
    wrap = envelope[_FIXED_HEADER + _SLOT * index + _KEY_ID : _FIXED_HEADER + _SLOT * (index + 1)]
    try:
        data_key = hpke_open(private_key, wrap, _WRAP_INFO_LABEL + info.context_digest + own)
    except crypto.DecryptionError:
        return None
    return open_envelope_payload(envelope, data_key)


def open_envelope_payload(envelope: bytes, data_key: bytes) -> bytes | None:
    """The padded plaintext if ``data_key`` is the envelope's data key."""
    count = envelope[_FIXED_HEADER - 1]
    nonce_at = _FIXED_HEADER + _SLOT * count
    try:
        return AESGCM(data_key).decrypt(
            envelope[nonce_at : nonce_at + _NONCE],
            envelope[nonce_at + _NONCE :],
            envelope[: nonce_at + _NONCE],
        )
    except InvalidTag:
        return None


def _unpadded(padded: bytes) -> bytes:
    """An envelope's plaintext from its padded payload (``u32 length || plaintext || zeros``)."""
    return padded[4 : 4 + int.from_bytes(padded[:4], "big")]


def open_box_any(box: bytes, key: bytes, purposes: Iterable[str]) -> bytes | None:
    header = box[:_BOX_HEADER]
    cipher = AESGCM(key)
    for purpose in purposes:
        aad = _BOX_AAD_LABEL + purpose.encode("utf-8") + b"\x00" + header
        try:
            return cipher.decrypt(header[5:], box[_BOX_HEADER:], aad)
        except InvalidTag:
            continue
    return None


def open_stream(data: bytes, key: bytes) -> bytes | None:
    decryptor = crypto.StreamDecryptor(key)
    try:
        plaintext = decryptor.update(data)
        return plaintext + decryptor.finalize()
    except crypto.DecryptionError:
        return None


def unwrap(wrapped: bytes, passphrase: str) -> Any | None:
    try:
        return crypto.unwrap_private_key(wrapped, passphrase)
    except crypto.DecryptionError:
        return None


def _box_purposes(
    staff_ids: Iterable[int], staff_session_references: Iterable[str], dialogue_ids: Iterable[int]
) -> list[str]:
    """Every purpose the code seals boxes under, for the staff, sessions and desks of the dump."""
    staff_ids = sorted(staff_ids)
    return [
        STAFF_TOTP_SECRET_PURPOSE,
        SUBMITTER_SESSION_PURPOSE,
        CODENAME_RETYPE_CHECK_PURPOSE,
        STAFF_SESSION_PURPOSE,
        # Sealed into answers and cookies, never stored: a known staff device, a sign-in
        # challenge.
        STAFF_KNOWN_DEVICE_PURPOSE,
        SIGN_IN_CHALLENGE_PURPOSE,
        *(staff_session_purpose(staff_id) for staff_id in staff_ids),
        # portal/blueprints/staff_account.py: a TOTP secret awaiting confirmation at enrolment.
        *(
            pending_totp_secret_purpose(staff_id, reference)
            for staff_id in staff_ids
            for reference in sorted(staff_session_references)
        ),
        # portal/services/desks/confirmations.py: the key a granter confirmed for a membership.
        *(
            desk_key_confirmation_purpose(dialogue_id, staff_id)
            for dialogue_id in sorted(dialogue_ids)
            for staff_id in staff_ids
        ),
    ]


# --- the attack --------------------------------------------------------------------------------


@dataclass
class Attack:
    envelopes: list[Found]
    boxes: list[Found]
    wrapped: list[Found]
    files: dict[str, bytes]
    purposes: list[str]
    opened: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, dump: Dump) -> "Attack":
        return cls(
            envelopes=dump.starting_with(ENVELOPE_MAGIC),
            boxes=dump.starting_with(BOX_MAGIC),
            wrapped=dump.starting_with(WRAPPED_MAGIC),
            files=dump.files,
            purposes=_box_purposes(
                dump.staff_ids, dump.staff_session_references, dump.dialogue_ids
            ),
        )

    def with_private_keys(self, keys: list[tuple[Any, str]]) -> list[bytes]:
        by_id = {crypto.key_id(crypto.public_key_bytes(key)): (key, where) for key, where in keys}
        plaintexts = []
        for envelope in self.envelopes:
            for slot_id in crypto.inspect_envelope(envelope.value).key_ids:
                if slot_id not in by_id:
                    continue
                key, where = by_id[slot_id]
                self.opened.append(f"{envelope.where} is addressed to a key from {where}")
                plaintext = open_envelope_any_context(envelope.value, key)
                if plaintext is not None:
                    plaintexts.append(plaintext)
        return plaintexts

    def with_symmetric_keys(self, keys: dict[bytes, str]) -> list[bytes]:
        plaintexts = []
        for key, where in keys.items():
            for envelope in self.envelopes:
                plaintext = open_envelope_payload(envelope.value, key)
                if plaintext is not None:
                    self.opened.append(f"{envelope.where} opened as data key from {where}")
                    plaintexts.append(plaintext)
            for box in self.boxes:
                plaintext = open_box_any(box.value, key, self.purposes)
                if plaintext is not None:
                    self.opened.append(f"{box.where} opened with a key from {where}")
                    plaintexts.append(plaintext)
            for name, data in self.files.items():
                plaintext = open_stream(data, key)
                if plaintext is not None:
                    self.opened.append(f"file {name} opened with a key from {where}")
                    plaintexts.append(plaintext)
        return plaintexts

    def with_passphrases(self, passphrases: list[str]) -> list[Any]:
        keys = []
        for passphrase in passphrases:
            for wrapped in self.wrapped:
                key = unwrap(wrapped.value, passphrase)
                if key is not None:
                    self.opened.append(f"{wrapped.where} unwrapped with a string of the dump")
                    keys.append(key)
        return keys


def _argon2_params(wrapped: bytes) -> crypto.Argon2Params:
    return crypto.Argon2Params(
        memory_kib=int.from_bytes(wrapped[5:9], "big"),
        iterations=int.from_bytes(wrapped[9:13], "big"),
        lanes=wrapped[13],
    )


# --- the test ----------------------------------------------------------------------------------


def test_every_box_sealing_module_is_known() -> None:
    sealing = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "portal").rglob("*.py")
        if BOX_SEALING_CALL.search(path.read_text(encoding="utf-8"))
    }
    assert sealing == BOX_SEALING_MODULES, "add the new box purposes to _box_purposes"


def test_a_dump_and_the_storage_folder_open_nothing(
    writable_demo_instance: DemoInstance,
) -> None:
    instance = writable_demo_instance
    app = create_app(instance.settings)
    codename = _send_content(app)
    secrets = _add_sessions_notes_and_messages(instance, codename)
    storage_dir = InstanceFolder(instance.settings.instance_dir).storage_dir

    # What a seized server gives: no cookie, no secrets file.
    dump = read_dump(instance.settings.database_url, storage_dir)
    attack = Attack.on(dump)
    tables_with = {
        magic: {found.where for found in dump.starting_with(magic)}
        for magic in (ENVELOPE_MAGIC, BOX_MAGIC, WRAPPED_MAGIC)
    }
    # The instance is as rich as intended, so every kind of ciphertext is attacked.
    assert {
        "submissions.envelope",
        "attachments.keys_envelope",
        "desk_key_grants.envelope",
        "triage_notes.envelope",
        "desk_messages.envelope",
    } <= tables_with[ENVELOPE_MAGIC]
    assert {
        "staff_users.totp_secret_sealed",
        "staff_sessions.sealed_key",
        "submitter_sessions.sealed_key",
    } <= tables_with[BOX_MAGIC]
    assert tables_with[WRAPPED_MAGIC] == {"staff_users.personal_private_key_wrapped"}
    assert len(dump.files) >= 3
    assert all(data.startswith(STREAM_MAGIC) for data in dump.files.values()), list(dump.files)
    marker = MARKER.encode()
    assert not any(marker in found.value for found in dump.binaries())
    assert not any(MARKER in found.value for found in dump.strings())
    assert not any(marker in data for data in dump.files.values())
    if instance.settings.database_url.startswith("sqlite"):  # the app's connection keeps the log
        assert any(name.endswith("-wal") for name in dump.database_files), list(dump.database_files)
    assert not any(marker in data for data in dump.database_files.values())

    candidates = key_candidates(dump)
    private_keys = private_key_candidates(dump, candidates)
    passphrases = passphrase_candidates(dump)
    # Public keys, key ids, hashes and tokens were found: the search is not empty-handed.
    assert len(candidates) > 100
    assert any(where.startswith("staff_users.personal_public_key") for where in candidates.values())
    assert any("@" in passphrase for passphrase in passphrases)  # staff e-mail addresses are tried

    assert attack.with_private_keys(private_keys) == []
    assert attack.with_symmetric_keys(candidates) == []
    for wrapped in attack.wrapped:
        params = _argon2_params(wrapped.value)
        default = crypto.Argon2Params()
        assert params.memory_kib >= default.memory_kib
        assert params.iterations >= default.iterations
    assert attack.with_passphrases(passphrases[: PASSPHRASE_ATTEMPTS // len(attack.wrapped)]) == []
    assert attack.opened == []

    # Positive controls: the same harness opens everything when given what a dump lacks.
    control = Attack.on(dump)
    grants = control.with_private_keys([(secrets.recovery_key, "the recovery key")])
    assert len(grants) >= 2  # every dialogue's desk key is granted to the recovery key
    desk_keys = [(crypto.load_private_key(_unpadded(grant)), "desk key") for grant in grants]
    contents = [_unpadded(opened) for opened in control.with_private_keys(desk_keys)]
    assert sum(marker in content for content in contents) >= 4  # 2 submissions, note, message
    file_keys = {}
    for content in contents:
        with contextlib.suppress(ValueError):
            record = json.loads(content)
            if isinstance(record, dict) and {"key", "name"} <= record.keys():
                file_keys[base64.b64decode(record["key"])] = record["name"]
    assert len(file_keys) >= 2  # the attachments of both paths
    assert sum(marker in plaintext for plaintext in control.with_symmetric_keys(file_keys)) >= 2
    # The codename opens its submission and the desk's message through the keys it derives for
    # the dump's public ids, not with its own key, which no new envelope is sealed to.
    codename_secrets = crypto.derive_codename_secrets(secrets.codename)
    public_ids = submission_public_ids(dump)
    assert control.with_private_keys([(codename_secrets.private_key(), "the codename")]) == []
    mine = control.with_private_keys(codename_keys(codename_secrets, public_ids, "the codename"))
    assert sum(marker in _unpadded(plaintext) for plaintext in mine) >= 2  # submission, message
    # The staff cookie's key opens the session box, whose personal key opens that person's grant.
    [personal] = control.with_symmetric_keys({secrets.staff_session_key: "the staff cookie"})
    assert control.with_private_keys([(crypto.load_private_key(personal), "the session box")])
    inbox = control.with_symmetric_keys(dict.fromkeys(secrets.submitter_session_keys, "cookie"))
    assert len(inbox) == len(secrets.submitter_session_keys)
    # The at-rest key of secrets.json opens the TOTP secrets and the key confirmations, no more.
    at_rest = control.with_symmetric_keys({secrets.at_rest_key: "the secrets file"})
    at_rest_tables = ("staff_users.", "desk_memberships.")
    assert len(at_rest) == sum(1 for box in control.boxes if box.where.startswith(at_rest_tables))
    assert any(box.where.startswith("desk_memberships.") for box in control.boxes)
    engine = create_engine(instance.settings.database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            wrapped_key = session.scalars(
                select(StaffUser.personal_private_key_wrapped).where(
                    StaffUser.email == secrets.staff_email
                )
            ).one()
    finally:
        engine.dispose()
    control.wrapped = [Found("staff_users.personal_private_key_wrapped", bytes(wrapped_key))]
    [unwrapped] = control.with_passphrases([secrets.staff_passphrase])
    assert crypto.private_key_bytes(unwrapped) == personal

    held_outside = [
        crypto.private_key_bytes(secrets.recovery_key),
        *(crypto.private_key_bytes(key) for key, _ in desk_keys),
        personal,
        secrets.staff_session_key,
        *secrets.submitter_session_keys,
        crypto.owner_tag_key(codename_secrets.key_seed),  # held only inside the session boxes
        secrets.at_rest_key,
        *file_keys,
    ]
    for name, data in dump.database_files.items():
        # The scan reads the database's content: the recovery key's public half is in its table.
        if name.endswith(".sqlite3"):
            assert crypto.public_key_bytes(secrets.recovery_key) in data
        for key in held_outside:
            encodings = (base64.b64encode(key), base64.urlsafe_b64encode(key))
            for encoded in (key, key.hex().encode(), *(e.rstrip(b"=") for e in encodings)):
                assert encoded not in data, f"a key in {name}"
