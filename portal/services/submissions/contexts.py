"""Envelope contexts and recipients for everything a submitter sends.

Every envelope a submitter's browser or the server seals for a submission is bound, through its
context, to one dialogue, one session (or none), one kind and one submission::

    binding = "dialogue:<slug>|session:<session id or 'none'>|kind:<kind>|submission:<public id>"

    submission envelope     "parley submission v1|" + binding
    further information     "parley further information v1|" + binding
    consent change          "parley consent change v1|" + binding
    attachment-keys record  "parley attachment keys v1|" + binding + "|attachment:<attachment id>"
    desk message            "parley desk message v1|" + binding + "|message:<message public id>"

``session`` is ``none`` exactly for reprisal reports, which belong to the dialogue rather than to
a round. The submission's public id is random (:func:`new_public_id`), issued by the server with
the form and unique among submissions, so an envelope sealed in a browser for one submission
cannot be stored as another, nor under another dialogue, session or kind: its context digest
would not match what the server expects. The attachment id does the same for each file's keys.

Recipients are exactly two: the dialogue's current desk key (``current_desk_key``) and the
submitter's own public key, so that the desk can read it and the submitter can read back what
they sent. Nothing else: the recovery key reaches content through its grant of the desk key,
and staff through theirs, so adding a desk member never means re-encrypting submissions.
"""

import re
from dataclasses import dataclass

import crypto
from portal.models import DeskKey, Dialogue, DialogueSession, Submission, SubmissionKind, Submitter

PUBLIC_ID_BYTES = 16
PUBLIC_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")

SUBMISSION_LABEL = "parley submission v1"
FURTHER_INFORMATION_LABEL = "parley further information v1"
CONSENT_CHANGE_LABEL = "parley consent change v1"
ATTACHMENT_KEYS_LABEL = "parley attachment keys v1"
DESK_MESSAGE_LABEL = "parley desk message v1"


@dataclass(frozen=True)
class SubmissionAddress:
    """Where a submission goes: the facts its envelopes are bound to."""

    dialogue: Dialogue
    dialogue_session: DialogueSession | None
    kind: SubmissionKind
    public_id: str

    @classmethod
    def of(cls, submission: Submission) -> "SubmissionAddress":
        return cls(submission.dialogue, submission.session, submission.kind, submission.public_id)

    def binding(self) -> str:
        session_part = "none" if self.dialogue_session is None else str(self.dialogue_session.id)
        return (
            f"dialogue:{self.dialogue.slug}|session:{session_part}|kind:{self.kind}"
            f"|submission:{self.public_id}"
        )


def new_public_id() -> str:
    """A fresh random public id for a submission or an attachment (22 URL-safe characters)."""
    return crypto.random_token(PUBLIC_ID_BYTES)


def is_public_id(text: str) -> bool:
    """Whether ``text`` has the shape of an id made by :func:`new_public_id`."""
    return PUBLIC_ID_PATTERN.fullmatch(text) is not None


def submission_context(address: SubmissionAddress) -> str:
    return f"{SUBMISSION_LABEL}|{address.binding()}"


def further_information_context(address: SubmissionAddress) -> str:
    return f"{FURTHER_INFORMATION_LABEL}|{address.binding()}"


def consent_change_context(address: SubmissionAddress) -> str:
    return f"{CONSENT_CHANGE_LABEL}|{address.binding()}"


def attachment_keys_context(address: SubmissionAddress, attachment_public_id: str) -> str:
    return f"{ATTACHMENT_KEYS_LABEL}|{address.binding()}|attachment:{attachment_public_id}"


def desk_message_context(address: SubmissionAddress, message_public_id: str) -> str:
    """A message of the thread between the desk and the submission's author, either way."""
    return f"{DESK_MESSAGE_LABEL}|{address.binding()}|message:{message_public_id}"


def recipient_keys(desk_key: DeskKey, submitter: Submitter) -> tuple[bytes, bytes]:
    """The public keys an envelope for ``submitter`` in this desk's dialogue is sealed to."""
    return (desk_key.public_key, submitter.public_key)
