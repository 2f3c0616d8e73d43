"""Box v1: a small secret sealed under a 32-byte symmetric key for one named purpose.

Used to re-wrap a staff member's personal key under a per-web-session key that lives only in the
staff member's cookie (so a copy of the server's storage alone opens nothing), and for other small
secrets at rest. The layout is specified in docs/FORMATS.md, "Box v1", and every purpose the
product uses in "Box purposes" (built by ``portal.services.contexts``). The purpose is bound into
the associated data, so a box made for one purpose never opens as another.
"""

import base64
import binascii
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError

MAGIC = b"PRLB"
VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
HEADER_SIZE = 4 + 1 + NONCE_SIZE
TAG_SIZE = 16

_AAD_LABEL = b"parley box v1\x00"


def _associated_data(purpose: str, header: bytes) -> bytes:
    return _AAD_LABEL + purpose.encode("utf-8") + b"\x00" + header


def new_symmetric_key() -> bytes:
    """A fresh random 32-byte key for :func:`seal_box`."""
    return secrets.token_bytes(KEY_SIZE)


def seal_box(key: bytes, plaintext: bytes, purpose: str) -> bytes:
    """Encrypt ``plaintext`` under ``key`` for ``purpose``."""
    if len(key) != KEY_SIZE:
        raise CryptoError(f"a box key is {KEY_SIZE} bytes")
    header = MAGIC + bytes([VERSION]) + secrets.token_bytes(NONCE_SIZE)
    return header + AESGCM(bytes(key)).encrypt(
        header[5:], plaintext, _associated_data(purpose, header)
    )


def open_box(key: bytes, box: bytes, purpose: str) -> bytes:
    """Decrypt a box; ``DecryptionError`` for a wrong key (of any length), purpose or any tamper.

    A key of the wrong length is reported the same way because session keys arrive from cookies.
    """
    box = bytes(box)
    if len(key) != KEY_SIZE or len(box) < HEADER_SIZE + TAG_SIZE:
        raise DecryptionError("box did not open")
    if box[0:4] != MAGIC or box[4] != VERSION:
        raise DecryptionError("not a version 1 box")
    header = box[:HEADER_SIZE]
    try:
        return AESGCM(bytes(key)).decrypt(
            header[5:], box[HEADER_SIZE:], _associated_data(purpose, header)
        )
    except InvalidTag as error:
        raise DecryptionError("box did not open") from error


def seal_box_token(key: bytes, plaintext: bytes, purpose: str) -> str:
    """:func:`seal_box` as URL-safe base64 text, for a box that travels in a form or a cookie."""
    return base64.urlsafe_b64encode(seal_box(key, plaintext, purpose)).decode("ascii")


def open_box_token(key: bytes, token: str, purpose: str) -> bytes:
    """Open a :func:`seal_box_token`; any text that is not one (not base64, not a box, the wrong
    key or purpose) is the same ``DecryptionError``, since such text comes from a visitor."""
    try:
        box = base64.urlsafe_b64decode(token.encode("ascii"))
    except (UnicodeError, binascii.Error):
        raise DecryptionError("box did not open") from None
    return open_box(key, box, purpose)
