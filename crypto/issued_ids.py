"""Ids the server issues and can later recognise as its own, without keeping a record of them.

A form carries the public id its submission will have. If the browser could choose that id, one
client could open as many upload budgets as it liked; if the server remembered each id it handed
out, it would keep a trace of every visitor who merely looked at a form. Instead an issued id
carries its own proof: 8 random bytes and the first 8 bytes of an HMAC-SHA256, under a key only
the server holds, over those bytes and the number of the period (a coarse clock chosen by the
caller) in which the id was issued. The id says nothing about that period; the server tries the
periods it still accepts, newest first, and an id matching none of them was never issued or has
expired. The 16 bytes are written as 22 URL-safe base64 characters without padding, the shape of
every other public id, so everything that carries or binds a public id takes an issued one as is.

An id can only be recognised by the holder of its key, derived from an instance secret for this
one purpose (:func:`issued_id_key`). docs/FORMATS.md, "Issued submission ids", specifies it.
"""

import base64
import binascii
import hmac
import secrets
import struct

from crypto.codename import derive_subkey
from crypto.errors import CryptoError
from crypto.keys import KEY_SIZE

ISSUED_ID_LENGTH = 22  # 16 bytes in URL-safe base64, unpadded
_NONCE_SIZE = 8
_TAG_SIZE = 8
_KEY_INFO = b"parley issued id key v1"
_TAG_LABEL = b"parley issued id v1\x00"
_MAX_PERIOD = 2**64 - 1


def issued_id_key(instance_key: bytes) -> bytes:
    """The key that issues and recognises ids, derived from an instance secret for that alone."""
    if len(instance_key) != KEY_SIZE:
        raise CryptoError(f"an instance key is {KEY_SIZE} bytes")
    return derive_subkey(bytes(instance_key), _KEY_INFO)


def issue_id(key: bytes, period: int) -> str:
    """A fresh id that :func:`id_issued_in` recognises for ``period`` under ``key``."""
    nonce = secrets.token_bytes(_NONCE_SIZE)
    return _encode(nonce + _tag(key, nonce, period))


def id_issued_in(key: bytes, text: str, period: int) -> bool:
    """Whether ``text`` is an id :func:`issue_id` made under ``key`` for ``period``.

    Only the one canonical spelling of the 16 bytes is accepted, so that a single issued id
    cannot be written as several different strings.
    """
    raw = _decode(text)
    if raw is None:
        return False
    nonce, tag = raw[:_NONCE_SIZE], raw[_NONCE_SIZE:]
    return hmac.compare_digest(tag, _tag(key, nonce, period))


def _tag(key: bytes, nonce: bytes, period: int) -> bytes:
    if len(key) != KEY_SIZE:
        raise CryptoError(f"an issued-id key is {KEY_SIZE} bytes")
    if not 0 <= period <= _MAX_PERIOD:
        raise CryptoError("a period is a number from 0 to 2^64 - 1")
    message = _TAG_LABEL + nonce + struct.pack(">Q", period)
    return hmac.digest(bytes(key), message, "sha256")[:_TAG_SIZE]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes | None:
    """The 16 bytes ``text`` spells canonically, else ``None``."""
    if not isinstance(text, str) or len(text) != ISSUED_ID_LENGTH or not text.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "==")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _NONCE_SIZE + _TAG_SIZE or _encode(raw) != text:
        return None
    return raw
