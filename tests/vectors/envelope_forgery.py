"""Build envelopes that authenticate but break one rule of the format.

A plain bit flip is caught by AES-GCM before any later check runs, so it cannot show that the later
checks exist. These helpers encrypt malformed content *correctly* -- valid wraps, valid payload
tag -- so that only the specific check under test can reject it. Used by the vector generator and
by the envelope tests; never by the product.
"""

import secrets
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import MAGIC, VERSION, context_digest
from crypto.hpke import hpke_seal
from crypto.keys import PublicKey, key_id


def padded_payload(
    plaintext: bytes, size: int, *, declared_length: int | None = None, padding_byte: int = 0
) -> bytes:
    """``u32 L || plaintext || padding`` of exactly ``size`` bytes, with any L and padding."""
    length = len(plaintext) if declared_length is None else declared_length
    prefixed = length.to_bytes(4, "big") + plaintext
    return prefixed + bytes([padding_byte]) * (size - len(prefixed))


def forge_envelope(
    recipients: Sequence[PublicKey],
    context: str,
    padded: bytes,
    *,
    magic: bytes = MAGIC,
    version: int = VERSION,
    flags: int = 0,
    wrap_context: str | None = None,
) -> bytes:
    """An envelope whose wraps and payload authenticate, whatever its header says.

    ``wrap_context`` binds the wraps to another context than the one written in the header.
    """
    header_digest = context_digest(context)
    wrap_digest = context_digest(context if wrap_context is None else wrap_context)
    data_key = secrets.token_bytes(32)
    slots = b""
    for recipient in recipients:
        recipient_id = key_id(recipient)
        info = b"parley envelope v1\x00" + wrap_digest + recipient_id
        slots += recipient_id + hpke_seal(recipient, data_key, info)
    nonce = secrets.token_bytes(12)
    header = magic + bytes([version, flags]) + header_digest + bytes([len(recipients)])
    header += slots + nonce
    return header + AESGCM(data_key).encrypt(nonce, padded, header)
