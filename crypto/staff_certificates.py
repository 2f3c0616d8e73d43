"""Staff key certificates: which personal signing key a desk member really has.

A staff member's notes are signed with the signing key derived from their personal private key
(``crypto.staff_signing_seed``). Its public half could be read from the database, but whoever can
write rows could swap it and sign notes in a colleague's name. So the member certifies it with
the desk key they hold: the certificate is signed by that desk key's own signing key and names
the dialogue, the member's account and their signing key. A reader who holds the same desk key
derives its signing key from the private half, so nothing the database says is trusted: a key
the desk never certified for that account verifies nothing.

The member makes the certificate with their own session, from their own private key, with the
desk key their own grant opens, each time they sign: nobody else could learn their signing key
without trusting a column, and the certificate travels with what it vouches for. What the bytes
are: docs/FORMATS.md, "Staff key certificate v1".
"""

import struct

from crypto.errors import CryptoError, DecryptionError
from crypto.signing import SIGNING_PUBLIC_KEY_SIZE, length_prefixed, sign, verify

MAX_ACCOUNT = 2**63 - 1

_CERTIFICATE_LABEL = b"parley staff key certificate v1\x00"


def _fields_problem(account: int, staff_signing_key: bytes) -> str:
    """What is wrong with a certificate's fields, or ``""``."""
    if not 1 <= account <= MAX_ACCOUNT:
        return "a staff account id is 1 to 2^63 - 1"
    if len(staff_signing_key) != SIGNING_PUBLIC_KEY_SIZE:
        return "a certified staff signing key is 32 bytes"
    return ""


def _certified_message(slug: str, account: int, staff_signing_key: bytes) -> bytes:
    return (
        _CERTIFICATE_LABEL
        + length_prefixed(slug)
        + struct.pack(">Q", account)
        + bytes(staff_signing_key)
    )


def certify_staff_key(
    desk_signing_seed: bytes, slug: str, account: int, staff_signing_key: bytes
) -> bytes:
    """The 64-byte certificate, by the desk key of dialogue ``slug`` whose signing seed is
    ``desk_signing_seed``, that the staff account ``account`` signs with ``staff_signing_key``.
    ``CryptoError`` for arguments out of range."""
    problem = _fields_problem(account, staff_signing_key)
    if problem:
        raise CryptoError(problem)
    return sign(desk_signing_seed, _certified_message(slug, account, staff_signing_key))


def verify_staff_key_certificate(
    desk_signing_key: bytes,
    slug: str,
    account: int,
    staff_signing_key: bytes,
    certificate: bytes,
) -> None:
    """Check :func:`certify_staff_key`'s certificate; ``DecryptionError`` on any failure."""
    problem = _fields_problem(account, staff_signing_key)
    if problem:
        raise DecryptionError(problem)
    message = _certified_message(slug, account, staff_signing_key)
    verify(desk_signing_key, message, certificate)
