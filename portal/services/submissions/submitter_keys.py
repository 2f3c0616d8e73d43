"""Which key a submitter's side of a submission's envelopes is sealed to, and opens with.

A copy of the database must not show which submissions share a submitter, so each new
submission is sealed to its own X25519 key pair, derived from the codename's ``key_seed`` and the
submission's public id (``crypto.derive_submission_keys``; docs/FORMATS.md, "Per-submission keys
and owner tags"), and its row names the public half (``submissions.submitter_public_key``).
Submissions stored before that were sealed to the codename's own key (``key_seed`` is that
private key, raw), and their rows name that key. :func:`submission_private_key` is the one rule
that picks, from the row, which of the two opens a submission.
"""

from typing import Protocol

import crypto
from portal.models import Submission


class SubmitterKey(Protocol):
    """What holds a submitter's codename key for one request: the secrets a typed codename
    derives to (``crypto.CodenameSecrets``) or an inbox session opened with its cookie
    (``portal.services.submissions.inbox_web_sessions.SignedInSubmitter``)."""

    def private_key(self) -> crypto.PrivateKey: ...


def submission_keys(codename_key: SubmitterKey, public_id: str) -> crypto.SubmissionKeys:
    """The keys of submission ``public_id`` of this codename: the public half of the X25519 key
    is what it is sealed to, the signing seed what signs its submitter's items."""
    key_seed = crypto.private_key_bytes(codename_key.private_key())
    return crypto.derive_submission_keys(key_seed, public_id)


def owner_tag_key_of(codename_key: SubmitterKey) -> bytes:
    """The codename's owner tag key (``owner_tags``), derived from its key for this request."""
    return crypto.owner_tag_key(crypto.private_key_bytes(codename_key.private_key()))


def submission_private_key(submission: Submission, codename_key: SubmitterKey) -> crypto.PrivateKey:
    """The private key whose public half ``submission`` names as its submitter's.

    The key derived for the submission's public id, or, for a row stored before per-submission
    keys, the codename's own key. ``crypto.DecryptionError`` if it names neither: then nothing of
    the submission was sealed to this codename.
    """
    named = bytes(submission.submitter_public_key)
    derived = submission_keys(codename_key, submission.public_id)
    if derived.public_key_bytes() == named:
        return derived.private_key()
    own = codename_key.private_key()
    if crypto.public_key_bytes(own) == named:
        return own
    raise crypto.DecryptionError("this submission is not sealed to a key of this codename")
