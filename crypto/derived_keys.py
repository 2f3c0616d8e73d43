"""Keys derived from other keys: per-submission keys, owner tags, and key holders' signing keys.

A copy of the database must not show which submissions share a submitter. So no submission is
sealed to, or signed by, the submitter's codename key itself: each gets its own X25519 key pair
and Ed25519 signing key, derived from the codename's ``key_seed`` and the submission's public id,
and the server finds a signed-in submitter's submissions through owner tags that only the
codename can compute. The browser derives the same keys and checks those the server hands it.

Desk keys, staff personal keys and the recovery key each derive a signing seed from their X25519
private key, so whoever is granted the key, or holds it offline, also holds its signing key and
nothing needs granting twice.

The derivations are specified in docs/FORMATS.md, "Per-submission keys and owner tags" and
"Signing keys of key holders".
"""

import hmac
import re
import struct
from dataclasses import dataclass, field

from crypto.codename import derive_subkey
from crypto.errors import CryptoError
from crypto.keys import KEY_SIZE, PrivateKey, load_private_key, private_key_bytes, public_key_bytes
from crypto.signing import signing_public_key

OWNER_TAG_SIZE = 32
MAX_OWNER_TAG_INDEX = 2**32 - 1

_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_SUBMISSION_KEY_INFO = "parley submission key v1|"
_SUBMISSION_SIGNING_KEY_INFO = "parley submission signing key v1|"
_OWNER_TAG_KEY_INFO = b"parley owner tag key v1"
_OWNER_TAG_LABEL = b"parley owner tag v1\x00"
_DESK_SIGNING_KEY_INFO = b"parley desk signing key v1"
_STAFF_SIGNING_KEY_INFO = b"parley staff signing key v1"
_RECOVERY_SIGNING_KEY_INFO = b"parley recovery signing key v1"


def _hkdf_sha256(secret: bytes, info: bytes) -> bytes:
    if len(secret) != KEY_SIZE:
        raise CryptoError(f"a key to derive from is {KEY_SIZE} bytes, not {len(secret)}")
    return derive_subkey(bytes(secret), info)


@dataclass(frozen=True)
class SubmissionKeys:
    """One submission's own keys. ``repr`` hides both seeds so they cannot reach a log."""

    key_seed: bytes = field(repr=False)
    signing_seed: bytes = field(repr=False)

    def private_key(self) -> PrivateKey:
        """The submission's X25519 private key (``key_seed`` is its raw form)."""
        return load_private_key(self.key_seed)

    def public_key_bytes(self) -> bytes:
        """The submission's X25519 public key, raw 32 bytes: what its envelopes are sealed to."""
        return public_key_bytes(self.private_key())

    def signing_public_key(self) -> bytes:
        """The submission's Ed25519 public key, raw 32 bytes: what its items are checked with."""
        return signing_public_key(self.signing_seed)


def derive_submission_keys(codename_key_seed: bytes, public_id: str) -> SubmissionKeys:
    """The keys of the submission ``public_id`` of the submitter whose codename gives
    ``codename_key_seed`` (``CodenameSecrets.key_seed``).

    Raises ``CryptoError`` for a public id that is not 22 base64url characters: the id is part of
    the HKDF ``info``, and only ids of that one shape keep two derivations apart.
    """
    if not _PUBLIC_ID.fullmatch(public_id):
        raise CryptoError("a submission public id is 22 base64url characters")
    return SubmissionKeys(
        key_seed=_hkdf_sha256(codename_key_seed, (_SUBMISSION_KEY_INFO + public_id).encode()),
        signing_seed=_hkdf_sha256(
            codename_key_seed, (_SUBMISSION_SIGNING_KEY_INFO + public_id).encode()
        ),
    )


def owner_tag_key(codename_key_seed: bytes) -> bytes:
    """The key of a submitter's owner tags; the server holds it only while they are signed in."""
    return _hkdf_sha256(codename_key_seed, _OWNER_TAG_KEY_INFO)


def owner_tag(tag_key: bytes, index: int) -> bytes:
    """The tag stored with the submitter's submission number ``index`` (0, 1, 2, ...)."""
    if len(tag_key) != KEY_SIZE:
        raise CryptoError(f"an owner tag key is {KEY_SIZE} bytes")
    if not 0 <= index <= MAX_OWNER_TAG_INDEX:
        raise CryptoError("an owner tag index is 0 to 2^32 - 1")
    message = _OWNER_TAG_LABEL + struct.pack(">I", index)
    return hmac.digest(bytes(tag_key), message, "sha256")


def desk_signing_seed(desk_private_key: PrivateKey) -> bytes:
    """The Ed25519 seed of a desk key: held by everyone the desk key is granted to."""
    return _hkdf_sha256(private_key_bytes(desk_private_key), _DESK_SIGNING_KEY_INFO)


def desk_signing_public_key(desk_private_key: PrivateKey) -> bytes:
    """The public half of a desk key's signing key: what forms name as the desk's, and what a
    holder checks the stored copy against."""
    return signing_public_key(desk_signing_seed(desk_private_key))


def staff_signing_seed(personal_private_key: PrivateKey) -> bytes:
    """The Ed25519 seed of a staff member's personal key, unwrapped with their passphrase."""
    return _hkdf_sha256(private_key_bytes(personal_private_key), _STAFF_SIGNING_KEY_INFO)


def recovery_signing_seed(recovery_private_key: PrivateKey) -> bytes:
    """The Ed25519 seed of the instance recovery key, held offline by the operator."""
    return _hkdf_sha256(private_key_bytes(recovery_private_key), _RECOVERY_SIGNING_KEY_INFO)
