"""Desk key certificates: which desk keys a dialogue really has, in which order.

Submitters seal to a dialogue's newest desk key and readers check desk items with its signing
key, so whoever could swap a desk key in the database could read what is sent next and speak as
the desk. Each desk key is therefore certified when it is made: by the signing key of the desk
key before it, or by the recovery signing key for a dialogue's first desk key and after every
desk member lost access. A reader that trusts the recovery signing key walks the certificates
from the first desk key to the newest and refuses the chain at the first link that does not hold.
A reader that trusts one desk key instead (a submitter, whose submission names the desk signing
key of its time, and perhaps the recovery signing key too) walks the certificates made after it
(:func:`verify_desk_key_chain_from`).

The certificate names the dialogue, so it cannot be moved to another, and the desk key's
generation (1 for the first, then 2, 3, ...), so that certificates signed by the recovery key
cannot be replayed out of order to make an older desk key look like the newest. What the bytes
are: docs/FORMATS.md, "Desk key certificate v1".
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from crypto.errors import CryptoError, DecryptionError
from crypto.signing import SIGNING_PUBLIC_KEY_SIZE, length_prefixed, sign, verify

MAX_GENERATION = 2**32 - 1

_CERTIFICATE_LABEL = b"parley desk key certificate v1\x00"


@dataclass(frozen=True)
class DeskKeyCertificate:
    """One desk key, its signing key and its place in the dialogue's history, signed."""

    generation: int
    desk_public_key: bytes
    signing_public_key: bytes
    signature: bytes


def _fields_problem(generation: int, desk_public_key: bytes, signing_public_key: bytes) -> str:
    """What is wrong with a certificate's fields, or ``""``."""
    if not 1 <= generation <= MAX_GENERATION:
        return "a desk key generation is 1 to 2^32 - 1"
    if len(desk_public_key) != 32 or len(signing_public_key) != SIGNING_PUBLIC_KEY_SIZE:
        return "a certified desk key and signing key are 32 bytes each"
    return ""


def _certified_message(
    slug: str, generation: int, desk_public_key: bytes, signing_public_key: bytes
) -> bytes:
    return (
        _CERTIFICATE_LABEL
        + length_prefixed(slug)
        + struct.pack(">I", generation)
        + bytes(desk_public_key)
        + bytes(signing_public_key)
    )


def certify_desk_key(
    signer_seed: bytes,
    slug: str,
    generation: int,
    desk_public_key: bytes,
    signing_public_key: bytes,
) -> DeskKeyCertificate:
    """Certify the desk key of generation ``generation`` of dialogue ``slug``.

    ``signer_seed`` is the signing seed of the previous desk key, or the recovery signing seed
    (``crypto.derived_keys``). Raises ``CryptoError`` for arguments out of range.
    """
    problem = _fields_problem(generation, desk_public_key, signing_public_key)
    if problem:
        raise CryptoError(problem)
    message = _certified_message(slug, generation, desk_public_key, signing_public_key)
    return DeskKeyCertificate(
        generation, bytes(desk_public_key), bytes(signing_public_key), sign(signer_seed, message)
    )


def verify_desk_key_certificate(
    signer_public_key: bytes, slug: str, certificate: DeskKeyCertificate
) -> None:
    """Check that ``signer_public_key`` certified this desk key for ``slug``;
    ``DecryptionError`` on any failure."""
    fields = (certificate.generation, certificate.desk_public_key, certificate.signing_public_key)
    problem = _fields_problem(*fields)
    if problem:
        raise DecryptionError(problem)
    verify(signer_public_key, _certified_message(slug, *fields), certificate.signature)


def verify_desk_key_chain(
    trusted_signing_key: bytes, slug: str, certificates: Sequence[DeskKeyCertificate]
) -> DeskKeyCertificate:
    """The newest desk key of ``slug``, after checking every certificate from the first.

    ``certificates`` are the dialogue's desk keys of generations 1, 2, 3, ... in that order; each
    must be signed by the key certified just before it or by ``trusted_signing_key`` (the
    recovery signing key), the first by ``trusted_signing_key``. ``DecryptionError`` for an empty
    or broken chain. Every key of a chain that verifies is certified, so readers may also check
    older desk items with the older signing keys in it.
    """
    if not certificates:
        raise DecryptionError("a desk key chain holds at least one certificate")
    previous: DeskKeyCertificate | None = None
    for certificate in certificates:
        expected = 1 if previous is None else previous.generation + 1
        if certificate.generation != expected:
            raise DecryptionError(f"desk key generation {expected} is missing from the chain")
        signers = [trusted_signing_key]
        if previous is not None:
            signers.append(previous.signing_public_key)
        if not any(_signed_by(signer, slug, certificate) for signer in signers):
            raise DecryptionError(f"desk key generation {expected} is not certified")
        previous = certificate
    return certificates[-1]


def verify_desk_key_chain_from(
    anchor_signing_key: bytes,
    anchor_generation: int,
    slug: str,
    certificates: Sequence[DeskKeyCertificate],
    recovery_signing_key: bytes | None = None,
) -> list[DeskKeyCertificate]:
    """The desk keys of ``slug`` certified after the one a reader already trusts.

    A submitter trusts the desk signing key their submission names (``anchor_signing_key``, of
    generation ``anchor_generation``), and a recovery key only if it names that too.
    ``certificates`` are the desk keys of generations ``anchor_generation + 1``, ``+ 2``, ... in
    that order, each of which must be signed by the signing key certified just before it (the
    anchor's, for the first): the certificates a holder of the previous desk key makes at
    rotation. When the reader's submission also names the recovery signing key
    (``recovery_signing_key``), a link signed by it holds too: the certificates the operator
    makes with the recovery key for a desk key made when a dialogue went to offline review or
    after every holder lost access. Returns them when every link holds (an empty list when
    nothing came after the anchor); ``DecryptionError`` at the first link that does not.
    """
    if not 1 <= anchor_generation <= MAX_GENERATION:
        raise DecryptionError("a desk key generation is 1 to 2^32 - 1")
    signer, generation = bytes(anchor_signing_key), anchor_generation
    for certificate in certificates:
        generation += 1
        if certificate.generation != generation:
            raise DecryptionError(f"desk key generation {generation} is missing from the chain")
        signers = [signer] if recovery_signing_key is None else [signer, recovery_signing_key]
        if not any(_signed_by(key, slug, certificate) for key in signers):
            raise DecryptionError(f"desk key generation {generation} is not certified")
        signer = certificate.signing_public_key
    return list(certificates)


def _signed_by(signer_public_key: bytes, slug: str, certificate: DeskKeyCertificate) -> bool:
    try:
        verify_desk_key_certificate(signer_public_key, slug, certificate)
    except DecryptionError:
        return False
    return True
