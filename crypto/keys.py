"""X25519 key pairs, key ids, fingerprints and the recovery and desk key texts.

Every asymmetric key in Parley -- desk keys, staff personal keys, the instance recovery key and
submitters' codename keys -- is an X25519 key pair, stored and carried as its raw 32 bytes.

Key ids name a recipient's slot in an envelope; fingerprints are what people compare with the key
printed by the command line. They use different labels, so that a fingerprint shown in public
says nothing about which key ids appear in stored envelopes (docs/FORMATS.md, "Key ids and
fingerprints").

The recovery key is printed once when an instance is set up and typed back in by an operator
when every desk member has lost access; a desk key is written once when a dialogue is switched to
offline review and carried to the offline machine that runs ``portal decrypt``. Both are one line
of text with a checksum that catches a mistyped character before the key is used to attempt any
decryption, under different prefixes so that neither can be taken for the other
(docs/FORMATS.md, "Key texts").
"""

import base64
import hashlib
import re

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.errors import CryptoError, RecoveryKeyError

PrivateKey = X25519PrivateKey
PublicKey = X25519PublicKey

KEY_SIZE = 32
KEY_ID_SIZE = 16
RECOVERY_KEY_PREFIX = "parley-recovery-v1:"
DESK_KEY_PREFIX = "parley-desk-key-v1:"


class DeskKeyTextError(CryptoError, ValueError):
    """The desk key text handed to offline decryption is malformed or mistyped."""


_KEY_ID_LABEL = b"parley key id v1\x00"
_FINGERPRINT_LABEL = b"parley fingerprint v1\x00"
_KEY_TEXT_PATTERN = re.compile(r"([A-Za-z0-9_-]{43}):([0-9a-f]{8})")


def generate_private_key() -> PrivateKey:
    """Make a new random X25519 private key."""
    return X25519PrivateKey.generate()


def public_key_bytes(key: PublicKey | PrivateKey) -> bytes:
    """Raw 32 bytes of a public key, or of the public half of a private key."""
    if isinstance(key, X25519PrivateKey):
        key = key.public_key()
    return key.public_bytes_raw()


def private_key_bytes(private_key: PrivateKey) -> bytes:
    """Raw 32 bytes of a private key, for wrapping it under another key."""
    return private_key.private_bytes_raw()


def load_public_key(raw: bytes) -> PublicKey:
    """Public key from its raw 32 bytes; ``CryptoError`` for any other length."""
    if len(raw) != KEY_SIZE:
        raise CryptoError(f"an X25519 public key is {KEY_SIZE} bytes, not {len(raw)}")
    return X25519PublicKey.from_public_bytes(bytes(raw))


def load_private_key(raw: bytes) -> PrivateKey:
    """Private key from its raw 32 bytes; ``CryptoError`` for any other length."""
    if len(raw) != KEY_SIZE:
        raise CryptoError(f"an X25519 private key is {KEY_SIZE} bytes, not {len(raw)}")
    return X25519PrivateKey.from_private_bytes(bytes(raw))


def _raw_public(public: PublicKey | bytes) -> bytes:
    """The raw 32 bytes of a public key given as a key or as its bytes. Every 32 bytes are an
    X25519 public key, whose raw form is those same bytes: only the length needs checking."""
    if isinstance(public, X25519PublicKey):
        return public.public_bytes_raw()
    if len(public) != KEY_SIZE:
        raise CryptoError(f"an X25519 public key is {KEY_SIZE} bytes, not {len(public)}")
    return bytes(public)


def key_id(public: PublicKey | bytes) -> bytes:
    """The 16-byte id naming a recipient's slot in an envelope."""
    return hashlib.sha256(_KEY_ID_LABEL + _raw_public(public)).digest()[:KEY_ID_SIZE]


def fingerprint(public: PublicKey | bytes) -> str:
    """The key's fingerprint as people read it aloud: ``"ABCD EF01 ..."`` (10 groups of 4)."""
    digits = hashlib.sha256(_FINGERPRINT_LABEL + _raw_public(public)).hexdigest()[:40].upper()
    return " ".join(digits[i : i + 4] for i in range(0, 40, 4))


def _recovery_checksum(raw_private: bytes) -> str:
    return hashlib.sha256(raw_private).hexdigest()[:8]


def export_recovery_key(private_key: PrivateKey) -> str:
    """The recovery key as the one line of text handed to the operator."""
    return _export_key_text(RECOVERY_KEY_PREFIX, private_key)


def import_recovery_key(text: str) -> PrivateKey:
    """Read back a recovery key typed or pasted by the operator.

    Surrounding whitespace is ignored. Raises ``RecoveryKeyError`` (a ``CryptoError`` and a
    ``ValueError``) saying whether the prefix, the shape or the checksum is wrong; the message
    never repeats the key.
    """
    return _import_key_text(RECOVERY_KEY_PREFIX, "recovery key", text, RecoveryKeyError)


def export_desk_key(private_key: PrivateKey) -> str:
    """A desk private key as one line of text, for offline review (see the module docstring)."""
    return _export_key_text(DESK_KEY_PREFIX, private_key)


def import_desk_key(text: str) -> PrivateKey:
    """Read back a desk key written by :func:`export_desk_key`.

    Surrounding whitespace is ignored. Raises ``DeskKeyTextError`` (a ``CryptoError`` and a
    ``ValueError``) saying what is wrong; the message never repeats the key.
    """
    return _import_key_text(DESK_KEY_PREFIX, "desk key", text, DeskKeyTextError)


def _export_key_text(prefix: str, private_key: PrivateKey) -> str:
    raw = private_key_bytes(private_key)
    encoded = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    return f"{prefix}{encoded}:{_recovery_checksum(raw)}"


def _import_key_text(prefix: str, name: str, text: str, error: type[CryptoError]) -> PrivateKey:
    text = text.strip()
    if not text.startswith(prefix):
        raise error(f"a {name} starts with {prefix!r}")
    match = _KEY_TEXT_PATTERN.fullmatch(text[len(prefix) :])
    if match is None:
        raise error(f"a {name} is the prefix, 43 base64url characters, a colon and 8 hex digits")
    encoded, checksum = match.groups()
    raw = base64.urlsafe_b64decode(encoded + "=")
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != encoded:
        raise error(f"the {name} is not canonical base64url; check the last letter")
    if _recovery_checksum(raw) != checksum:
        raise error(f"the {name} checksum does not match; check for a typing error")
    return load_private_key(raw)
