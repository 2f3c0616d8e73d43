"""The files a submitter attached, as their inbox lists them: name and true size.

Both live only inside the attachment-keys records (``attachments``, sealed to the submission's
desk key and the submitter's key for that submission, and signed by the submission's signing
key). Without JavaScript the server opens them with the key the codename gives, for the one
request that shows the page (:func:`own_attachments`), checking each by ``provenance``'s rule
first, as it does for the desk (``staff.reading``); with JavaScript the page opens them itself
from the records ``inbox.sealed_submission`` hands out. A record that fails the check or does
not open is listed as unverified, without name or size, and never used.
"""

from dataclasses import dataclass

import crypto
from portal.models import Submission
from portal.services.contexts import SubmissionAddress
from portal.services.submissions.attachments import read_keys_record
from portal.services.submissions.payload import decode_payload
from portal.services.submissions.provenance import Anchors, Provenance, attachment_provenance
from portal.services.submissions.submitter_keys import SubmitterKey, submission_private_key


@dataclass(frozen=True)
class OwnAttachment:
    """One attached file as its sender reads it back; ``name`` and ``size`` are ``None`` when
    its record failed the check or did not open (``provenance`` is then ``UNVERIFIED``)."""

    provenance: Provenance
    name: str | None = None
    size: int | None = None


def own_attachments(
    submission: Submission, secrets: SubmitterKey, anchors: Anchors
) -> list[OwnAttachment]:
    """The submission's files, in the order they were attached, opened for this response."""
    key = submission_private_key(submission, secrets)
    address = SubmissionAddress.of(submission)
    listed = []
    for item in submission.attachments:
        provenance, context = attachment_provenance(
            anchors.submission_key, address, item.public_id, item.keys_envelope, item.signature
        )
        if provenance is Provenance.UNVERIFIED:
            listed.append(OwnAttachment(provenance))
            continue
        try:
            keys = read_keys_record(
                decode_payload(crypto.open_envelope(item.keys_envelope, key, context))
            )
        except (crypto.DecryptionError, ValueError):  # ValueError: not JSON once opened
            listed.append(OwnAttachment(Provenance.UNVERIFIED))
            continue
        listed.append(OwnAttachment(provenance, keys.name, keys.size))
    return listed
