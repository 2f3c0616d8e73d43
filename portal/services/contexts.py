"""Every string that binds a ciphertext or a keyed hash of the product to what it is for.

An envelope opens only under the context it was sealed with, a box only for its purpose, so
these strings are what keeps a ciphertext from being moved to another submission, dialogue,
kind, note, message or account and still opening. Two builders that could ever produce the same
string would undo that, and the only way to be sure they cannot is to see them all at once: so
they all live here, and ``tests/integration/test_contexts.py`` proves them pairwise distinct and
fails when a context-like string appears in any other module.

The strings themselves are specified in docs/FORMATS.md, "Envelope contexts" (with whom each
envelope is sealed to and what it holds), "Box purposes" and "Staff sign-in buckets"; this
module is their one implementation. Items stored since signatures are sealed and signed under the
v2 contexts (``signed_*``), which add the item's position in the submission's history and its
direction to what v1 binds; the v1 builders remain for reading what was stored before, and for
what is added to a submission sent before signatures. The browser builds no context of its
own: pages carry the strings made here (the attachment-keys context as a prefix that the upload
id completes).

Recipients are exactly two for everything a submitter or the desk writes to the other
(:func:`recipient_keys`): the dialogue's current desk key and the public key the submission names
for its submitter (``submissions.submitter_public_key``: the submission's own key, derived from
the codename, or the codename's key for rows stored before per-submission keys), so that the desk
can read it and the submitter can read back what they sent. Nothing else: the
recovery key reaches content through its grant of the desk key, and staff through theirs, so
adding a desk member never means re-encrypting submissions. Triage notes go to the desk key
alone, and a desk key grant to its one holder.
"""

import enum
import re
from dataclasses import dataclass
from typing import Protocol

import crypto
from portal.models import Submission, SubmissionKind

PUBLIC_ID_BYTES = 16
PUBLIC_ID_LENGTH = 22  # 16 random bytes in URL-safe base64, unpadded
PUBLIC_ID_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{PUBLIC_ID_LENGTH}}}")

# Envelope context labels: the first field of every context, one per kind of envelope.
SUBMISSION_LABEL = "parley submission v1"
FURTHER_INFORMATION_LABEL = "parley further information v1"
CONSENT_CHANGE_LABEL = "parley consent change v1"
ATTACHMENT_KEYS_LABEL = "parley attachment keys v1"
DESK_MESSAGE_LABEL = "parley desk message v1"
TRIAGE_NOTE_LABEL = "parley triage note v1"
DESK_KEY_GRANT_LABEL = "parley desk key grant v1"
IDENTITIES_LABEL = "parley identities v1"
COMPARTMENT_LABEL = "parley identity compartment v1"
IDENTITY_KEY_GRANT_LABEL = "parley identity key grant v1"
COMPARTMENT_GRANT_LABEL = "parley compartment grant v1"

# Signed item contexts (v2): every item stored since signatures is sealed and signed under one
# of these, which add the item's place in the submission's history and its direction to v1's.
SIGNED_SUBMISSION_LABEL = "parley submission v2"
SIGNED_FURTHER_INFORMATION_LABEL = "parley further information v2"
SIGNED_CONSENT_CHANGE_LABEL = "parley consent change v2"
SIGNED_ATTACHMENT_KEYS_LABEL = "parley attachment keys v2"
SIGNED_DESK_MESSAGE_LABEL = "parley desk message v2"
SIGNED_TRIAGE_NOTE_LABEL = "parley triage note v2"
SIGNED_IDENTITIES_LABEL = "parley identities v2"
SIGNED_COMPARTMENT_LABEL = "parley identity compartment v2"
DESK_TEXT_LABEL = "parley desk text v1"
BRIEFING_BUNDLE_LABEL = "parley briefing bundle v1"

# Box purposes (``crypto.seal_box``), fixed or the first field of one.
STAFF_SESSION_PURPOSE = "staff-session"
SUBMITTER_SESSION_PURPOSE = "submitter-session"
STAFF_TOTP_SECRET_PURPOSE = "staff-totp-secret"  # noqa: S105 (a purpose, not a secret)
PENDING_TOTP_SECRET_PURPOSE = "staff-totp-pending"  # noqa: S105 (a purpose, not a secret)
CODENAME_RETYPE_CHECK_PURPOSE = "parley codename retype check v1"
DESK_KEY_CONFIRMATION_PURPOSE = "desk-key-confirmation"
STAFF_KNOWN_DEVICE_PURPOSE = "staff-known-device"
SIGN_IN_CHALLENGE_PURPOSE = "parley sign-in challenge v1"

# Keyed-hash label: prefixed to a typed e-mail address before ``crypto.lookup_hash``, so that
# the hash naming its sign-in bucket can never equal a submitter's lookup hash.
STAFF_SIGN_IN_BUCKET_LABEL = b"parley staff sign-in bucket v1\x00"


class AddressedDialogue(Protocol):
    """What an address reads of its dialogue: the row, or a copy of its columns."""

    @property
    def id(self) -> int: ...

    @property
    def slug(self) -> str: ...


class AddressedSession(Protocol):
    """What an address reads of its session: the row, or a copy of its columns."""

    @property
    def id(self) -> int: ...


class SealingKey(Protocol):
    """What sealing reads of a desk key: the row, or a copy of its columns."""

    @property
    def public_key(self) -> bytes: ...


@dataclass(frozen=True)
class SubmissionAddress:
    """Where a submission goes: the facts its envelopes are bound to."""

    dialogue: AddressedDialogue
    dialogue_session: AddressedSession | None
    kind: SubmissionKind
    public_id: str

    @classmethod
    def of(cls, submission: Submission) -> "SubmissionAddress":
        return cls(submission.dialogue, submission.session, submission.kind, submission.public_id)

    def binding(self) -> str:
        """The fields every context of this submission shares; ``session`` is ``none`` exactly
        for reprisal reports, which belong to the dialogue rather than to a round."""
        session_part = "none" if self.dialogue_session is None else str(self.dialogue_session.id)
        return (
            f"dialogue:{self.dialogue.slug}|session:{session_part}|kind:{self.kind}"
            f"|submission:{self.public_id}"
        )


class Direction(enum.StrEnum):
    """Which way an item goes: written by the submitter to the desk, the other way, or by a
    desk member for the desk alone (a note)."""

    TO_DESK = "to desk"
    TO_SUBMITTER = "to submitter"
    WITHIN_DESK = "within desk"


SUBMISSION_POSITION = 0
"""The submission itself opens its submitter's side of the history; what the submitter adds
later takes positions 1, 2, ...; the desk's messages have their own side, 1, 2, ..."""


def new_public_id() -> str:
    """A fresh random public id (22 URL-safe characters) for a submission, an attachment or a
    message; being random, it says nothing about when or in which order rows were made."""
    return crypto.random_token(PUBLIC_ID_BYTES)


def is_public_id(text: str) -> bool:
    """Whether ``text`` has the shape of an id made by :func:`new_public_id`."""
    return PUBLIC_ID_PATTERN.fullmatch(text) is not None


def recipient_keys(desk_key: SealingKey, submitter_public_key: bytes) -> tuple[bytes, bytes]:
    """The public keys an envelope of a submission is sealed to: ``desk_key`` and the key the
    submission names for its submitter (its ``submitter_public_key``), never the key of the
    submitter's codename as such."""
    return (desk_key.public_key, bytes(submitter_public_key))


# --- envelope contexts -------------------------------------------------------------------------


def submission_context(address: SubmissionAddress) -> str:
    """The form's content, as the submitter sent it."""
    return f"{SUBMISSION_LABEL}|{address.binding()}"


def further_information_context(address: SubmissionAddress) -> str:
    """Information the submitter added later."""
    return f"{FURTHER_INFORMATION_LABEL}|{address.binding()}"


def consent_change_context(address: SubmissionAddress) -> str:
    """A change of consent for one person named in the submission."""
    return f"{CONSENT_CHANGE_LABEL}|{address.binding()}"


def attachment_keys_context(address: SubmissionAddress, attachment_public_id: str) -> str:
    """One file's key, name, type and size; the browser gets it with an empty id as a prefix."""
    return f"{ATTACHMENT_KEYS_LABEL}|{address.binding()}|attachment:{attachment_public_id}"


def desk_message_context(address: SubmissionAddress, message_public_id: str) -> str:
    """A message of the thread between the desk and the submission's author, either way."""
    return f"{DESK_MESSAGE_LABEL}|{address.binding()}|message:{message_public_id}"


def triage_note_context(address: SubmissionAddress, note_id: int) -> str:
    """A desk's private note on the submission, bound to its row (``triage_notes.id``)."""
    return f"{TRIAGE_NOTE_LABEL}|{address.binding()}|note:{note_id}"


def desk_key_grant_context(dialogue_slug: str, desk_key_id: bytes) -> str:
    """A grant of a desk key's private half, bound to its dialogue and to that desk key."""
    return f"{DESK_KEY_GRANT_LABEL}|dialogue:{dialogue_slug}|desk key:{desk_key_id.hex()}"


# --- signed item contexts (v2) ------------------------------------------------------------------


def _placed(
    label: str, address: SubmissionAddress, item: str, position: int, way: Direction
) -> str:
    return f"{label}|{address.binding()}|{item}|position:{position}|direction:{way}"


def signed_submission_context(address: SubmissionAddress) -> str:
    """The form's content, signed by the submission's own signing key."""
    return _placed(
        SIGNED_SUBMISSION_LABEL,
        address,
        f"item:{address.public_id}",
        SUBMISSION_POSITION,
        Direction.TO_DESK,
    )


def signed_further_information_context(address: SubmissionAddress, position: int) -> str:
    """Information the submitter added later, at ``position`` of their side of the history
    (which is also its id within the submission)."""
    return _placed(
        SIGNED_FURTHER_INFORMATION_LABEL,
        address,
        f"item:further information {position}",
        position,
        Direction.TO_DESK,
    )


def signed_consent_change_context(address: SubmissionAddress, position: int) -> str:
    """A change of consent at ``position`` of the submitter's side of the history."""
    return _placed(
        SIGNED_CONSENT_CHANGE_LABEL,
        address,
        f"item:consent change {position}",
        position,
        Direction.TO_DESK,
    )


def signed_attachment_keys_context(address: SubmissionAddress, attachment_public_id: str) -> str:
    """One file's keys record, sent with the submission (its position); the id comes last so
    that the browser can take everything before it as a prefix."""
    return (
        f"{SIGNED_ATTACHMENT_KEYS_LABEL}|{address.binding()}|position:{SUBMISSION_POSITION}"
        f"|direction:{Direction.TO_DESK}|attachment:{attachment_public_id}"
    )


def signed_desk_message_context(
    address: SubmissionAddress, message_public_id: str, position: int, way: Direction
) -> str:
    """A message of the thread at ``position`` of its writer's side, going ``way``."""
    return _placed(
        SIGNED_DESK_MESSAGE_LABEL, address, f"message:{message_public_id}", position, way
    )


def signed_identities_context(address: SubmissionAddress) -> str:
    """The persons' names sent apart with the submission (its position), signed like it by the
    submission's own signing key."""
    return _placed(
        SIGNED_IDENTITIES_LABEL,
        address,
        "item:identities",
        SUBMISSION_POSITION,
        Direction.TO_DESK,
    )


def signed_triage_note_context(
    address: SubmissionAddress, note_id: int, author_id: int, position: int
) -> str:
    """A desk's private note, the ``position``-th among the submission's notes, signed by the
    personal signing key of the staff account ``author_id``: naming the author here means a note
    re-attributed to a colleague in its row no longer verifies."""
    return _placed(
        SIGNED_TRIAGE_NOTE_LABEL,
        address,
        f"note:{note_id}|author:{author_id}",
        position,
        Direction.WITHIN_DESK,
    )


@dataclass(frozen=True)
class DeskTextSubject:
    """What a desk text of a session is about: its purpose and, as the purpose needs, an agenda
    item, a submission (by public id) and a recommendation's place in that submission's list."""

    purpose: str
    agenda_item_id: int | None = None
    submission_public_id: str | None = None
    recommendation_index: int | None = None

    def binding(self) -> str:
        def field(value: object) -> str:
            return "none" if value is None else str(value)

        return (
            f"purpose:{self.purpose}|item:{field(self.agenda_item_id)}"
            f"|submission:{field(self.submission_public_id)}"
            f"|recommendation:{field(self.recommendation_index)}"
        )


def desk_text_context(
    dialogue_slug: str, session_id: int, text_id: int, subject: DeskTextSubject, author_id: int
) -> str:
    """Staff prose of a session (briefing points, the partner's replies, the response to a
    recommendation), sealed to the desk key alone and signed by its author's personal signing
    key: bound to its dialogue, session, row, subject and author, so that a text moved to
    another session, subject or row, or re-attributed to a colleague, does not verify."""
    return (
        f"{DESK_TEXT_LABEL}|dialogue:{dialogue_slug}|session:{session_id}|text:{text_id}"
        f"|{subject.binding()}|author:{author_id}|direction:{Direction.WITHIN_DESK}"
    )


def briefing_bundle_context(
    dialogue_slug: str, session_id: int, exported_on: str, author_id: int
) -> str:
    """A session's briefing pack sealed into an offline bundle, to the desk key and the
    recovery key, and signed by the member who made it: bound to its dialogue, session, day of
    export and maker, so that a pack moved to another session's bundle, re-dated or
    re-attributed does not verify."""
    return (
        f"{BRIEFING_BUNDLE_LABEL}|dialogue:{dialogue_slug}|session:{session_id}"
        f"|exported:{exported_on}|author:{author_id}|direction:{Direction.WITHIN_DESK}"
    )


def identities_context(address: SubmissionAddress) -> str:
    """The names and identifying details of the persons of a submission, as sent: sealed to the
    dialogue's identity key and the submission's own key, never to the desk key."""
    return f"{IDENTITIES_LABEL}|{address.binding()}"


def compartment_context(address: SubmissionAddress, compartment_key_id: bytes) -> str:
    """The same identities re-sealed to one case's compartment key, for its named members."""
    return f"{COMPARTMENT_LABEL}|{address.binding()}|compartment:{compartment_key_id.hex()}"


def compartment_copy_context(
    address: SubmissionAddress, compartment_key_id: bytes, original: bytes, author_id: int
) -> str:
    """The compartment copy of a case's names, signed by the triage officer ``author_id`` who
    made it, and naming the SHA-256 digest ``original`` of the identities envelope it copies, so
    that it verifies only beside that envelope."""
    return (
        f"{SIGNED_COMPARTMENT_LABEL}|{address.binding()}|compartment:{compartment_key_id.hex()}"
        f"|copy of:{original.hex()}|author:{author_id}"
    )


def identity_key_grant_context(dialogue_slug: str, identity_key_id: bytes) -> str:
    """A grant of an identity key's private half (to a triage officer or the recovery key)."""
    return (
        f"{IDENTITY_KEY_GRANT_LABEL}|dialogue:{dialogue_slug}|identity key:{identity_key_id.hex()}"
    )


def compartment_grant_context(
    address: SubmissionAddress, compartment_key_id: bytes, staff_user_id: int
) -> str:
    """A grant of one case's compartment key to one named member, bound to the case, the key and
    the account, so that a grant row copied to another member or another case opens nothing."""
    return (
        f"{COMPARTMENT_GRANT_LABEL}|{address.binding()}|compartment:{compartment_key_id.hex()}"
        f"|staff:{staff_user_id}"
    )


# --- box purposes ------------------------------------------------------------------------------


def staff_session_purpose(staff_user_id: int) -> str:
    """A staff session's sealed personal key, bound to its account so that a row moved to
    another account opens nothing."""
    return f"{STAFF_SESSION_PURPOSE}|staff:{staff_user_id}"


def desk_key_confirmation_purpose(dialogue_id: int, staff_user_id: int) -> str:
    """The personal key a granter confirmed for one desk membership, bound to the dialogue and
    the account so that a confirmation copied to another membership opens nothing."""
    return f"{DESK_KEY_CONFIRMATION_PURPOSE}|dialogue:{dialogue_id}|staff:{staff_user_id}"


def pending_totp_secret_purpose(staff_user_id: int, session_reference: str) -> str:
    """A TOTP secret shown at enrolment and not yet confirmed, kept in that session's cookie:
    bound to the account and the session so that it cannot be replayed in another."""
    return f"{PENDING_TOTP_SECRET_PURPOSE}|staff:{staff_user_id}|session:{session_reference}"
