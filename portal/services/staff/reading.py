"""Opening a submission's content for a staff member, for one response only.

Everything here starts from need-to-know (``portal.services.desks.need_to_know``): a submission is
opened only when :func:`~portal.services.desks.need_to_know.submission_access` answers ``READ`` for
the signed-in person, and each envelope is opened with the desk key it was sealed to, which the
person opens with their own grant (:meth:`StaffReader.desk_private_key`). A dialogue under
offline review keeps no desk-key private half on the server, so nothing of it opens here.

The names of the persons a case is about open only for those the identity compartment lets in
(``portal.services.staff.identities``); everyone else who reads the case reads "Person 1",
"Person 2" with their consent (:attr:`OpenedForStaff.names` says which), and each opening of the
names is an audit event of its own (``submission.names_read``).

Plaintext lives only in the objects returned, which the caller keeps for the one response it is
building: nothing here writes it to the database, a file, a cache or a log, and every staff
response is sent ``Cache-Control: no-store`` (``portal.security``). Each read is an audit event
(``submission.read``, ``attachment.read``) whose details name the kind of thing read, never what
it says.

Attachments are decrypted as a stream (:func:`decrypted_chunks`): one STREAM chunk at a time
from the storage file, so memory stays bounded whatever the file's size, and cut to the true
size its keys record holds (the padding checked and dropped, ``crypto.file_padding``). A file
whose final check fails raises in the middle of the response, which aborts it: the client never
receives it as complete (the ``Content-Length`` promised, the true size, is not reached, because
the last true bytes are held back until every check has passed).
"""

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import crypto
from crypto.file_padding import unpadded
from portal.models import Attachment, DeskKey, ReviewMode, Submission, TriageNote
from portal.services.audit.trail import AuditAction, record_event, record_submission_event
from portal.services.contexts import SubmissionAddress
from portal.services.desks import need_to_know
from portal.services.staff.identities import NamesState, names_for, record_names_read
from portal.services.staff.notes import checked_note
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.attachments import read_keys_record
from portal.services.submissions.identities import merge_identities
from portal.services.submissions.inbox import open_checked
from portal.services.submissions.payload import decode_payload
from portal.services.submissions.provenance import (
    Anchors,
    CheckedItem,
    Provenance,
    UnverifiedSubmissionError,
    attachment_provenance,
    record_unverified,
)
from portal.storage import EncryptedStorage


class ReadRefusal(enum.StrEnum):
    """Why a staff member may not open a submission's content here."""

    NOT_ON_DESK = "not_on_desk"
    RESTRICTED = "restricted_to_named_members"
    DESK_KEY_NOT_GRANTED = "desk_key_not_granted"
    OFFLINE_REVIEW = "offline_review"


class ReadRefusedError(PermissionError):
    """The content may not (or cannot) be opened; ``reason`` is a :class:`ReadRefusal`."""

    def __init__(self, reason: ReadRefusal) -> None:
        super().__init__(str(reason))
        self.reason = reason


class StaffReader:
    """Opens desk keys with the signed-in member's own grants, for one request.

    Each desk key is opened at most once per reader; the object must not outlive the request.
    """

    def __init__(self, session: Session, signed_in: SignedInStaff) -> None:
        self.session = session
        self.signed_in = signed_in
        self._keys: dict[int, crypto.PrivateKey] = {}

    def desk_private_key(self, desk_key: DeskKey) -> crypto.PrivateKey:
        """The private half of ``desk_key``; ``ReadRefusedError`` when it cannot be opened."""
        cached = self._keys.get(desk_key.id)
        if cached is not None:
            return cached
        if desk_key.dialogue.review_mode is ReviewMode.OFFLINE:
            raise ReadRefusedError(ReadRefusal.OFFLINE_REVIEW)
        try:
            key = need_to_know.open_desk_key(self.session, self.signed_in, desk_key)
        except need_to_know.NotOnDeskError:
            raise ReadRefusedError(ReadRefusal.NOT_ON_DESK) from None
        except need_to_know.DeskKeyUnavailableError:
            raise ReadRefusedError(ReadRefusal.DESK_KEY_NOT_GRANTED) from None
        signing_key = crypto.desk_signing_public_key(key)
        if desk_key.signing_public_key != signing_key:
            # The copy that forms name as the desk's: learnt from the first holder to open a
            # desk key made before signatures, and put right if someone swapped it since.
            desk_key.signing_public_key = signing_key
        self._keys[desk_key.id] = key
        return key

    def open(self, envelope: bytes, desk_key: DeskKey, context: str) -> bytes:
        """The plaintext of an envelope sealed to ``desk_key`` under ``context``.

        ``crypto.DecryptionError`` if it does not open (tampered, or another context).
        """
        return crypto.open_envelope(envelope, self.desk_private_key(desk_key), context)

    def open_json(self, envelope: bytes, desk_key: DeskKey, context: str) -> dict[str, Any]:
        return decode_payload(self.open(envelope, desk_key, context))


@dataclass(frozen=True)
class OpenedAttachment:
    """An attachment's keys record, opened: what the file is, and the key that decrypts it."""

    attachment: Attachment
    name: str
    content_type: str
    size: int
    padded: bool
    file_key: bytes = field(repr=False)

    @property
    def public_id(self) -> str:
        return self.attachment.public_id


@dataclass(frozen=True)
class OpenedForStaff:
    """A submission opened and checked for one staff response.

    ``further_information`` and ``consent_changes`` are ``CheckedItem``s in history order (the
    same shape as the submitter's ``OpenedSubmission``, so that ``inbox.current_consents``
    applies), each with its stored row for its date; ``notes`` pairs each private note with its
    ``CheckedItem`` (``None`` where the reader holds no grant of its desk key);
    ``unverified_attachments`` counts the files
    whose keys record failed the check and that are not offered.
    """

    submission: Submission
    payload: dict[str, Any]
    provenance: Provenance
    anchors: Anchors
    further_information: tuple[CheckedItem, ...]
    consent_changes: tuple[CheckedItem, ...]
    attachments: tuple[OpenedAttachment, ...]
    reader: StaffReader = field(repr=False)
    notes: tuple[tuple[TriageNote, CheckedItem | None], ...] = ()
    unverified_attachments: int = 0
    names: NamesState = NamesState.IN_SUBMISSION

    @property
    def further_information_rows(self) -> list[tuple[Any, CheckedItem]]:
        return [(item.row, item) for item in self.further_information]

    @property
    def consent_change_rows(self) -> list[tuple[Any, CheckedItem]]:
        return [(item.row, item) for item in self.consent_changes]


def _checked_note(
    reader: StaffReader, submission: Submission, anchors: Anchors, note: TriageNote
) -> CheckedItem | None:
    """A note after its rule (``notes.checked_note``), or ``None`` when the reader holds no
    grant of the desk key it is sealed to (it was sealed before a rotation they missed)."""
    try:
        desk_private_key = reader.desk_private_key(note.desk_key)
    except ReadRefusedError:
        return None
    return checked_note(note, submission, anchors, desk_private_key)


def require_read_access(
    session: Session, signed_in: SignedInStaff, submission: Submission, *, now: dt.datetime
) -> None:
    """Refuse unless need-to-know lets the person read ``submission`` and it is reviewed online."""
    access = need_to_know.submission_access(session, signed_in.user, submission, now=now)
    if access is need_to_know.Access.NONE:
        raise ReadRefusedError(ReadRefusal.NOT_ON_DESK)
    if access is need_to_know.Access.RESTRICTED:
        raise ReadRefusedError(ReadRefusal.RESTRICTED)
    if submission.dialogue.review_mode is ReviewMode.OFFLINE:
        raise ReadRefusedError(ReadRefusal.OFFLINE_REVIEW)


def open_submission_for_staff(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    *,
    now: dt.datetime,
    reader: StaffReader | None = None,
) -> OpenedForStaff:
    """Open everything a submission holds, and record the read in the caller's transaction.

    ``ReadRefusedError`` before anything is opened when need-to-know says no; a desk key the
    person holds no grant of refuses too (``DESK_KEY_NOT_GRANTED``). A submission that does not
    open or verify raises ``crypto.DecryptionError`` (``provenance.UnverifiedSubmissionError``
    for one that opens but does not verify, which is recorded as ``item.unverified``): a
    tampered row is an error, not an empty field. An addition or attachment that fails the
    check is recorded the same way and kept out of use (``provenance``).
    """
    require_read_access(session, signed_in, submission, now=now)
    reader = reader or StaffReader(session, signed_in)
    try:
        opened = open_checked(submission, reader.open_json)
    except UnverifiedSubmissionError:
        record_unverified(session, submission, ["submission"], by_submitter=False)
        raise
    payload = opened.payload
    names = names_for(session, signed_in, submission, opened.anchors.submission_key, now=now)
    if names.identities is not None:
        payload = merge_identities(payload, names.identities, submission.kind)
        record_names_read(session, signed_in.user, submission)
    checked = [
        _checked_attachment(reader, submission, opened.anchors, item)
        for item in submission.attachments
    ]
    attachments = tuple(item for item in checked if item is not None)
    notes = tuple(
        (note, _checked_note(reader, submission, opened.anchors, note))
        for note in submission.triage_notes
    )
    unverified = opened.unverified + ["attachment"] * (len(checked) - len(attachments))
    unverified += ["note" for _, item in notes if item is not None and not item.usable]
    unverified += ["identities"] if names.state is NamesState.UNVERIFIED else []
    record_unverified(session, submission, unverified, by_submitter=False)
    record_submission_event(
        session, AuditAction.SUBMISSION_READ, signed_in.user, submission, kind=str(submission.kind)
    )
    return OpenedForStaff(
        submission,
        payload,
        opened.provenance,
        opened.anchors,
        opened.further_information,
        opened.consent_changes,
        attachments,
        reader,
        notes,
        unverified_attachments=len(checked) - len(attachments),
        names=names.state,
    )


def open_attachment_for_staff(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    attachment_public_id: str,
    *,
    now: dt.datetime,
) -> OpenedAttachment | None:
    """Open one attachment's keys record and record the read; ``LookupError`` if no such file,
    ``None`` (recorded as ``item.unverified``, no file offered) if it fails the check of who
    sealed it.

    The caller commits before streaming the file (:func:`decrypted_chunks`), so that the read is
    on record whatever becomes of the download.
    """
    require_read_access(session, signed_in, submission, now=now)
    attachment = next(
        (item for item in submission.attachments if item.public_id == attachment_public_id), None
    )
    if attachment is None:
        raise LookupError("no such attachment")
    reader = StaffReader(session, signed_in)
    try:
        anchors = open_checked(submission, reader.open_json).anchors
        opened = _checked_attachment(reader, submission, anchors, attachment)
    except UnverifiedSubmissionError:
        opened = None
    if opened is None:
        record_unverified(session, submission, ["attachment"], by_submitter=False)
        return None
    record_event(
        session,
        action=AuditAction.ATTACHMENT_READ,
        object_type="attachment",
        object_id=attachment.id,
        actor=signed_in.user,
        dialogue=submission.dialogue,
        details={"submission": submission.id},
    )
    return opened


def decrypted_chunks(storage: EncryptedStorage, opened: OpenedAttachment) -> Iterator[bytes]:
    """The attachment's true bytes (``opened.size`` of them), one authenticated chunk at a time.

    Raises ``crypto.DecryptionError`` part-way when the file is cut short or altered, or its
    padding is wrong: whatever has been yielded must then be thrown away, which for a web
    response means aborting it.
    """
    return unpadded(_stream_plaintext(storage, opened), opened.size, padded=opened.padded)


def _stream_plaintext(storage: EncryptedStorage, opened: OpenedAttachment) -> Iterator[bytes]:
    with storage.open(opened.attachment.storage_name) as handle:
        yield from crypto.decrypted_chunks(handle, opened.file_key)


def _checked_attachment(
    reader: StaffReader, submission: Submission, anchors: Anchors, item: Attachment
) -> OpenedAttachment | None:
    """The attachment's keys record, opened once ``provenance``'s rule lets it be; ``None`` for
    one that fails the rule or does not open (the caller records it and offers no file)."""
    provenance, context = attachment_provenance(
        anchors.submission_key,
        SubmissionAddress.of(submission),
        item.public_id,
        item.keys_envelope,
        item.signature,
    )
    if provenance is Provenance.UNVERIFIED:
        return None
    # Attachment-keys records are sealed with the submission, to the submission's desk key.
    try:
        keys = read_keys_record(reader.open_json(item.keys_envelope, submission.desk_key, context))
    except crypto.DecryptionError:
        return None
    return OpenedAttachment(
        attachment=item,
        name=keys.name,
        content_type=keys.content_type or "application/octet-stream",
        size=keys.size,
        padded=keys.padded,
        file_key=keys.file_key,
    )
