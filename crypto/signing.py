"""Ed25519 signing keys and signed items: who sealed an envelope.

Encryption alone proves nothing about authorship: anyone who can write rows can seal a forged
item to the public keys in the database. So every sealed item also carries its author's
signature, and readers verify it before they open or use the item (docs/FORMATS.md, "Signing
keys" and "Signed item v1").

The signature covers the context and a digest of the envelope exactly as stored, so it cannot be
moved to another place (the context names the item, its position and direction) and no byte of
the envelope can change unseen; hashing first keeps signing and verifying a 16 MiB envelope
cheap. Signing keys have their own key id and fingerprint labels, so an Ed25519 key never shares
an id with an X25519 key of the same bytes. Every failure to verify raises ``DecryptionError``,
the one error a reader of something handed to it must refuse.
"""

import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError, DecryptionError

SEED_SIZE = 32
SIGNING_PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SIGNING_KEY_ID_SIZE = 16

_SIGNING_KEY_ID_LABEL = b"parley signing key id v1\x00"
_SIGNING_FINGERPRINT_LABEL = b"parley signing fingerprint v1\x00"
_SIGNED_ITEM_LABEL = b"parley signed item v1\x00"


def _private_key(seed: bytes) -> Ed25519PrivateKey:
    if len(seed) != SEED_SIZE:
        raise CryptoError(f"an Ed25519 seed is {SEED_SIZE} bytes, not {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(bytes(seed))


def _checked_public_key(public_key: bytes) -> bytes:
    if len(public_key) != SIGNING_PUBLIC_KEY_SIZE:
        raise CryptoError(f"an Ed25519 public key is {SIGNING_PUBLIC_KEY_SIZE} bytes")
    return bytes(public_key)


def signing_public_key(seed: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a 32-byte seed (RFC 8032)."""
    return _private_key(seed).public_key().public_bytes_raw()


def signing_key_id(public_key: bytes) -> bytes:
    """The 16-byte id naming a signing key in the database."""
    labelled = _SIGNING_KEY_ID_LABEL + _checked_public_key(public_key)
    return hashlib.sha256(labelled).digest()[:SIGNING_KEY_ID_SIZE]


def signing_fingerprint(public_key: bytes) -> str:
    """The fingerprint people compare out of band, shown like an X25519 key's."""
    labelled = _SIGNING_FINGERPRINT_LABEL + _checked_public_key(public_key)
    digits = hashlib.sha256(labelled).hexdigest()[:40].upper()
    return " ".join(digits[i : i + 4] for i in range(0, 40, 4))


def sign(seed: bytes, message: bytes) -> bytes:
    """Ed25519 signature of ``message``; for the labelled messages of this package only."""
    return _private_key(seed).sign(message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature; ``DecryptionError`` for a key or signature of the wrong
    length (they arrive from storage) as for a signature that does not verify."""
    if len(public_key) != SIGNING_PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        raise DecryptionError("a signing key is 32 bytes and a signature 64")
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError) as error:
        raise DecryptionError("the signature does not verify") from error


def length_prefixed(text: str) -> bytes:
    """``u32(len) || text`` in UTF-8, so that a variable field ends where its length says."""
    encoded = text.encode("utf-8")
    return struct.pack(">I", len(encoded)) + encoded


def _item_message(context: str, envelope: bytes) -> bytes:
    return _SIGNED_ITEM_LABEL + length_prefixed(context) + hashlib.sha256(envelope).digest()


def sign_item(seed: bytes, context: str, envelope: bytes) -> bytes:
    """The 64-byte signature of an envelope, as stored, for the context it was sealed under."""
    return sign(seed, _item_message(context, envelope))


def verify_item(public_key: bytes, context: str, envelope: bytes, signature: bytes) -> None:
    """Check :func:`sign_item`'s signature; ``DecryptionError`` on any failure."""
    verify(public_key, _item_message(context, envelope), signature)
