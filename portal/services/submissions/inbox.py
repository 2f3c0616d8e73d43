"""The submitter's inbox: their own submissions, read back, added to, consent changed, deleted.

Every function here takes a submission found by :func:`own_submission`, which is the one place
that checks it belongs to the signed-in submitter: that the walk over their owner tags
(``owner_tags.walk``, with the tag key their session holds) reaches it. Another person's public
id is answered exactly like one that does not exist.

Further information and consent changes are sealed like the submission (contexts in
``contexts``) to the dialogue's *current* desk key, which may be newer than the one the
submission was sealed to, and to the key the submission names for its submitter; the submitter
opens them with the private half (``submitter_keys.submission_private_key``). They are accepted
whatever the submission's state and even for a frozen dialogue: a submitter must always be able
to correct what they sent or take consent back.

Deleting is crypto-shredding: every envelope row (the submission, further information, consent
changes, attachment-keys records, which hold the only wrapped copies of the data and file keys)
and every attachment file is deleted, in one transaction, the files once it commits (see
``portal.storage`` about backups). What remains is a tombstone so the inbox can say the
submission was deleted, holding the submission's owner tag so the walk goes on past it, and an
audit event naming the submission's internal id and kind only.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    ConsentChange,
    DeletedSubmission,
    DeskKey,
    FurtherInformation,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import (
    SubmissionAddress,
    attachment_keys_context,
    consent_change_context,
    further_information_context,
    identities_context,
    recipient_keys,
    submission_context,
)
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.intake import (
    MAX_ENVELOPE_BYTES,
    SubmissionRefusedError,
    check_envelope,
    require_desk_key,
)
from portal.services.submissions.owner_tags import walk
from portal.services.submissions.payload import (
    PayloadError,
    decode_payload,
    encode_payload,
    validate_consent_change,
    validate_further_information,
)
from portal.services.submissions.submitter_keys import SubmitterKey, submission_private_key
from portal.storage import EncryptedStorage

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


@dataclass(frozen=True)
class SealedRecord:
    """An envelope and the context to open it under, for the browser to decrypt."""

    context: str
    envelope: bytes


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
    """What a browser seals further information and consent changes of a submission to."""

    recipients: tuple[bytes, bytes]
    further_information_context: str
    consent_change_context: str


@dataclass(frozen=True)
class OpenedSubmission:
    """One submission opened with the submitter's key, for one no-JavaScript response."""

    payload: dict[str, Any]
    further_information: tuple[dict[str, Any], ...]
    consent_changes: tuple[dict[str, Any], ...]


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
        InboxEntry(d.public_id, d.kind, None, None, None, d.deleted_on) for d in owned.tombstones
    ]
    return sorted(entries, key=lambda e: e.received_on or e.deleted_on or dt.date.min, reverse=True)


def own_submission(session: Session, owner_tag_key: bytes, public_id: str) -> Submission:
    """The submitter's submission with this public id; ``SubmissionNotFoundError`` otherwise."""
    for submission in walk(session, owner_tag_key).submissions:
        if submission.public_id == public_id:
            return submission
    raise SubmissionNotFoundError()


def sealed_submission(submission: Submission) -> SealedSubmission:
    """The envelopes of a submission with their contexts, for the browser to open."""
    address = SubmissionAddress.of(submission)
    return SealedSubmission(
        submission=SealedRecord(submission_context(address), submission.envelope),
        further_information=tuple(
            SealedRecord(further_information_context(address), item.envelope)
            for item in submission.further_information
        ),
        consent_changes=tuple(
            SealedRecord(consent_change_context(address), item.envelope)
            for item in submission.consent_changes
        ),
        attachment_keys=tuple(
            SealedRecord(attachment_keys_context(address, item.public_id), item.keys_envelope)
            for item in submission.attachments
        ),
        identities=None
        if submission.identity is None
        else SealedRecord(identities_context(address), submission.identity.envelope),
    )


def sealing_target(session: Session, submission: Submission) -> SealingTarget:
    """The recipients and contexts that the sealed variants below check, for the browser to use.

    Given out rather than rebuilt in the browser, so that the rule stays here: the *current*
    desk key and the submission's own key for its submitter, under this submission's contexts.
    """
    address = SubmissionAddress.of(submission)
    return SealingTarget(
        recipients=recipient_keys(require_desk_key(session, submission.dialogue), submission),
        further_information_context=further_information_context(address),
        consent_change_context=consent_change_context(address),
    )


def open_submission(submission: Submission, secrets: SubmitterKey) -> OpenedSubmission:
    """Open a submission with the key the submitter's codename gives it; the plaintext lives in
    the return value only."""
    sealed = sealed_submission(submission)
    key = submission_private_key(submission, secrets)

    def opened(record: SealedRecord) -> dict[str, Any]:
        return decode_payload(crypto.open_envelope(record.envelope, key, record.context))

    payload = opened(sealed.submission)
    if sealed.identities is not None:
        payload = merge_identities(payload, opened(sealed.identities), submission.kind)
    return OpenedSubmission(
        payload=payload,
        further_information=tuple(opened(record) for record in sealed.further_information),
        consent_changes=tuple(opened(record) for record in sealed.consent_changes),
    )


def current_consents(opened: OpenedSubmission) -> tuple[dict[str, Any], ...]:
    """Each named person's consent as it stands: the latest change for them, else as sent.

    Changes apply in the order they arrived, so the last word of the submitter is what counts. A
    browser seals its submission and changes where the server cannot check them, so the consent
    as sent is held to the same rule as a change: one that is not a valid consent (a level and a
    giver of the ladder, the risks explained) counts as none (``{}``, shown as not readable and
    never enough for a list), and a change that does not name a person of this submission with a
    valid consent is passed over rather than trusted.
    """
    persons = opened.payload.get("persons", [])
    consents = [_valid_consent(index, person, len(persons)) for index, person in enumerate(persons)]
    for change in opened.consent_changes:
        try:
            valid = validate_consent_change(change, len(consents))
        except PayloadError:
            continue
        consents[valid["person"]] = valid["consent"]
    return tuple(consents)


def _valid_consent(index: int, person: Any, person_count: int) -> dict[str, Any]:
    consent = person.get("consent") if isinstance(person, dict) else None
    try:
        return validate_consent_change({"person": index, "consent": consent}, person_count)[
            "consent"
        ]
    except PayloadError:
        return {}


def add_sealed_further_information(
    session: Session, submission: Submission, envelope: bytes, *, today: dt.date
) -> FurtherInformation:
    """Append further information a browser sealed, once its address is checked."""
    desk_key = checked_addition(session, submission, envelope, further_information_context)
    item = FurtherInformation(desk_key=desk_key, received_on=today, envelope=bytes(envelope))
    return _appended(session, submission.further_information, item)


def add_plain_further_information(
    session: Session, submission: Submission, form: Mapping[str, Any], *, today: dt.date
) -> FurtherInformation:
    """Validate and seal further information posted without JavaScript."""
    payload = validate_further_information(form)
    desk_key, envelope = sealed_addition(session, submission, payload, further_information_context)
    item = FurtherInformation(desk_key=desk_key, received_on=today, envelope=envelope)
    return _appended(session, submission.further_information, item)


def change_sealed_consent(
    session: Session, submission: Submission, envelope: bytes, *, today: dt.date
) -> ConsentChange:
    """Record a consent change a browser sealed, once its address is checked."""
    _require_consent_ladder(submission)
    desk_key = checked_addition(session, submission, envelope, consent_change_context)
    change = ConsentChange(desk_key=desk_key, received_on=today, envelope=bytes(envelope))
    return _appended(session, submission.consent_changes, change)


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
    desk_key, envelope = sealed_addition(session, submission, payload, consent_change_context)
    change = ConsentChange(desk_key=desk_key, received_on=today, envelope=envelope)
    return _appended(session, submission.consent_changes, change)


def checked_addition(
    session: Session,
    submission: Submission,
    envelope: bytes,
    context_of: Callable[[SubmissionAddress], str],
) -> DeskKey:
    """The desk key an addition a browser sealed must be addressed to, the envelope checked.

    Additions go to the desk key current when they arrive, like new submissions, so a desk
    that rotated its key reads them with the new one.
    """
    desk_key = require_desk_key(session, submission.dialogue)
    check_envelope(
        envelope,
        context=context_of(SubmissionAddress.of(submission)),
        recipients=recipient_keys(desk_key, submission),
        max_bytes=MAX_ENVELOPE_BYTES,
    )
    return desk_key


def sealed_addition(
    session: Session,
    submission: Submission,
    payload: Mapping[str, Any],
    context_of: Callable[[SubmissionAddress], str],
) -> tuple[DeskKey, bytes]:
    """Seal a validated addition on the server to the same recipients a browser would use."""
    desk_key = require_desk_key(session, submission.dialogue)
    envelope = crypto.seal_envelope(
        encode_payload(payload),
        recipient_keys(desk_key, submission),
        context_of(SubmissionAddress.of(submission)),
    )
    return desk_key, envelope


def _appended(session: Session, items: list[_Addition], item: _Addition) -> _Addition:
    """Add ``item`` to the submission's list and give it its id."""
    items.append(item)
    session.flush()
    return item


def delete_submission(
    session: Session, storage: EncryptedStorage, submission: Submission, *, today: dt.date
) -> DeletedSubmission:
    """Crypto-shred a submission (see the module docstring) and leave its tombstone."""
    for attachment in submission.attachments:
        storage.delete_on_commit(session, attachment.storage_name)
    tombstone = DeletedSubmission(
        public_id=submission.public_id,
        owner_tag=submission.owner_tag,
        kind=submission.kind,
        deleted_on=today,
    )
    record_event(
        session,
        action=AuditAction.SUBMISSION_DELETED,
        object_type="submission",
        object_id=submission.id,
        dialogue=submission.dialogue,
        details={"kind": str(submission.kind), "by": "submitter"},
    )
    session.delete(submission)
    session.flush()
    session.add(tombstone)
    session.flush()
    return tombstone


def _require_consent_ladder(submission: Submission) -> None:
    if submission.kind not in KINDS_WITH_CONSENT:
        raise SubmissionRefusedError("only cases and reprisal reports name people with consent")
