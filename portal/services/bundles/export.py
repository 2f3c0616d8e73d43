"""The bundle of a dialogue, from the database and the storage folder, for offline review.

**Nothing is decrypted to make a bundle**: it holds what the database and the storage folder
hold for the dialogue -- the stored envelopes under their stored contexts and the stored STREAM
files byte for byte -- so a bundle is exactly as safe as the database. It is written in bounded
memory: submissions are read in batches, the manifest is written as it goes
(``manifest.write_manifest``), and attachment files are copied in chunks.

What is *not* protected: the plaintext metadata in the manifest (state, dates, topics, risk,
names of staff authors) is as trustworthy as the channel that carried the bundle; nobody signs
it, because the server holds no key that could. Content cannot be altered: every envelope and
every file authenticates itself, and the contexts bind each envelope to its dialogue, session,
kind and submission, so an envelope moved to another entry does not open. But desk public keys
are public, so whoever tampers with a bundle in transit could add entries of their own sealing,
as any submitter can: carry bundles over a channel you trust.
"""

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import crypto
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    Dialogue,
    DialogueSession,
    RecoveryKey,
    StaffUser,
    Submission,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.bundles.manifest import (
    ATTACHMENTS_FOLDER,
    BUNDLE_FORMAT,
    BundleError,
    attachment_member,
    encode_bytes,
    encode_date,
    write_manifest,
    zip_entry,
)
from portal.services.desks.identity_keys import identity_key_of, recovery_grant
from portal.storage import EncryptedStorage
from portal.translatable import translatable

_BATCH = 200
_COPY_CHUNK = crypto.stream.ENCRYPTED_CHUNK_SIZE


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
    include_names: Callable[[Submission], bool] | None = None,
    actor: StaffUser | None = None,
    via: str = "cli",
) -> ExportSummary:
    """Write the bundle of ``dialogue`` (optionally one session's) to ``out``, and audit it.

    ``include`` leaves out submissions the requester may not have (need-to-know on the web), and
    ``include_names`` the identities envelopes of cases whose names they may not read (the
    identity compartment on the web); the command line, run with the recovery key's authority,
    leaves out nothing. Compartment grants are never exported: they open only with a staff
    member's personal key, which never leaves the server.
    The audit event ``bundle.exported`` (ids and counts only) is recorded in the caller's
    transaction; the caller commits only once ``out`` is safely written, and discards ``out``
    if the transaction fails.
    """
    if session_id is not None:
        found = session.get(DialogueSession, session_id)
        if found is None or found.dialogue_id != dialogue.id:
            raise BundleError(
                translatable(
                    "session %(session)s is not a session of %(dialogue)s",
                    session=session_id,
                    dialogue=dialogue.slug,
                )
            )
    recovery_key = instance_recovery_key(session)
    desk_keys = list(
        session.scalars(
            select(DeskKey).where(DeskKey.dialogue_id == dialogue.id).order_by(DeskKey.id)
        )
    )
    key_ids = {key.id: key.key_id.hex() for key in desk_keys}
    key_entries = [desk_key_entry(session, key, recovery_key) for key in desk_keys]
    head = {
        "format": BUNDLE_FORMAT,
        "dialogue": dialogue.slug,
        "session": session_id,
        "exported_on": today.isoformat(),
        "recovery_key_id": recovery_key.key_id.hex(),
        "desk_keys": key_entries,
    }
    files: list[tuple[str, int]] = []

    def entries() -> Iterator[dict[str, Any]]:
        for submission in _submissions(session, dialogue, session_id):
            if include is not None and not include(submission):
                continue
            entry = _submission_entry(submission, key_ids)
            names = include_names is None or include_names(submission)
            entry["identities"] = _identities_entry(submission) if names else None
            files.extend((item["file"], item["ciphertext_size"]) for item in entry["attachments"])
            yield entry

    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        count = write_manifest(archive, today, head, entries())
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
                selectinload(Submission.identity),
            )
        )
        if session_id is not None:
            query = query.where(Submission.session_id == session_id)
        batch = list(session.scalars(query))
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def instance_recovery_key(session: Session) -> RecoveryKey:
    """The instance's recovery key, to which every bundle is opened; ``BundleError`` if none."""
    recovery_key = session.scalars(select(RecoveryKey).order_by(RecoveryKey.id)).first()
    if recovery_key is None:
        raise BundleError(translatable("this instance has no recovery key"))
    return recovery_key


def desk_key_entry(session: Session, key: DeskKey, recovery_key: RecoveryKey) -> dict[str, Any]:
    """A desk key as a bundle lists it: its public half, its grant to the recovery key, and the
    identity key made with it (a briefing bundle lists its one desk key the same way)."""
    grant = session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == key.id, DeskKeyGrant.recovery_key_id == recovery_key.id
        )
    ).first()
    if grant is None:
        raise BundleError(
            translatable("desk key %(key)s has no grant to the recovery key", key=key.key_id.hex())
        )
    return {
        "key_id": key.key_id.hex(),
        "public_key": encode_bytes(key.public_key),
        "recovery_grant": encode_bytes(grant.envelope),
        "identity_key": _identity_key_entry(session, key, recovery_key),
    }


def _identity_key_entry(
    session: Session, key: DeskKey, recovery_key: RecoveryKey
) -> dict[str, Any] | None:
    """The identity key made with ``key`` and its recovery grant; none for older desk keys."""
    identity_key = identity_key_of(session, key)
    if identity_key is None:
        return None
    grant = recovery_grant(session, identity_key, recovery_key.public_key)
    if grant is None:
        raise BundleError(
            translatable(
                "identity key %(key)s has no recovery grant", key=identity_key.key_id.hex()
            )
        )
    return {
        "key_id": identity_key.key_id.hex(),
        "public_key": encode_bytes(identity_key.public_key),
        "recovery_grant": encode_bytes(grant.envelope),
    }


def _identities_entry(submission: Submission) -> dict[str, Any] | None:
    identity = submission.identity
    if identity is None:
        return None
    return {
        "identity_key_id": identity.identity_key.key_id.hex(),
        "envelope": encode_bytes(identity.envelope),
        "signature": _optional_bytes(identity.signature),
    }


def _submission_entry(submission: Submission, key_ids: dict[int, str]) -> dict[str, Any]:
    def sealed(item: Any, **extra: Any) -> dict[str, Any]:
        return {
            **extra,
            "desk_key_id": key_ids[item.desk_key_id],
            "envelope": encode_bytes(item.envelope),
        }

    def signed(item: Any) -> dict[str, Any]:
        """Where an item stands in the history and its signature, both null when unsigned."""
        return {"position": item.position, "signature": _optional_bytes(item.signature)}

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
        "risk_reassess_on": encode_date(submission.risk_reassess_on),
        "gender_specific_risk": submission.gender_specific_risk,
        "women_hrd": submission.women_hrd,
        "risk_hold": submission.risk_hold,
        "decline_reason": None
        if submission.decline_reason is None
        else str(submission.decline_reason),
        "duplicate_of": None if duplicate is None else duplicate.public_id,
        **sealed(submission),
        "signature": _optional_bytes(submission.signature),
        "further_information": [
            sealed(item, received_on=item.received_on.isoformat(), **signed(item))
            for item in submission.further_information
        ],
        "consent_changes": [
            sealed(item, received_on=item.received_on.isoformat(), **signed(item))
            for item in submission.consent_changes
        ],
        "attachments": [
            {
                "public_id": item.public_id,
                "file": attachment_member(item.storage_name),
                "ciphertext_size": item.ciphertext_size,
                "desk_key_id": key_ids[submission.desk_key_id],
                "keys_envelope": encode_bytes(item.keys_envelope),
                "signature": _optional_bytes(item.signature),
            }
            for item in submission.attachments
        ],
        "notes": [
            sealed(
                note,
                id=note.id,
                written_on=note.created_at.date().isoformat(),
                author=note.author.display_name,
                author_id=note.author_id,
                author_signing_key=_optional_bytes(note.author_signing_public_key),
                author_certificate=_optional_bytes(note.author_certificate),
                **signed(note),
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
                **signed(message),
            )
            for message in submission.messages
        ],
    }


def _optional_bytes(value: bytes | None) -> str | None:
    return None if value is None else encode_bytes(value)


def _copy_file(
    archive: zipfile.ZipFile, storage: EncryptedStorage, name: str, size: int, today: dt.date
) -> None:
    storage_name = name.removeprefix(f"{ATTACHMENTS_FOLDER}/")
    info = zip_entry(name, today, zipfile.ZIP_STORED)
    copied = 0
    try:
        source = storage.open(storage_name)
    except OSError:
        raise BundleError(
            translatable(
                "an attachment's file is missing from storage (deleted meanwhile?); export again"
            )
        ) from None
    with source, archive.open(info, "w", force_zip64=True) as target:
        while data := source.read(_COPY_CHUNK):
            target.write(data)
            copied += len(data)
    if copied != size:
        raise BundleError(
            translatable("an attachment's file in storage has the wrong size; export again")
        )
