"""Who sealed an item: the one rule every reader applies before showing or using it.

Anyone who can write rows can seal an envelope to the public keys in the database, so an
envelope that opens proves nothing about its author. Since signatures, each item is also signed
under a v2 context (``portal.services.contexts``) that names its kind, its id, its place in the
submission's history and its direction (docs/FORMATS.md, "Signed items in use"):

- the submission, further information, consent changes, attachment-keys records and the
  submitter's replies by the submission's own signing key, derived from the codename;
- the identities envelope sent apart with a submission by the submission's signing key too
  (:func:`identities_provenance`);
- the desk's messages by the signing key of the desk key they are sealed to.

The trust anchors are inside the sealed submission, never in a column: its ``signatures`` block
names the submission's signing key, the desk signing key current when it was sent and, since
``parley-signatures-v2``, the instance's recovery signing key, the second certifier of later desk
keys (``portal.services.desks.recovery_certificates``); ``v1`` blocks stay readable. The
mirror in ``submissions.signing_public_key`` serves only the checks on arrival; a reader that
finds it different from the key inside trusts nothing of the submission.

:func:`item_provenance` is the rule for one item, given the anchor:

- the submission names a signing key: the item must carry a signature by that key under its v2
  context and its stored position, or it is ``UNVERIFIED``;
- the submission was sent before signatures (no key inside, no signature on its row): its items
  must be unsigned and open under their v1 contexts, and are ``BEFORE_SIGNATURES``; a signature
  there has no key to be checked with and is ``UNVERIFIED``.

An ``UNVERIFIED`` item is never opened for use: readers show "This item could not be verified"
and record ``item.unverified`` (the submission's internal id and the kind of item, nothing more).
A ``BEFORE_SIGNATURES`` item proves no author either, so what it may do is limited where it
matters: an unsigned consent change may only lower consent (``inbox.current_consents``).
"""

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

import crypto
from portal.models import Submission
from portal.services.audit.trail import AuditAction, record_submission_event
from portal.services.contexts import (
    SubmissionAddress,
    attachment_keys_context,
    identities_context,
    signed_attachment_keys_context,
    signed_identities_context,
    signed_submission_context,
)

SIGNATURES_FORMAT = "parley-signatures-v2"
SIGNATURES_FORMAT_V1 = "parley-signatures-v1"
SIGNATURES_FIELD = "signatures"


class Provenance(enum.StrEnum):
    """What a reader may say of an item's author."""

    SIGNED = "signed"
    BEFORE_SIGNATURES = "before_signatures"
    UNVERIFIED = "unverified"


class UnverifiedSubmissionError(crypto.DecryptionError):
    """The submission itself does not verify: nothing of it may be shown or used."""


@dataclass(frozen=True)
class Anchors:
    """The keys a submission's items are checked with, as its sealed content names them.

    ``submission_key`` is ``None`` for a submission sent before signatures; ``desk_key`` is the
    desk signing key current when it was sent, ``None`` when the page named none;
    ``recovery_key`` the recovery signing key it accepts as a certifier of later desk keys,
    ``None`` for a ``v1`` block or an instance that had recorded none.
    """

    submission_key: bytes | None
    desk_key: bytes | None
    recovery_key: bytes | None = None


BEFORE_SIGNATURES = Anchors(None, None)


@dataclass(frozen=True)
class CheckedItem:
    """An item after the rule: its payload (empty when unverified), what is known of its
    author, and its stored row (for its date)."""

    payload: dict[str, Any]
    provenance: Provenance
    row: Any = field(default=None, repr=False)

    @property
    def usable(self) -> bool:
        return self.provenance is not Provenance.UNVERIFIED


def signatures_block(
    submission_signing_key: bytes,
    desk_signing_key: bytes | None,
    recovery_signing_key: bytes | None,
) -> dict[str, Any]:
    """What a submission seals inside itself to anchor its items (``parley-signatures-v2``)."""
    return {
        "format": SIGNATURES_FORMAT,
        "submission_key": bytes(submission_signing_key).hex(),
        "desk_key": _hex(desk_signing_key),
        "recovery_key": _hex(recovery_signing_key),
    }


def _hex(key: bytes | None) -> str | None:
    return None if key is None else bytes(key).hex()


def submission_anchors(submission: Submission, payload: dict[str, Any]) -> Anchors:
    """The anchors of an opened submission, its own signature checked.

    ``payload`` is the submission opened under its v2 context when its row is signed, else its
    v1 context. ``UnverifiedSubmissionError`` when the submission's signature does not verify
    with the key inside, that key differs from the row's mirror, the block is malformed, or an
    unsigned row holds a block (a signed submission stripped of its signature).
    """
    return checked_anchors(
        payload,
        signature=submission.signature,
        mirror=submission.signing_public_key,
        signed_context=signed_submission_context(SubmissionAddress.of(submission)),
        envelope=submission.envelope,
    )


def checked_anchors(
    payload: dict[str, Any],
    *,
    signature: bytes | None,
    mirror: bytes | None,
    signed_context: str,
    envelope: bytes,
) -> Anchors:
    """:func:`submission_anchors` for a submission as any reader holds it (a row, or a bundle's
    entry): its opened payload, its signature, the plaintext copy of its signing key (``None``
    where there is none) and its envelope with the v2 context it must be signed under."""
    block = payload.get(SIGNATURES_FIELD)
    if signature is None:
        if block is not None or mirror is not None:
            raise UnverifiedSubmissionError("a signed submission without its signature")
        return BEFORE_SIGNATURES
    anchors = _read_block(block)
    if anchors.submission_key is None or (
        mirror is not None and anchors.submission_key != bytes(mirror)
    ):
        raise UnverifiedSubmissionError("the submission's signing key is not the one it names")
    try:
        crypto.verify_item(anchors.submission_key, signed_context, envelope, signature)
    except crypto.DecryptionError:
        raise UnverifiedSubmissionError("the submission's signature does not verify") from None
    return anchors


def item_provenance(
    signing_key: bytes | None,
    *,
    signed_context: str | None,
    envelope: bytes,
    signature: bytes | None,
) -> Provenance:
    """The rule for one item (see the module docstring).

    ``signing_key`` is the key its author's side is anchored to (``None`` for a submission sent
    before signatures), ``signed_context`` its v2 context at its stored position (``None`` when
    the row has no position).
    """
    if signing_key is None:
        return Provenance.BEFORE_SIGNATURES if signature is None else Provenance.UNVERIFIED
    if signature is None or signed_context is None:
        return Provenance.UNVERIFIED
    try:
        crypto.verify_item(signing_key, signed_context, envelope, signature)
    except crypto.DecryptionError:
        return Provenance.UNVERIFIED
    return Provenance.SIGNED


def placed_item(
    signing_key: bytes | None,
    *,
    signed_context: str | None,
    unsigned_context: str,
    envelope: bytes,
    signature: bytes | None,
) -> tuple[Provenance, str]:
    """:func:`item_provenance`, and the context the item then opens under: its v2 context when
    signed, its v1 context when sent before signatures (meaningless when unverified)."""
    provenance = item_provenance(
        signing_key, signed_context=signed_context, envelope=envelope, signature=signature
    )
    if provenance is Provenance.SIGNED and signed_context is not None:
        return provenance, signed_context
    return provenance, unsigned_context


def identities_provenance(
    submission_key: bytes | None,
    address: SubmissionAddress,
    envelope: bytes,
    signature: bytes | None,
) -> tuple[Provenance, str]:
    """:func:`placed_item` for the identities envelope sent apart with the submission at
    ``address``: signed, like the submission, by ``submission_key`` (the key its submission
    names; ``None`` before signatures), at the submission's own position."""
    return placed_item(
        submission_key,
        signed_context=signed_identities_context(address),
        unsigned_context=identities_context(address),
        envelope=envelope,
        signature=signature,
    )


def attachment_provenance(
    submission_key: bytes | None,
    address: SubmissionAddress,
    attachment_public_id: str,
    envelope: bytes,
    signature: bytes | None,
) -> tuple[Provenance, str]:
    """:func:`placed_item` for an attachment-keys record of the submission at ``address``:
    signed by ``submission_key`` under the context that names the attachment."""
    return placed_item(
        submission_key,
        signed_context=signed_attachment_keys_context(address, attachment_public_id),
        unsigned_context=attachment_keys_context(address, attachment_public_id),
        envelope=envelope,
        signature=signature,
    )


def message_provenance(
    anchors: Anchors,
    *,
    from_desk: bool,
    desk_signing_key: bytes | None,
    signed_context: str | None,
    envelope: bytes,
    signature: bytes | None,
) -> Provenance:
    """The rule for one message of the thread: a reply is the submitter's item like any other;
    a desk message of a signed submission must be signed by ``desk_signing_key`` (the one the
    reader trusts for the desk key it is sealed to), and is unverified when there is none."""
    if anchors.submission_key is None:
        return item_provenance(
            None, signed_context=signed_context, envelope=envelope, signature=signature
        )
    key = desk_signing_key if from_desk else anchors.submission_key
    if key is None:
        return Provenance.UNVERIFIED
    return item_provenance(
        key, signed_context=signed_context, envelope=envelope, signature=signature
    )


def record_unverified(
    session: Session, submission: Submission, kinds: Iterable[str], *, by_submitter: bool
) -> None:
    """Put each item that failed the rule on record: which submission, which kind of item
    (``submission``, ``further_information``, ``consent_change``, ``attachment``, ``message``,
    ``note``, ``identities``); dated to the day when its submitter was the one reading."""
    for kind in kinds:
        record_submission_event(
            session,
            AuditAction.ITEM_UNVERIFIED,
            None,
            submission,
            submitter_caused=by_submitter,
            item=kind,
        )


def _read_block(block: Any) -> Anchors:
    """The keys of a ``v2`` block (which must say whether it names a recovery signing key) or
    of a ``v1`` block (which names none)."""
    if not isinstance(block, dict):
        raise UnverifiedSubmissionError("the submission names no signing keys")
    if block.get("format") == SIGNATURES_FORMAT_V1:
        recovery = None
    elif block.get("format") == SIGNATURES_FORMAT and "recovery_key" in block:
        recovery = _key(block["recovery_key"])
    else:
        raise UnverifiedSubmissionError("the submission names no signing keys")
    return Anchors(_key(block.get("submission_key")), _key(block.get("desk_key")), recovery)


def _key(text: Any) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        key = b""
    if len(key) != crypto.SIGNING_PUBLIC_KEY_SIZE:
        raise UnverifiedSubmissionError("a signing key named by the submission is malformed")
    return key
