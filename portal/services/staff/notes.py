"""Who wrote a desk's private note: sealing it signed, and the rule every reader applies.

A note is sealed to the dialogue's desk key alone, so anyone who can write rows could seal one
and put a colleague's name on it. Since signatures a note is therefore signed by its author's
personal signing key (``crypto.staff_signing_seed``) under its v2 context, which names the note,
its author's account and its place among the submission's notes
(``contexts.signed_triage_note_context``), and it carries the author's signing key certified by
the desk key it is sealed to (``crypto.certify_staff_key``). The author makes that certificate
with the desk key their own grant opens; the reader checks it with the signing key it derives
from the same desk key's private half. The database is trusted for nothing: a key the desk never
certified for that account, a note moved to another submission or row, or one re-attributed to
another author, does not verify.

The rule for one note (:func:`checked_note`):

- signed: its certificate and signature must verify, or it is ``UNVERIFIED``;
- unsigned: ``BEFORE_SIGNATURES`` (opened under its v1 context) when its submission was sent
  before signatures too, ``UNVERIFIED`` otherwise: a signed submission's notes are all written
  since signatures, so an unsigned one there is forged.

An ``UNVERIFIED`` note is never opened: readers show "This item could not be verified" and
record ``item.unverified`` (kind ``note``). Who may read a note at all is the desk key's rule.
"""

from dataclasses import dataclass

import crypto
from portal.models import Submission, TriageNote
from portal.services.contexts import (
    SubmissionAddress,
    signed_triage_note_context,
    triage_note_context,
)
from portal.services.staff.staff_signatures import (
    StaffSignature,
    sign_as_staff,
    staff_signature_holds,
)
from portal.services.submissions.payload import decode_payload, encode_payload
from portal.services.submissions.provenance import Anchors, CheckedItem, Provenance

NOTE_FORMAT = "parley-triage-note-v1"


@dataclass(frozen=True)
class NoteSeal:
    """A note as any reader holds it (a row, or a bundle's entry): where it is, who it names
    as its author, and what it carries to prove that (all ``None`` before signatures)."""

    address: SubmissionAddress
    note_id: int
    author_id: int | None  # unknown in a bundle made before signed notes
    envelope: bytes
    position: int | None
    signature: bytes | None
    author_key: bytes | None
    certificate: bytes | None

    @classmethod
    def of(cls, note: TriageNote, submission: Submission) -> "NoteSeal":
        return cls(
            SubmissionAddress.of(submission),
            note.id,
            note.author_id,
            note.envelope,
            note.position,
            _optional(note.signature),
            _optional(note.author_signing_public_key),
            _optional(note.author_certificate),
        )

    def signed_context(self) -> str | None:
        if self.position is None or self.author_id is None:
            return None
        return signed_triage_note_context(self.address, self.note_id, self.author_id, self.position)


def seal_signed_note(
    note: TriageNote,
    submission: Submission,
    text: str,
    *,
    desk_private_key: crypto.PrivateKey,
    personal_key: crypto.PrivateKey,
) -> None:
    """Seal ``text`` into ``note`` (a flushed row with its id, author and position), signed by
    the author's ``personal_key`` and certified by ``desk_private_key`` (the note's desk key,
    opened with the author's own grant)."""
    desk_key = note.desk_key
    context = NoteSeal.of(note, submission).signed_context()
    if crypto.public_key_bytes(desk_private_key) != desk_key.public_key or context is None:
        raise crypto.CryptoError("a note is signed with its own desk key at its own position")
    note.envelope = crypto.seal_envelope(
        encode_payload({"format": NOTE_FORMAT, "text": text}), [desk_key.public_key], context
    )
    signed = sign_as_staff(
        personal_key,
        desk_private_key,
        slug=submission.dialogue.slug,
        account=note.author_id,
        context=context,
        envelope=note.envelope,
    )
    note.signature = signed.signature
    note.author_signing_public_key = signed.signing_key
    note.author_certificate = signed.certificate


def checked_note(
    note: TriageNote,
    submission: Submission,
    anchors: Anchors,
    desk_private_key: crypto.PrivateKey,
) -> CheckedItem:
    """The note after the rule (module docstring): its payload (``{"text": ...}``; empty when
    unverified) and provenance. ``desk_private_key`` is the private half of ``note.desk_key``,
    which the reader opened with its own grant; ``anchors`` are its submission's."""
    seal = NoteSeal.of(note, submission)
    provenance, context = note_provenance(
        seal, desk_private_key, submission_signed=anchors.submission_key is not None
    )
    if provenance is Provenance.UNVERIFIED:
        return CheckedItem({}, provenance, note)
    try:
        payload = decode_payload(crypto.open_envelope(note.envelope, desk_private_key, context))
    except crypto.DecryptionError:
        return CheckedItem({}, Provenance.UNVERIFIED, note)
    return CheckedItem({"text": str(payload.get("text", ""))}, provenance, note)


def note_provenance(
    seal: NoteSeal, desk_private_key: crypto.PrivateKey, *, submission_signed: bool
) -> tuple[Provenance, str]:
    """What a reader may say of who wrote a note (the module docstring's rule), and the context
    it then opens under (meaningless when unverified). ``desk_private_key`` is the private half
    of the desk key the note is sealed to; ``submission_signed`` whether its submission names a
    signing key."""
    unsigned_context = triage_note_context(seal.address, seal.note_id)
    carried = (seal.position, seal.signature, seal.author_key, seal.certificate)
    if all(value is None for value in carried):
        if submission_signed:
            return Provenance.UNVERIFIED, unsigned_context
        return Provenance.BEFORE_SIGNATURES, unsigned_context
    context = seal.signed_context()
    if (
        context is None
        or seal.author_id is None
        or seal.signature is None
        or seal.author_key is None
        or seal.certificate is None
    ):
        return Provenance.UNVERIFIED, unsigned_context
    holds = staff_signature_holds(
        StaffSignature(seal.signature, seal.author_key, seal.certificate),
        desk_private_key,
        slug=seal.address.dialogue.slug,
        account=seal.author_id,
        context=context,
        envelope=seal.envelope,
    )
    return (Provenance.SIGNED, context) if holds else (Provenance.UNVERIFIED, unsigned_context)


def _optional(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)
