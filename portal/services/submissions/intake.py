"""Receiving a submission: where it may go, and storing it sealed, from either path.

With JavaScript the browser seals the submission; the server cannot read it but checks that the
envelope parses, names the exact context this submission's address gives (see
``portal.services.contexts``), is addressed to exactly the dialogue's current desk key and the
submission's own key, whose public half the browser derived and sent, and is no larger than a
submission may be. Without JavaScript the server validates the posted payload, derives the
submission's key from the codename for this request (``submitter_keys``) and seals it itself, to
the same recipients under the same context; the plaintext lives only in this call's memory and is
never written to the database, a file or a log.

The persons a submission names are sealed apart on both paths (``submissions.identities``):
when the dialogue's desk key has an identity key, a kind with persons carries a second envelope,
under ``contexts.identities_context``, addressed to exactly the identity key and the submission's
own key, and the submission envelope holds each person's consent without the name. Without
JavaScript the server splits the payload itself; with JavaScript the browser does, and the server
requires the second envelope and checks its context, recipients and signature (by the
submission's signing key, under ``contexts.signed_identities_context``) like the first.

Either way the row names no submitter: it takes the next free owner tag of the codename's tag
key (``owner_tags.add_with_next_tag``), which the browser sends or the server derives for the
request.

Each refusal is a ``SubmissionRefusedError`` whose message can be shown to the submitter as is.
Nothing is stored before every check has passed, and everything is stored in the caller's
transaction, so a refusal or a later failure leaves nothing behind once the caller rolls back.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKey,
    IdentityKey,
    Submission,
    SubmissionIdentity,
    SubmissionKind,
    SubmissionState,
)
from portal.services.contexts import (
    AddressedDialogue,
    SubmissionAddress,
    recipient_keys,
    signed_identities_context,
    signed_submission_context,
)
from portal.services.desks.identity_keys import identity_key_of
from portal.services.desks.keys import current_desk_key
from portal.services.dialogues.dialogue_sessions import (
    DialogueFacts,
    SessionFacts,
    dialogue_accepts_reprisal_reports,
    session_accepts_submissions,
)
from portal.services.submissions.identities import carries_identities, split_identities
from portal.services.submissions.owner_tags import OwnerTagTakenError, add_with_next_tag
from portal.services.submissions.payload import (
    RoutingMetadata,
    encode_payload,
    routing_metadata,
    validate_submission,
)
from portal.services.submissions.provenance import SIGNATURES_FIELD, signatures_block
from portal.services.submissions.submission_ids import (
    SubmissionIdExpiredError,
    SubmissionIds,
    SubmissionIdUsedError,
    require_usable_id,
)
from portal.services.submissions.submitter_keys import (
    SubmitterKey,
    owner_tag_key_of,
    submission_keys,
)
from portal.services.submissions.submitters import BrowserRegistration
from portal.services.submissions.topic_rows import (
    PrecedingRowTakenError,
    insert_values_with_topic_rows,
    insert_with_topic_rows,
    topic_tags,
)
from portal.translatable import translatable

# A submission's JSON may take up to 1 MiB less the envelope's 4-byte length prefix, so that its
# padded payload fits the 1 MiB size bucket; that is far beyond any form filled in by hand.
MAX_PAYLOAD_BYTES = 1024 * 1024 - 4
RECIPIENT_COUNT = 2
MAX_ENVELOPE_BYTES = crypto.envelope_size(MAX_PAYLOAD_BYTES, RECIPIENT_COUNT)
# The identities of up to 50 persons, each name at most 200 characters of up to 4 bytes, fit in
# 64 KiB with room to spare.
MAX_IDENTITIES_ENVELOPE_BYTES = crypto.envelope_size(64 * 1024 - 4, RECIPIENT_COUNT)


class SubmissionRefusedError(ValueError):
    """A submission that cannot be accepted; the message says why, for the submitter."""


class FormExpiredError(SubmissionRefusedError):
    """The form's submission id was not issued here or has expired: it needs a fresh one."""


class SubmissionDeskKey(Protocol):
    """What a submission reads of the desk key it is sealed to: the row, or a copy of its
    columns (``dialogue_sessions.read_destination``)."""

    @property
    def id(self) -> int: ...

    @property
    def public_key(self) -> bytes: ...


class SealedRow(NamedTuple):
    """What a sealed request reads of the submission it has just stored, whose row is not in
    the session: ``attachments.claim_uploads`` binds and signs the attachments to these."""

    id: int
    public_id: str
    signing_public_key: bytes


class SealedSubmission(NamedTuple):
    """A submission a browser sealed, just stored: its row, and the address and recipients its
    attachments' keys must be bound and sealed to (``attachments.claim_uploads``)."""

    row: SealedRow
    address: SubmissionAddress
    recipients: tuple[bytes, bytes]


def submission_address(
    session: Session,
    *,
    dialogue: DialogueFacts,
    dialogue_session: SessionFacts | None,
    kind: SubmissionKind,
    public_id: str,
    ids: SubmissionIds,
    now: dt.datetime,
    id_taken: bool | None = None,
) -> SubmissionAddress:
    """Check that a ``kind`` submission may go to this dialogue and session at ``now``.

    Reprisal reports belong to the dialogue (no session) and are accepted whenever it is active;
    the other kinds belong to a session of the dialogue and are accepted only while its
    consultation is open. The public id must be one ``ids`` issued, not expired and not yet used
    (``submission_ids.require_usable_id``, which reads whether it is taken unless the caller
    read it along with the rest: ``id_taken``); ``FormExpiredError`` says that the form needs a
    fresh id.
    """
    if kind is SubmissionKind.REPRISAL_REPORT:
        if dialogue_session is not None:
            raise SubmissionRefusedError(
                translatable("a reprisal report is sent to a dialogue, not a session")
            )
        if not dialogue_accepts_reprisal_reports(dialogue):
            raise SubmissionRefusedError(
                translatable("this dialogue is frozen and accepts nothing for now")
            )
    else:
        if dialogue_session is None or dialogue_session.dialogue_id != dialogue.id:
            raise SubmissionRefusedError(
                translatable("choose a session of this dialogue to send this to")
            )
        if not session_accepts_submissions(dialogue, dialogue_session, now):
            raise SubmissionRefusedError(
                translatable("the consultation for this session is not open")
            )
    try:
        require_usable_id(session, ids, public_id, now, taken=id_taken)
    except SubmissionIdExpiredError as refusal:
        raise FormExpiredError(*refusal.args) from None
    except SubmissionIdUsedError as refusal:
        raise SubmissionRefusedError(*refusal.args) from None
    return SubmissionAddress(dialogue, dialogue_session, kind, public_id)


def accept_sealed_submission(
    session: Session,
    *,
    address: SubmissionAddress,
    codename_public_key: bytes,
    owner_tag_key: bytes,
    submitter_public_key: bytes,
    signing_public_key: bytes,
    envelope: bytes,
    signature: bytes,
    routing: RoutingMetadata,
    today: dt.date,
    identities_envelope: bytes | None = None,
    identities_signature: bytes | None = None,
    registration: BrowserRegistration | None = None,
    desk_key: SubmissionDeskKey | None = None,
) -> SealedSubmission:
    """Store an envelope a browser sealed, once it is shown to be addressed and signed as it
    must be.

    ``submitter_public_key`` and ``signing_public_key`` are the submission's own keys, which the
    browser derived from the codename and the public id. The server cannot check that
    derivation; it refuses what is not an X25519 public key, the codename's own key
    (``codename_public_key``), which would link the submission to the submitter's others, and a
    signature that does not verify with ``signing_public_key`` under the submission's signed
    context. Readers later check that the key sealed inside the submission is this one.
    ``owner_tag_key`` is the codename's tag key, which the browser derived too; why a wrong one
    harms only its sender is in ``owner_tags``. ``identities_envelope`` is required exactly when
    the submission carries one (module docstring), with ``identities_signature`` by the same
    signing key under its signed context. ``registration`` is the new pseudonym the submission
    comes from, if it is one: its row is stored by the submission's first insert, which tries
    the first owner tag at once (``owner_tags.add_with_next_tag``), and if its login secret is
    taken it is refused as :meth:`submitters.BrowserRegistration.refuse` says, after the checks
    above, with nothing of the submission stored. ``desk_key`` is the dialogue's current desk
    key when the caller has read it in this transaction along with the address
    (``submissions.destination``); it is read here otherwise. The submission is stored from its
    values, without an ORM object (``topic_rows.insert_values_with_topic_rows``): nothing later
    in a sealed request changes it, and what it reads of it is returned as a :class:`SealedRow`.
    """
    if routing.urgent and address.kind is not SubmissionKind.REPRISAL_REPORT:
        raise SubmissionRefusedError(translatable("only a reprisal report can be marked urgent"))
    try:
        crypto.load_public_key(submitter_public_key)
    except crypto.CryptoError:
        raise SubmissionRefusedError(
            translatable("the submission's key is not a key we can accept")
        ) from None
    if bytes(submitter_public_key) == bytes(codename_public_key):
        raise SubmissionRefusedError(
            translatable(
                "this submission was encrypted to the wrong keys; reload the form and send it again"
            )
        )
    if desk_key is None:
        desk_key = require_desk_key(session, address.dialogue)
    row = _submission_values(address, bytes(submitter_public_key), desk_key, routing, today)
    context = signed_submission_context(address)
    recipients = recipient_keys(desk_key, row["submitter_public_key"])
    check_envelope(envelope, context=context, recipients=recipients, max_bytes=MAX_ENVELOPE_BYTES)
    check_signature(signing_public_key, context, envelope, signature)
    row["signing_public_key"] = bytes(signing_public_key)
    row["signature"] = bytes(signature)
    row["envelope"] = bytes(envelope)
    identity_key = identity_key_for(session, desk_key, address.kind)
    if (identity_key is None) != (identities_envelope is None):
        raise SubmissionRefusedError(
            translatable(
                "this submission was encrypted for another form; reload the form and send it again"
            )
        )
    identity = None
    if identity_key is not None and identities_envelope is not None:
        identities_context = signed_identities_context(address)
        check_envelope(
            identities_envelope,
            context=identities_context,
            recipients=(identity_key.public_key, bytes(submitter_public_key)),
            max_bytes=MAX_IDENTITIES_ENVELOPE_BYTES,
        )
        check_signature(
            signing_public_key, identities_context, identities_envelope, identities_signature or b""
        )
        identity = SubmissionIdentity(
            identity_key=identity_key,
            envelope=bytes(identities_envelope),
            signature=bytes(identities_signature or b""),
        )

    unregistered = registration

    def insert(tag: bytes) -> int | None:
        nonlocal unregistered
        after = None if unregistered is None else unregistered.row
        try:
            stored_id = insert_values_with_topic_rows(
                session, {**row, "owner_tag": tag}, after=after
            )
        except PrecedingRowTakenError:
            assert unregistered is not None  # only a registration precedes the submission
            unregistered.refuse(session)
        # Registered, whether or not this tag was free: a try with the next does not again.
        unregistered = None
        return stored_id

    stored_id = _store(
        session, insert, owner_tag_key, identity, new_codename=registration is not None
    )
    stored = SealedRow(stored_id, address.public_id, row["signing_public_key"])
    return SealedSubmission(stored, address, recipients)


def accept_plain_submission(
    session: Session,
    *,
    address: SubmissionAddress,
    submitter_key: SubmitterKey,
    form: Mapping[str, Any],
    today: dt.date,
    recovery_signing_key: bytes | None = None,
) -> Submission:
    """Validate a posted form's payload and store it sealed (no-JavaScript path).

    ``submitter_key`` is the codename's key, held for this request only: the submission is
    sealed to the key it derives for the submission's public id and signed with the signing key
    derived beside it, whose public half is sealed inside with the current desk signing key
    (``provenance.signatures_block``), with the recovery signing key the instance folder records
    (``recovery_signing_key``, ``None`` until it is recorded); the row keeps only public halves,
    and the row's owner tag comes from the tag key it derives. Raises ``PayloadError`` with a
    message per field when the form is incomplete.
    """
    payload = validate_submission(form, address.kind)
    if len(encode_payload(payload)) > MAX_PAYLOAD_BYTES:
        raise SubmissionRefusedError(
            translatable("this submission is too long; shorten it or attach a file")
        )
    desk_key = require_desk_key(session, address.dialogue)
    keys = submission_keys(submitter_key, address.public_id)
    submission_key = keys.public_key_bytes()
    routing = routing_metadata(payload)
    submission = Submission(**_submission_values(address, submission_key, desk_key, routing, today))
    identity_key = identity_key_for(session, desk_key, address.kind)
    identity = None
    if identity_key is not None:
        payload, identities = split_identities(payload, address.kind)
        identities_context = signed_identities_context(address)
        identities_envelope = crypto.seal_envelope(
            encode_payload(identities),
            (identity_key.public_key, submission_key),
            identities_context,
        )
        identity = SubmissionIdentity(
            identity_key=identity_key,
            envelope=identities_envelope,
            signature=crypto.sign_item(keys.signing_seed, identities_context, identities_envelope),
        )
    payload[SIGNATURES_FIELD] = signatures_block(
        keys.signing_public_key(), desk_key.signing_public_key, recovery_signing_key
    )
    context = signed_submission_context(address)
    envelope = crypto.seal_envelope(
        encode_payload(payload), recipient_keys(desk_key, submission_key), context
    )
    submission.signing_public_key = keys.signing_public_key()
    submission.signature = crypto.sign_item(keys.signing_seed, context, envelope)
    submission.envelope = envelope

    def insert(tag: bytes) -> int | None:
        submission.owner_tag = tag
        return submission.id if insert_with_topic_rows(session, submission) else None

    _store(session, insert, owner_tag_key_of(submitter_key), identity)
    return submission


def require_desk_key(session: Session, dialogue: AddressedDialogue) -> DeskKey:
    """The desk key new envelopes for ``dialogue`` are sealed to."""
    desk_key = current_desk_key(session, dialogue)
    if desk_key is None:
        raise SubmissionRefusedError(translatable("this dialogue cannot receive anything yet"))
    return desk_key


def check_envelope(
    envelope: bytes, *, context: str, recipients: tuple[bytes, ...], max_bytes: int
) -> None:
    """Refuse an envelope that is too large, malformed, for another context or other keys.

    The recipients must be exactly those given: a missing desk key would lose the submission to
    the desk, and an extra one would hand it to someone the submitter did not choose.
    """
    if len(envelope) > max_bytes:
        raise SubmissionRefusedError(translatable("this submission is too large"))
    try:
        info = crypto.inspect_envelope(envelope)
    except crypto.DecryptionError:
        raise SubmissionRefusedError(
            translatable("this is not an encrypted submission we can accept")
        ) from None
    if info.context_digest != crypto.context_digest(context):
        raise SubmissionRefusedError(
            translatable(
                "this submission was encrypted for another form; reload the form and send it again"
            )
        )
    if set(info.key_ids) != {crypto.key_id(key) for key in recipients}:
        raise SubmissionRefusedError(
            translatable(
                "this submission was encrypted to the wrong keys; reload the form and send it again"
            )
        )


def check_signature(signing_key: bytes, context: str, envelope: bytes, signature: bytes) -> None:
    """Refuse an item whose signature does not verify: nothing unsigned is stored for a signed
    submission, so that readers never meet an item the server could have told apart."""
    try:
        crypto.verify_item(signing_key, context, envelope, signature)
    except crypto.DecryptionError:
        raise SubmissionRefusedError(
            translatable(
                "this was not signed with the key of this submission; "
                "reload the page and send it again"
            )
        ) from None


def _submission_values(
    address: SubmissionAddress,
    submitter_public_key: bytes,
    desk_key: SubmissionDeskKey,
    routing: RoutingMetadata,
    today: dt.date,
) -> dict[str, Any]:
    """The values of a new submission's row, by attribute, without its envelope, signature and
    owner tag.

    Its dialogue, session and desk key are given by their ids alone: the sealed path holds
    copies of their columns, not their rows, and a row stored in the session finds them there.
    """
    dialogue_session = address.dialogue_session
    return {
        "public_id": address.public_id,
        "dialogue_id": address.dialogue.id,
        "session_id": None if dialogue_session is None else dialogue_session.id,
        "kind": address.kind,
        "state": SubmissionState.RECEIVED,
        "received_on": today,
        "desk_key_id": desk_key.id,
        "submitter_public_key": submitter_public_key,
        "topic_tags": topic_tags(str(topic) for topic in routing.topic_tags),
        "urgent": routing.urgent,
    }


def identity_key_for(
    session: Session, desk_key: SubmissionDeskKey, kind: SubmissionKind
) -> IdentityKey | None:
    """The identity key a ``kind`` submission's names are sealed to, if they are sealed apart."""
    return identity_key_of(session, desk_key) if carries_identities(kind) else None


def _store(
    session: Session,
    insert: Callable[[bytes], int | None],
    owner_tag_key: bytes,
    identity: SubmissionIdentity | None,
    *,
    new_codename: bool = False,
) -> int:
    """Store a submission under the next free tag of ``owner_tag_key``, with its names' row, and
    return its id. ``insert(tag)`` stores it under ``tag``, with its topic rows, and returns its
    id, or ``None`` having stored nothing when the tag (or another unique value) is taken
    (``topic_rows``)."""
    try:
        stored_id = add_with_next_tag(session, insert, owner_tag_key, new_codename=new_codename)
    except OwnerTagTakenError:
        raise SubmissionRefusedError(
            translatable(
                "another submission was being stored under this codename at the same moment; "
                "send this one again"
            )
        ) from None
    # Only once the row is stored: the names' row hangs from it.
    if identity is not None:
        identity.submission_id = stored_id
        session.add(identity)
        session.flush()
    return stored_id
