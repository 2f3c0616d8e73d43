"""Proof of work for sign-ins under pressure: a hash with enough leading zero bits.

The server hands a browser an opaque challenge (a box it sealed, ``portal.services.proof_of_work``)
and a difficulty ``d``; the browser finds a nonce such that

    SHA-256("parley proof of work v1" || 0x00 || challenge || bound || nonce as u64 big-endian)

starts with ``d`` zero bits, where ``bound`` is the login secret the attempt sends, so that one
solution serves one guess only (docs/FORMATS.md, "Proof of work"). Finding one takes about
``2**d`` hashes; checking it takes one. The browser module ``parley-crypto.mjs`` does the same
with WebCrypto (``solveChallenge``).
"""

import hashlib

from crypto.errors import CryptoError

_LABEL = b"parley proof of work v1\x00"
MAX_NONCE = 2**53 - 1  # the largest whole number JSON and JavaScript carry exactly
MAX_DIFFICULTY = 32


def work_digest(challenge: bytes, bound: bytes, nonce: int) -> bytes:
    """The digest a nonce is judged by."""
    if not 0 <= nonce <= MAX_NONCE:
        raise CryptoError("a proof-of-work nonce is a whole number from 0 to 2**53 - 1")
    return hashlib.sha256(_LABEL + challenge + bound + nonce.to_bytes(8, "big")).digest()


def leading_zero_bits(digest: bytes) -> int:
    """How many bits at the start of ``digest`` are zero."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def proof_holds(challenge: bytes, bound: bytes, nonce: int, difficulty: int) -> bool:
    """Whether ``nonce`` solves ``challenge`` for ``bound`` at ``difficulty`` bits."""
    if not 0 <= difficulty <= MAX_DIFFICULTY:
        raise CryptoError(f"a proof-of-work difficulty is 0 to {MAX_DIFFICULTY} bits")
    return leading_zero_bits(work_digest(challenge, bound, nonce)) >= difficulty
