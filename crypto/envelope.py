"""Envelope v1: one message encrypted to up to 16 recipients, bound to a context.

Used for everything a person writes (submissions, messages, notes) and for granting a desk key to
a new member; the browser module produces and reads the same bytes. The layout, the padding
buckets and the order of the opening checks are specified in docs/FORMATS.md, "Envelope v1".

Why it is built so: one random data key per envelope, wrapped with HPKE to each recipient, lets
the desk and the submitter read the same ciphertext without either holding the other's key; the
wrap's HPKE ``info`` names the context digest and the slot's key id, so a wrap cannot be moved to
another context or slot; the whole header is the payload's associated data, so no header byte
can change unseen; and padding to size buckets hides the exact length of what someone wrote.

The context names what the envelope is for (``portal.services.contexts`` builds every one); an
envelope opened under another context fails, so a ciphertext cannot be replayed into a
different place. Opening parses strictly and raises ``DecryptionError`` for any failure; no
partial plaintext is ever returned.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError
from crypto.hpke import hpke_open, hpke_seal
from crypto.keys import (
    KEY_ID_SIZE,
    PrivateKey,
    PublicKey,
    key_id,
    load_public_key,
    public_key_bytes,
)

MAGIC = b"PRLE"
VERSION = 1
FLAGS = 0
MAX_RECIPIENTS = 16
MAX_PLAINTEXT = 16 * 1024 * 1024

DIGEST_SIZE = 32
WRAP_SIZE = 80
SLOT_SIZE = KEY_ID_SIZE + WRAP_SIZE
NONCE_SIZE = 12
TAG_SIZE = 16
LENGTH_PREFIX_SIZE = 4
SMALLEST_BUCKET = 1024
LARGE_BUCKET_STEP = 65536

_FIXED_HEADER_SIZE = 4 + 1 + 1 + DIGEST_SIZE + 1
_CONTEXT_LABEL = b"parley context v1\x00"
_WRAP_INFO_LABEL = b"parley envelope v1\x00"


@dataclass(frozen=True)
class EnvelopeInfo:
    """What can be learnt from an envelope without any key.

    ``payload_length`` counts the encrypted payload including its 16-byte tag, i.e. every byte
    after the payload nonce.
    """

    version: int
    context_digest: bytes
    key_ids: tuple[bytes, ...]
    payload_length: int


@dataclass(frozen=True)
class _ParsedEnvelope:
    info: EnvelopeInfo
    wraps: tuple[bytes, ...]
    authenticated_header: bytes
    nonce: bytes
    payload: bytes


def context_digest(context: str) -> bytes:
    """The 32-byte digest an envelope carries to name its context."""
    return hashlib.sha256(_CONTEXT_LABEL + context.encode("utf-8")).digest()


def bucket_size(size: int) -> int:
    """Padded size for ``size`` bytes (length prefix included): the bucket that holds it."""
    if size <= LARGE_BUCKET_STEP:
        return max(SMALLEST_BUCKET, 1 << (size - 1).bit_length())
    return -(-size // LARGE_BUCKET_STEP) * LARGE_BUCKET_STEP


_LARGEST_BUCKET = bucket_size(LENGTH_PREFIX_SIZE + MAX_PLAINTEXT)


def envelope_size(plaintext_size: int, recipient_count: int) -> int:
    """Size in bytes of the envelope that seals ``plaintext_size`` bytes to that many recipients.

    Lets a server set a limit on envelopes it is handed in terms of the plaintext it allows,
    without knowing the layout: header, slots, nonce, the padded payload and its tag.
    """
    padded = bucket_size(LENGTH_PREFIX_SIZE + plaintext_size)
    return _FIXED_HEADER_SIZE + SLOT_SIZE * recipient_count + NONCE_SIZE + padded + TAG_SIZE


def _is_bucket_size(size: int) -> bool:
    return size <= _LARGEST_BUCKET and bucket_size(size) == size


def _wrap_info(digest: bytes, recipient_key_id: bytes) -> bytes:
    return _WRAP_INFO_LABEL + digest + recipient_key_id


def _pad(plaintext: bytes) -> bytes:
    size = bucket_size(LENGTH_PREFIX_SIZE + len(plaintext))
    prefixed = len(plaintext).to_bytes(LENGTH_PREFIX_SIZE, "big") + plaintext
    return prefixed + bytes(size - len(prefixed))


def _unpad(padded: bytes) -> bytes:
    length = int.from_bytes(padded[:LENGTH_PREFIX_SIZE], "big")
    end = LENGTH_PREFIX_SIZE + length
    if length > MAX_PLAINTEXT or end > len(padded):
        raise DecryptionError("envelope payload declares a wrong length")
    padding = padded[end:]
    if padding.count(0) != len(padding):
        raise DecryptionError("envelope padding is not zero")
    return padded[LENGTH_PREFIX_SIZE:end]


def _recipient_public_keys(recipients: Sequence[PublicKey | bytes]) -> list[PublicKey]:
    keys = [r if isinstance(r, PublicKey) else load_public_key(r) for r in recipients]
    if not 1 <= len(keys) <= MAX_RECIPIENTS:
        raise CryptoError(f"an envelope has 1 to {MAX_RECIPIENTS} recipients, not {len(keys)}")
    if len({key_id(k) for k in keys}) != len(keys):
        raise CryptoError("the same recipient key is listed twice")
    return keys


def seal_envelope(plaintext: bytes, recipients: Sequence[PublicKey | bytes], context: str) -> bytes:
    """Encrypt ``plaintext`` so that each recipient's private key opens it under ``context``.

    Raises ``CryptoError`` for more than ``MAX_PLAINTEXT`` bytes, for 0 or more than 16
    recipients, for a recipient listed twice or for an unusable public key.
    """
    if len(plaintext) > MAX_PLAINTEXT:
        raise CryptoError(f"an envelope holds at most {MAX_PLAINTEXT} bytes")
    keys = _recipient_public_keys(recipients)
    digest = context_digest(context)
    data_key = secrets.token_bytes(32)
    slots = []
    for key in keys:
        recipient_key_id = key_id(key)
        slots.append(
            recipient_key_id + hpke_seal(key, data_key, _wrap_info(digest, recipient_key_id))
        )
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = MAGIC + bytes([VERSION, FLAGS]) + digest + bytes([len(keys)]) + b"".join(slots) + nonce
    return header + AESGCM(data_key).encrypt(nonce, _pad(bytes(plaintext)), header)


def _parse(envelope: bytes) -> _ParsedEnvelope:
    envelope = bytes(envelope)
    if len(envelope) < _FIXED_HEADER_SIZE:
        raise DecryptionError("envelope is too short")
    if envelope[0:4] != MAGIC or envelope[4] != VERSION or envelope[5] != FLAGS:
        raise DecryptionError("not a version 1 envelope")
    digest = envelope[6 : 6 + DIGEST_SIZE]
    count = envelope[_FIXED_HEADER_SIZE - 1]
    if not 1 <= count <= MAX_RECIPIENTS:
        raise DecryptionError("envelope has a wrong number of recipients")
    nonce_offset = _FIXED_HEADER_SIZE + SLOT_SIZE * count
    payload_offset = nonce_offset + NONCE_SIZE
    payload = envelope[payload_offset:]
    if len(payload) < TAG_SIZE or not _is_bucket_size(len(payload) - TAG_SIZE):
        raise DecryptionError("envelope payload has a wrong size")
    slots = [
        envelope[o : o + SLOT_SIZE] for o in range(_FIXED_HEADER_SIZE, nonce_offset, SLOT_SIZE)
    ]
    key_ids = tuple(slot[:KEY_ID_SIZE] for slot in slots)
    if len(set(key_ids)) != count:
        raise DecryptionError("envelope lists a recipient twice")
    return _ParsedEnvelope(
        info=EnvelopeInfo(VERSION, digest, key_ids, len(payload)),
        wraps=tuple(slot[KEY_ID_SIZE:] for slot in slots),
        authenticated_header=envelope[:payload_offset],
        nonce=envelope[nonce_offset:payload_offset],
        payload=payload,
    )


def inspect_envelope(envelope: bytes) -> EnvelopeInfo:
    """Parse an envelope without decrypting it, so the server can check where it is going.

    The server cannot read what a browser encrypted, but it can check that the envelope is well
    formed, names the expected context (compare with :func:`context_digest`) and is addressed to
    the expected key ids. Raises ``DecryptionError`` for anything malformed.
    """
    return _parse(envelope).info


def open_envelope(envelope: bytes, private_key: PrivateKey, context: str) -> bytes:
    """Decrypt an envelope addressed to ``private_key`` under ``context``.

    Raises ``DecryptionError`` if the envelope is malformed, was sealed for another context, has
    no slot for this key or fails any authentication or padding check.
    """
    parsed = _parse(envelope)
    digest = context_digest(context)
    if not hmac.compare_digest(parsed.info.context_digest, digest):
        raise DecryptionError("envelope belongs to another context")
    own_key_id = key_id(public_key_bytes(private_key))
    if own_key_id not in parsed.info.key_ids:
        raise DecryptionError("envelope is not addressed to this key")
    wrap = parsed.wraps[parsed.info.key_ids.index(own_key_id)]
    data_key = hpke_open(private_key, wrap, _wrap_info(digest, own_key_id))
    try:
        padded = AESGCM(data_key).decrypt(parsed.nonce, parsed.payload, parsed.authenticated_header)
    except InvalidTag as error:
        raise DecryptionError("envelope payload did not authenticate") from error
    return _unpad(padded)
