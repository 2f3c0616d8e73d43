"""The submitter's inbox: their own submissions, read back, added to, consent changed, deleted.

Every function here takes a submission found by :func:`own_submission`, which is the one place
that checks it belongs to the signed-in submitter: that the walk over their owner tags
(``owner_tags.walk``, with the tag key their session holds) reaches it. Another person's public
id is answered exactly like one that does not exist.

Further information and consent changes are sealed like the submission (contexts in
``contexts``) to the dialogue's *current* desk key, which may be newer than the one the
submission was sealed to, and to the key the submission names for its submitter; the submitter
opens them with the private half (``submitter_keys.submission_private_key``). For a submission
that names a signing key they are signed with it under their v2 context at the next position of
the submitter's side of the history (:func:`next_submitter_position`), in the browser or, without
JavaScript, on the server with the key the codename derives for this request; a submission sent
before signatures takes unsigned v1 additions. Every reader goes through
:func:`open_checked`, which applies ``provenance``'s rule before anything is used. They are accepted
whatever the submission's state and even for a frozen dialogue: a submitter must always be able
to correct what they sent or take consent back. A consent change takes the case off any handover
list at once, in the same transaction (``rounds.handover.leave_on_consent_change``).

Deleting is crypto-shredding: every envelope row (the submission, further information, consent
changes, attachment-keys records, which hold the only wrapped copies of the data and file keys)
and every attachment file is deleted, in one transaction, the files once it commits (see
``portal.storage`` about backups). What remains is a tombstone so the inbox can say the
submission was deleted, holding the submission's owner tag so the walk goes on past it, and an
audit event naming the submission's internal id and kind only.
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    ConsentChange,
    DeletedSubmission,
    DeskKey,
    DeskMessage,
    FurtherInformation,
    MessageAuthor,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.audit.trail import AuditAction, record_submission_event
from portal.services.contexts import (
    SubmissionAddress,
    attachment_keys_context,
    consent_change_context,
    further_information_context,
    identities_context,
    recipient_keys,
    signed_attachment_keys_context,
    signed_consent_change_context,
    signed_further_information_context,
    signed_identities_context,
    signed_submission_context,
    submission_context,
)
from portal.services.rounds import handover  # the module: it reads consent through this one
from portal.services.storage_quota import release_stored
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.intake import (
    MAX_ENVELOPE_BYTES,
    SubmissionRefusedError,
    check_envelope,
    check_signature,
    require_desk_key,
)
from portal.services.submissions.kinds import ConsentLevel
from portal.services.submissions.owner_tags import walk
from portal.services.submissions.payload import (
    PayloadError,
    decode_payload,
    encode_payload,
    validate_consent_change,
    validate_further_information,
)
from portal.services.submissions.provenance import (
    Anchors,
    CheckedItem,
    Provenance,
    UnverifiedSubmissionError,
    identities_provenance,
    placed_item,
    submission_anchors,
)
from portal.services.submissions.submitter_keys import (
    SubmitterKey,
    submission_keys,
    submission_private_key,
)
from portal.storage import EncryptedStorage
from portal.translatable import translatable

KINDS_WITH_CONSENT = frozenset({SubmissionKind.INDIVIDUAL_CASE, SubmissionKind.REPRISAL_REPORT})
_Addition = TypeVar("_Addition", FurtherInformation, ConsentChange)


class SubmissionNotFoundError(LookupError):
    """No submission of this submitter has that public id."""

    def __init__(self) -> None:
        super().__init__("There is no such submission in your inbox.")


@dataclass(frozen=True)
class InboxEntry:
    """One line of the inbox; a deleted submission has ``deleted_on`` and no state."""

    public_id: str
    kind: SubmissionKind
    dialogue_slug: str | None
    state: SubmissionState | None
    received_on: dt.date | None
    deleted_on: dt.date | None
    dialogue_partner: str | None = None
    session_date: dt.date | None = None
    past_retention: bool = False


@dataclass(frozen=True)
class SealedRecord:
    """An envelope and the context to open it under, for the browser to check and decrypt.

    ``signature`` is empty for an item stored before signatures (then ``context`` is its v1
    context); the browser applies the same rule as ``provenance``.
    """

    context: str
    envelope: bytes
    signature: bytes | None = None


@dataclass(frozen=True)
class AdditionKind:
    """How one kind of item the submitter adds is addressed: under its v1 context for a
    submission sent before signatures, else under its v2 context at a position."""

    name: str
    unsigned: Callable[[SubmissionAddress], str]
    signed: Callable[[SubmissionAddress, int], str]


FURTHER_INFORMATION = AdditionKind(
    "further_information", further_information_context, signed_further_information_context
)
CONSENT_CHANGE = AdditionKind(
    "consent_change", consent_change_context, signed_consent_change_context
)


@dataclass(frozen=True)
class Addition:
    """An addition ready to store: the desk key it is sealed to, its envelope, its place and
    its signature (both empty for an addition to a submission sent before signatures)."""

    desk_key: DeskKey
    envelope: bytes
    position: int | None
    signature: bytes | None


@dataclass(frozen=True)
class SealedSubmission:
    """Everything stored for one submission, still sealed."""

    submission: SealedRecord
    further_information: tuple[SealedRecord, ...]
    consent_changes: tuple[SealedRecord, ...]
    attachment_keys: tuple[SealedRecord, ...]
    identities: SealedRecord | None = None  # the persons' names, when sealed apart


@dataclass(frozen=True)
class SealingTarget:
    """What a browser seals further information and consent changes of a submission to, and
    whether it signs them (``signing_key``: the key the row names, which the browser compares
    with the one its codename derives; empty for a submission sent before signatures)."""

    recipients: tuple[bytes, bytes]
    further_information_context: str
    consent_change_context: str
    signing_key: bytes | None


@dataclass(frozen=True)
class OpenedSubmission:
    """One submission opened and checked (:func:`open_checked`), for one response.

    ``provenance`` is ``SIGNED`` or ``BEFORE_SIGNATURES`` (a submission that does not verify is
    not opened at all); each further information and consent change is a ``CheckedItem`` in
    history order, whose ``row`` is the stored row (for its date).
    """

    payload: dict[str, Any]
    provenance: Provenance
    anchors: Anchors
    further_information: tuple[CheckedItem, ...]
    consent_changes: tuple[CheckedItem, ...]
    identities: Provenance | None = None  # the names sent apart, once checked; None: none were

    @property
    def unverified(self) -> list[str]:
        """The kinds of the items that failed the rule, one entry per item."""
        failed = ["identities"] if self.identities is Provenance.UNVERIFIED else []
        return failed + [
            kind
            for kind, items in (
                ("further_information", self.further_information),
                ("consent_change", self.consent_changes),
            )
            for item in items
            if not item.usable
        ]


def list_inbox(session: Session, owner_tag_key: bytes) -> list[InboxEntry]:
    """The submitter's submissions and deleted submissions, newest first."""
    owned = walk(session, owner_tag_key)
    entries = [
        InboxEntry(
            s.public_id,
            s.kind,
            s.dialogue.slug,
            s.state,
            s.received_on,
            None,
            dialogue_partner=s.dialogue.partner,
            session_date=None if s.session is None else s.session.date,
        )
        for s in owned.submissions
    ]
    entries += [
        InboxEntry(
            d.public_id, d.kind, None, None, None, d.deleted_on, past_retention=d.past_retention
        )
        for d in owned.tombstones
    ]
    return sorted(entries, key=lambda e: e.received_on or e.deleted_on or dt.date.min, reverse=True)


def own_submission(session: Session, owner_tag_key: bytes, public_id: str) -> Submission:
    """The submitter's submission with this public id; ``SubmissionNotFoundError`` otherwise."""
    for submission in walk(session, owner_tag_key).submissions:
        if submission.public_id == public_id:
            return submission
    raise SubmissionNotFoundError()


def sealed_submission(submission: Submission) -> SealedSubmission:
    """The envelopes of a submission with their contexts and signatures, in history order, for
    the browser to check and open. An item's context is its v2 context when it is signed."""
    address = SubmissionAddress.of(submission)
    signed = submission.signature is not None
    return SealedSubmission(
        submission=SealedRecord(
            (signed_submission_context if signed else submission_context)(address),
            submission.envelope,
            submission.signature,
        ),
        further_information=tuple(
            _record(address, FURTHER_INFORMATION, item)
            for item in history_order(submission.further_information)
        ),
        consent_changes=tuple(
            _record(address, CONSENT_CHANGE, item)
            for item in history_order(submission.consent_changes)
        ),
        attachment_keys=tuple(
            SealedRecord(
                (signed_attachment_keys_context if signed else attachment_keys_context)(
                    address, item.public_id
                ),
                item.keys_envelope,
                item.signature,
            )
            for item in submission.attachments
        ),
        identities=None if submission.identity is None else _identities_record(address, submission),
    )


def _identities_record(address: SubmissionAddress, submission: Submission) -> SealedRecord:
    identity = submission.identity
    signature = None if identity.signature is None else bytes(identity.signature)
    context = (identities_context if signature is None else signed_identities_context)(address)
    return SealedRecord(context, identity.envelope, signature)


def _record(
    address: SubmissionAddress, kind: AdditionKind, item: FurtherInformation | ConsentChange
) -> SealedRecord:
    if item.position is None:
        return SealedRecord(kind.unsigned(address), item.envelope, item.signature)
    return SealedRecord(kind.signed(address, item.position), item.envelope, item.signature)


_Placed = TypeVar("_Placed", FurtherInformation, ConsentChange, DeskMessage)


def history_order(items: Sequence[_Placed]) -> list[_Placed]:
    """Items in the order their signed positions give, items without one first by id: the
    order consent changes apply in, which a writer who renumbers rows cannot change."""
    return sorted(items, key=lambda item: (item.position is not None, item.position or 0, item.id))


def next_submitter_position(submission: Submission) -> int:
    """The next free position of the submitter's side of the history (the submission is 0)."""
    taken = [item.position for item in submission.further_information]
    taken += [item.position for item in submission.consent_changes]
    taken += [
        message.position
        for message in submission.messages
        if message.written_by is MessageAuthor.SUBMITTER
    ]
    return 1 + max((position for position in taken if position is not None), default=0)


def addition_position(submission: Submission) -> int | None:
    """Where the submitter's next item goes; ``None`` for a submission sent before signatures,
    whose additions stay unsigned (there is no key inside it to check a signature with)."""
    return None if submission.signing_public_key is None else next_submitter_position(submission)


def sealing_target(session: Session, submission: Submission) -> SealingTarget:
    """The recipients and contexts that the sealed variants below check, for the browser to use.

    Given out rather than rebuilt in the browser, so that the rule stays here: the *current*
    desk key and the submission's own key for its submitter, under this submission's contexts.
    """
    position = addition_position(submission)
    return SealingTarget(
        recipients=recipient_keys(
            require_desk_key(session, submission.dialogue), submission.submitter_public_key
        ),
        further_information_context=addition_context(submission, FURTHER_INFORMATION, position),
        consent_change_context=addition_context(submission, CONSENT_CHANGE, position),
        signing_key=submission.signing_public_key,
    )


def addition_context(submission: Submission, kind: AdditionKind, position: int | None) -> str:
    """The context an addition of ``kind`` at ``position`` (``None``: unsigned) is sealed under."""
    address = SubmissionAddress.of(submission)
    return kind.unsigned(address) if position is None else kind.signed(address, position)


Opener = Callable[[bytes, DeskKey, str], dict[str, Any]]
"""Opens one envelope sealed to a desk key under a context: the submitter's key or a staff
member's grant of that desk key; raises ``crypto.DecryptionError`` when it does not open."""


def open_checked(submission: Submission, opener: Opener) -> OpenedSubmission:
    """Open a submission and its additions, each checked by ``provenance``'s rule first.

    ``provenance.UnverifiedSubmissionError`` when the submission itself does not verify. An
    addition that fails the rule, or does not open, is an unverified ``CheckedItem`` with an
    empty payload: never opened for use.
    """
    address = SubmissionAddress.of(submission)
    signed = submission.signature is not None
    context = (signed_submission_context if signed else submission_context)(address)
    payload = opener(submission.envelope, submission.desk_key, context)
    anchors = submission_anchors(submission, payload)

    def checked(kind: AdditionKind, item: FurtherInformation | ConsentChange) -> CheckedItem:
        provenance, opened_under = placed_item(
            anchors.submission_key,
            signed_context=None if item.position is None else kind.signed(address, item.position),
            unsigned_context=kind.unsigned(address),
            envelope=item.envelope,
            signature=item.signature,
        )
        if provenance is Provenance.UNVERIFIED:
            return CheckedItem({}, provenance, item)
        try:
            return CheckedItem(opener(item.envelope, item.desk_key, opened_under), provenance, item)
        except crypto.DecryptionError:
            return CheckedItem({}, Provenance.UNVERIFIED, item)

    return OpenedSubmission(
        payload=payload,
        provenance=Provenance.SIGNED if signed else Provenance.BEFORE_SIGNATURES,
        anchors=anchors,
        further_information=tuple(
            checked(FURTHER_INFORMATION, item)
            for item in history_order(submission.further_information)
        ),
        consent_changes=tuple(
            checked(CONSENT_CHANGE, item) for item in history_order(submission.consent_changes)
        ),
    )


def open_submission(submission: Submission, secrets: SubmitterKey) -> OpenedSubmission:
    """Open and check a submission with the key the submitter's codename gives it; the
    plaintext lives in the return value only.

    The submitter also checks that the signing key sealed inside is the one their codename
    derives for the submission: ``provenance.UnverifiedSubmissionError`` otherwise.
    """
    key = submission_private_key(submission, secrets)

    def opener(envelope: bytes, _desk_key: DeskKey, context: str) -> dict[str, Any]:
        return decode_payload(crypto.open_envelope(envelope, key, context))

    opened = open_checked(submission, opener)
    own = opened.anchors.submission_key
    if (
        own is not None
        and own != submission_keys(secrets, submission.public_id).signing_public_key()
    ):
        raise UnverifiedSubmissionError("the submission names another signing key than its own")
    identities = sealed_submission(submission).identities
    if identities is None:
        return opened
    provenance, context = identities_provenance(
        own, SubmissionAddress.of(submission), identities.envelope, identities.signature
    )
    if provenance is Provenance.UNVERIFIED:
        return replace(opened, identities=provenance)
    names = opener(identities.envelope, submission.desk_key, context)
    merged = merge_identities(opened.payload, names, submission.kind)
    return replace(opened, payload=merged, identities=provenance)


_CONSENT_RANK = {level: rank for rank, level in enumerate(ConsentLevel)}


@dataclass(frozen=True)
class CountedConsentChange:
    """A consent change that counted in :func:`consent_history`: for whom, to what, and the
    round it confirms (``None`` for an ordinary change)."""

    person: int
    consent: dict[str, Any]
    confirms_round: int | None


def current_consents(opened: Any) -> tuple[dict[str, Any], ...]:
    """Each named person's consent as it stands: the latest change for them, else as sent
    (:func:`consent_history`)."""
    return consent_history(opened)[0]


def consent_history(opened: Any) -> tuple[tuple[dict[str, Any], ...], list[CountedConsentChange]]:
    """Each named person's consent as it stands, and the changes that counted, in order.

    Changes apply in history order (signed positions), so the last word of the submitter is
    what counts. A browser seals its submission and changes where the server cannot check them,
    so the consent as sent is held to the same rule as a change: one that is not a valid consent
    (a level and a giver of the ladder, the risks explained) counts as none (``{}``, shown as not
    readable and never enough for a list), and a change that does not name a person of this
    submission with a valid consent is passed over rather than trusted.

    Who wrote a change matters too (``provenance``): an unverified change is never used, and a
    change sent before signatures, which anyone able to write rows could have sealed, may only
    lower a person's consent, never raise it. ``opened`` is an ``OpenedSubmission`` or the staff
    reading's equivalent.
    """
    persons = opened.payload.get("persons", [])
    consents = [_valid_consent(index, person, len(persons)) for index, person in enumerate(persons)]
    counted = []
    for change in opened.consent_changes:
        if not change.usable:
            continue
        try:
            valid = validate_consent_change(change.payload, len(consents))
        except PayloadError:
            continue
        person = valid["person"]
        if change.provenance is Provenance.BEFORE_SIGNATURES and _rank(valid["consent"]) > _rank(
            consents[person]
        ):
            continue
        consents[person] = valid["consent"]
        counted.append(CountedConsentChange(person, valid["consent"], valid.get("round")))
    return tuple(consents), counted


def _rank(consent: dict[str, Any]) -> int:
    """How far a consent goes on the ladder; a consent that is not valid ranks below all."""
    return _CONSENT_RANK.get(consent.get("level"), -1)


def _valid_consent(index: int, person: Any, person_count: int) -> dict[str, Any]:
    consent = person.get("consent") if isinstance(person, dict) else None
    try:
        return validate_consent_change({"person": index, "consent": consent}, person_count)[
            "consent"
        ]
    except PayloadError:
        return {}


def add_sealed_further_information(
    session: Session,
    submission: Submission,
    envelope: bytes,
    signature: bytes | None,
    *,
    today: dt.date,
) -> FurtherInformation:
    """Append further information a browser sealed, once its address and signature are checked."""
    addition = checked_addition(session, submission, envelope, signature, FURTHER_INFORMATION)
    return _appended(
        session, submission.further_information, _row(FurtherInformation, addition, today)
    )


def add_plain_further_information(
    session: Session,
    submission: Submission,
    secrets: SubmitterKey,
    form: Mapping[str, Any],
    *,
    today: dt.date,
) -> FurtherInformation:
    """Validate, seal and sign further information posted without JavaScript."""
    payload = validate_further_information(form)
    addition = submitter_addition(session, submission, secrets, payload, FURTHER_INFORMATION)
    return _appended(
        session, submission.further_information, _row(FurtherInformation, addition, today)
    )


def change_sealed_consent(
    session: Session,
    submission: Submission,
    envelope: bytes,
    signature: bytes | None,
    *,
    today: dt.date,
) -> ConsentChange:
    """Record a consent change a browser sealed, once its address and signature are checked."""
    _require_consent_ladder(submission)
    addition = checked_addition(session, submission, envelope, signature, CONSENT_CHANGE)
    return _consent_changed(session, submission, _row(ConsentChange, addition, today), today)


def change_plain_consent(
    session: Session,
    submission: Submission,
    secrets: SubmitterKey,
    form: Mapping[str, Any],
    *,
    today: dt.date,
) -> ConsentChange:
    """Validate and seal a consent change posted without JavaScript.

    The submission is opened with the submitter's key (for this call only) so that the change
    can be checked to name one of the people the submission names.
    """
    _require_consent_ladder(submission)
    persons = open_submission(submission, secrets).payload["persons"]
    payload = validate_consent_change(form, len(persons))
    addition = submitter_addition(session, submission, secrets, payload, CONSENT_CHANGE)
    return _consent_changed(session, submission, _row(ConsentChange, addition, today), today)


def _consent_changed(
    session: Session, submission: Submission, change: ConsentChange, today: dt.date
) -> ConsentChange:
    """Store a consent change; the case leaves any handover list at once, whatever the change
    says (the server does not read it: ``rounds.handover``)."""
    _appended(session, submission.consent_changes, change)
    handover.leave_on_consent_change(session, submission, today=today)
    return change


def checked_addition(
    session: Session,
    submission: Submission,
    envelope: bytes,
    signature: bytes | None,
    kind: AdditionKind,
) -> Addition:
    """An addition a browser sealed (and signed), checked before anything is stored.

    Additions go to the desk key current when they arrive, like new submissions, so a desk
    that rotated its key reads them with the new one. For a signed submission the envelope must
    name the v2 context of the next position and carry a signature by the submission's key
    (``intake.check_signature``); a submission sent before signatures takes only unsigned ones.
    """
    desk_key = require_desk_key(session, submission.dialogue)
    position = addition_position(submission)
    context = addition_context(submission, kind, position)
    check_envelope(
        envelope,
        context=context,
        recipients=recipient_keys(desk_key, submission.submitter_public_key),
        max_bytes=MAX_ENVELOPE_BYTES,
    )
    if position is not None:
        signing_key = bytes(submission.signing_public_key or b"")
        check_signature(signing_key, context, envelope, signature or b"")
    elif signature is not None:
        raise SubmissionRefusedError(translatable("this submission takes no signed additions"))
    return Addition(desk_key, bytes(envelope), position, signature)


def submitter_addition(
    session: Session,
    submission: Submission,
    secrets: SubmitterKey,
    payload: Mapping[str, Any],
    kind: AdditionKind,
) -> Addition:
    """Seal and sign a validated addition on the server (no JavaScript), as a browser would,
    with the signing key ``secrets`` derives for the submission during this request."""
    signing_seed = submission_keys(secrets, submission.public_id).signing_seed
    return sealed_addition(
        session, submission, payload, kind, addition_position(submission), signing_seed
    )


def sealed_addition(
    session: Session,
    submission: Submission,
    payload: Mapping[str, Any],
    kind: AdditionKind,
    position: int | None,
    signing_seed: bytes,
) -> Addition:
    """Seal a validated addition on the server to the same recipients a browser would use, and
    sign it with ``signing_seed`` unless it goes to a submission sent before signatures
    (``position`` is then ``None``)."""
    desk_key = require_desk_key(session, submission.dialogue)
    context = addition_context(submission, kind, position)
    envelope = crypto.seal_envelope(
        encode_payload(payload), recipient_keys(desk_key, submission.submitter_public_key), context
    )
    signature = None if position is None else crypto.sign_item(signing_seed, context, envelope)
    return Addition(desk_key, envelope, position, signature)


def _row(model: type[_Addition], addition: Addition, today: dt.date) -> _Addition:
    return model(
        desk_key=addition.desk_key,
        received_on=today,
        envelope=addition.envelope,
        position=addition.position,
        signature=addition.signature,
    )


def _appended(session: Session, items: list[_Addition], item: _Addition) -> _Addition:
    """Add ``item`` to the submission's list and give it its id."""
    items.append(item)
    session.flush()
    return item


def delete_submission(
    session: Session,
    storage: EncryptedStorage,
    submission: Submission,
    *,
    today: dt.date,
    past_retention: bool = False,
) -> DeletedSubmission:
    """Crypto-shred a submission (see the module docstring) and leave its tombstone.

    Its submitter deletes it from the inbox; the clean-up deletes it once its dialogue's
    retention period has passed (``past_retention``, ``dialogues.retention``), the same way,
    so the inbox shows it as deleted and the walk over its owner tags goes on past it.
    """
    for attachment in submission.attachments:
        storage.delete_on_commit(session, attachment.storage_name)
    release_stored(session, sum(file.ciphertext_size for file in submission.attachments))
    tombstone = DeletedSubmission(
        public_id=submission.public_id,
        owner_tag=submission.owner_tag,
        kind=submission.kind,
        deleted_on=today,
        past_retention=past_retention,
    )
    record_submission_event(
        session,
        AuditAction.SUBMISSION_DELETED,
        None,
        submission,
        submitter_caused=not past_retention,
        kind=str(submission.kind),
        by="retention" if past_retention else "submitter",
    )
    session.delete(submission)
    session.flush()
    session.add(tombstone)
    session.flush()
    return tombstone


def _require_consent_ladder(submission: Submission) -> None:
    if submission.kind not in KINDS_WITH_CONSENT:
        raise SubmissionRefusedError(
            translatable("only cases and reprisal reports name people with consent")
        )
